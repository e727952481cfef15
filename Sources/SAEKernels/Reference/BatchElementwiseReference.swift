extension Reference {
    /// Naive twin of `BatchElementwise.subtractRowVector`: `out[r, i] = x[r, i] - v[i]`;
    /// `x`, `out`: `[rows, d]` row-major, `v`: `[d]`.
    package static func subtractRowVector(
        _ x: UnsafePointer<Float>, _ v: UnsafePointer<Float>, rows: Int, d: Int, into out: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            for i in 0..<d { out[r * d + i] = x[r * d + i] - v[i] }
        }
    }

    /// Naive twin of `BatchElementwise.columnSums`: `sums[i] += g[0, i] + g[1, i] + ...`,
    /// added one row at a time in row order (Float); `g`: `[rows, d]` row-major.
    package static func columnSums(_ g: UnsafePointer<Float>, rows: Int, d: Int, into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            for i in 0..<d { sums[i] += g[r * d + i] }
        }
    }

    /// Naive twin of `BatchElementwise.scaledDifference`: `g[r, i] = scale * (xHat[r, i] - x[r, i])`
    /// and `columnSums[i] += g[0, i] + g[1, i] + ...` (row order, Float); `[rows, d]` row-major.
    package static func scaledDifference(
        _ xHat: UnsafePointer<Float>, minus x: UnsafePointer<Float>, scale: Float, rows: Int, d: Int,
        into g: UnsafeMutablePointer<Float>, columnSums: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            for i in 0..<d {
                let e = r * d + i
                g[e] = scale * (xHat[e] - x[e])
                columnSums[i] += g[e]
            }
        }
    }
}
