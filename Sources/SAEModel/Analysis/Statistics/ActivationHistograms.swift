/// Per-feature histograms of positive activations over `[0, upper_j)` with a range that
/// doubles as needed: exact counts in bounded memory without knowing the range in advance.
///
/// Feature `j` has `bins` (even) equal bins of width `upper_j / bins`. The first value `v`
/// sets `upper_j = 2^(floor(log2 v) + 1)` (the smallest power of two above `v`). A value
/// `v >= upper_j` doubles `upper_j` until `v < upper_j`, merging bins `2i` and `2i + 1`
/// into bin `i` at each doubling — the old edges are a subset of the new ones, so no count
/// moves to a wrong bin. Non-positive values are not counted.
struct ActivationHistograms: Sendable {
    let features: Int
    let bins: Int
    var counts: [Int]
    /// `upper_j`, 0 while feature `j` has no value yet.
    var upper: [Float]

    init(features: Int, bins: Int) {
        precondition(bins >= 2 && bins % 2 == 0, "ActivationHistograms: bins must be even and >= 2, got \(bins)")
        self.features = features
        self.bins = bins
        counts = [Int](repeating: 0, count: features * bins)
        upper = [Float](repeating: 0, count: features)
    }

    @inline(__always)
    static func add(_ v: Float, counts: UnsafeMutablePointer<Int>, upper: inout Float, bins: Int) {
        guard v > 0, v.isFinite else { return }
        if upper == 0 {
            upper = Float(sign: .plus, exponent: v.exponent + 1, significand: 1)
        }
        while v >= upper {
            let half = bins / 2
            for i in 0..<half { counts[i] = counts[2 * i] + counts[2 * i + 1] }
            for i in half..<bins { counts[i] = 0 }
            upper *= 2
        }
        let b = min(bins - 1, Int(v / upper * Float(bins)))
        counts[b] += 1
    }

    /// Feature `j`'s histogram over `[0, upper_j]` (over `[0, 1]` and empty when it never fired).
    func histogram(_ j: Int) -> Histogram {
        let u = upper[j] > 0 ? Double(upper[j]) : 1
        var h = Histogram(lower: 0, upper: u, bins: bins)
        for b in 0..<bins { h.counts[b] = counts[j * bins + b] }
        return h
    }
}
