/// An orthonormal basis of the span of some vectors, by modified Gram–Schmidt in Double
/// with one re-orthogonalization pass ("twice is enough", Giraud et al. 2005).
///
/// Vector `v` is kept when its remainder after removing the previous basis vectors has norm
/// above `relativeTolerance * ||v||` (dependent vectors are dropped), so `vectors.count` is
/// the rank, at most the dimension.
struct OrthonormalBasis {
    /// Unit vectors, pairwise orthogonal, each of `dimension` entries.
    var vectors: [[Double]] = []
    let dimension: Int

    init(dimension: Int) { self.dimension = dimension }

    /// The basis of the span of `columns`.
    init(spanning columns: [[Double]], dimension: Int, relativeTolerance: Double = 1e-10) {
        self.init(dimension: dimension)
        for c in columns { append(c, relativeTolerance: relativeTolerance) }
    }

    mutating func append(_ v: [Double], relativeTolerance: Double = 1e-10) {
        precondition(v.count == dimension, "OrthonormalBasis: vector of \(v.count) entries, dimension \(dimension)")
        let norm0 = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm0 > 0, vectors.count < dimension else { return }
        var r = v
        for _ in 0..<2 {
            for q in vectors {
                var dot = 0.0
                for i in 0..<dimension { dot += q[i] * r[i] }
                for i in 0..<dimension { r[i] -= dot * q[i] }
            }
        }
        let norm = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > relativeTolerance * norm0 else { return }
        vectors.append(r.map { $0 / norm })
    }
}
