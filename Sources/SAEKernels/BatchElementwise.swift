/// Elementwise passes over a `rows x d` batch of a training step, vectorised and split over
/// columns (so each column's sum runs over the rows in order on one thread: the results
/// are bitwise those of the plain loops, for any thread count). Naive twins:
/// `Reference.subtractRowVector`, `columnSums`, `scaledDifference`.
public enum BatchElementwise {
    /// `out[r, i] = x[r, i] - v[i]` (the input centred on `b_dec`).
    public static func subtractRowVector(
        _ x: UnsafePointer<Float>, _ v: UnsafePointer<Float>, rows: Int, d: Int,
        into out: UnsafeMutablePointer<Float>, threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "BatchElementwise.subtractRowVector: negative shape \(rows)x\(d)")
        Parallel.forRanges(rows, threads: SIMDMath.parts(work: rows * d, threads: threads)) { range in
            for r in range {
                let xr = x + r * d, o = out + r * d
                var i = 0
                while i + 8 <= d {
                    SIMDMath.store(SIMDMath.load(xr + i) - SIMDMath.load(v + i), o + i)
                    i += 8
                }
                while i < d { o[i] = xr[i] - v[i]; i += 1 }
            }
        }
    }

    /// `sums[i] += g[0, i] + g[1, i] + ...` (added one row at a time, in row order): the column
    /// sums of `scaledDifference`, bitwise, for a `g` computed elsewhere.
    public static func columnSums(
        _ g: UnsafePointer<Float>, rows: Int, d: Int, into sums: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "BatchElementwise.columnSums: negative shape \(rows)x\(d)")
        Parallel.forRanges(d, threads: SIMDMath.parts(work: rows * d, threads: threads), granule: 8) { cols in
            var i = cols.lowerBound
            while i + 8 <= cols.upperBound {
                var sum = SIMDMath.load(sums + i)
                for r in 0..<rows { sum += SIMDMath.load(g + r * d + i) }
                SIMDMath.store(sum, sums + i)
                i += 8
            }
            while i < cols.upperBound {
                var sum = sums[i]
                for r in 0..<rows { sum += g[r * d + i] }
                sums[i] = sum
                i += 1
            }
        }
    }

    /// `g[r, i] = scale * (xHat[r, i] - x[r, i])` and `columnSums[i] += g[0, i] + g[1, i] + ...`
    /// (added one row at a time, in row order): the MSE's gradient with respect to `x_hat`
    /// and its `b_dec` share.
    public static func scaledDifference(
        _ xHat: UnsafePointer<Float>, minus x: UnsafePointer<Float>, scale: Float, rows: Int, d: Int,
        into g: UnsafeMutablePointer<Float>, columnSums: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0 && d >= 0, "BatchElementwise.scaledDifference: negative shape \(rows)x\(d)")
        let s = SIMD8<Float>(repeating: scale)
        Parallel.forRanges(d, threads: SIMDMath.parts(work: rows * d, threads: threads), granule: 8) { cols in
            var i = cols.lowerBound
            while i + 8 <= cols.upperBound {
                var sum = SIMDMath.load(columnSums + i)
                for r in 0..<rows {
                    let e = r * d + i
                    let v = s * (SIMDMath.load(xHat + e) - SIMDMath.load(x + e))
                    SIMDMath.store(v, g + e)
                    sum += v
                }
                SIMDMath.store(sum, columnSums + i)
                i += 8
            }
            while i < cols.upperBound {
                var sum = columnSums[i]
                for r in 0..<rows {
                    let e = r * d + i
                    let v = scale * (xHat[e] - x[e])
                    g[e] = v
                    sum += v
                }
                columnSums[i] = sum
                i += 1
            }
        }
    }
}
