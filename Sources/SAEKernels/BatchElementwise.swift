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
            forColumnChunks(cols) { c0, c1 in
                for r in 0..<rows {
                    let gr = g + r * d
                    var i = c0
                    while i + 8 <= c1 {
                        SIMDMath.store(SIMDMath.load(sums + i) + SIMDMath.load(gr + i), sums + i)
                        i += 8
                    }
                    while i < c1 { sums[i] += gr[i]; i += 1 }
                }
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
            forColumnChunks(cols) { c0, c1 in
                for r in 0..<rows {
                    let e = r * d
                    var i = c0
                    while i + 8 <= c1 {
                        let v = s * (SIMDMath.load(xHat + e + i) - SIMDMath.load(x + e + i))
                        SIMDMath.store(v, g + e + i)
                        SIMDMath.store(SIMDMath.load(columnSums + i) + v, columnSums + i)
                        i += 8
                    }
                    while i < c1 {
                        let v = scale * (xHat[e + i] - x[e + i])
                        g[e + i] = v
                        columnSums[i] += v
                        i += 1
                    }
                }
            }
        }
    }

    /// Columns per pass over the rows in `columnSums` and `scaledDifference`: each row's
    /// chunk is read contiguously while the chunk's sums (4 KB) stay in L1. Every column's
    /// sum still runs over the rows in order, so the bits do not depend on the chunk.
    static let columnChunk = 1024

    /// Calls `body(c0, c1)` for consecutive chunks `c0 ..< c1` of `cols`, at most
    /// `columnChunk` wide.
    @inline(__always)
    static func forColumnChunks(_ cols: Range<Int>, _ body: (Int, Int) -> Void) {
        var c0 = cols.lowerBound
        while c0 < cols.upperBound {
            let c1 = min(c0 + columnChunk, cols.upperBound)
            body(c0, c1)
            c0 = c1
        }
    }
}
