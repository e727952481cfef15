/// Row-wise LayerNorm as TransformerLens computes it (biased variance, eps inside the
/// square root), over a row-major `[rows, d]` matrix (`d` contiguous).
///
/// Statistics, per row, in Float with eight-wide vectors (four accumulators, 32 partial
/// sums, combined in a fixed order), by the corrected two-pass algorithm:
/// 1. `m0 = sum(x) / d`;
/// 2. `c = sum(x - m0) / d` and `s = sum((x - m0)^2) / d`, so that `mean = m0 + c` and
///    `var = s - c^2` (clamped at 0);
/// 3. `xhat = ((x - m0) - c) * rstd`, `rstd = 1 / sqrt(var + eps)`.
///
/// Subtracting `m0` before squaring avoids the cancellation of `E[x^2] - E[x]^2`, and the
/// correction `c` recovers the rounding error of the Float mean, so rows with a large
/// common offset keep their accuracy. Rows are split over threads; each row is computed
/// the same way whatever the thread count, so results are bitwise reproducible.
public enum LayerNorm {
    /// `y[r, j] = (x[r, j] - mean_r) / sqrt(var_r + eps) * weight[j] + bias[j]`, where
    /// `mean_r = sum_j x[r, j] / d` and `var_r = sum_j (x[r, j] - mean_r)^2 / d` (biased).
    ///
    /// - `x`, `y`: `[rows, d]` row-major; `y` may equal `x`.
    /// - `weight`, `bias`: `[d]`, or nil for no scale / no shift (TransformerLens `LNPre`
    ///   passes both nil).
    /// - `normalized`: if given, receives `xhat = (x - mean) / sqrt(var + eps)`, `[rows, d]`
    ///   (the pre-scale values the backward pass needs); may equal `x` but not `y`.
    /// - `mean`, `rstd`: if given, receive `mean_r` and `1 / sqrt(var_r + eps)`, `[rows]`.
    public static func forward(
        _ x: UnsafePointer<Float>, rows: Int, d: Int,
        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float = 1e-5,
        output y: UnsafeMutablePointer<Float>,
        normalized: UnsafeMutablePointer<Float>? = nil,
        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(rows >= 0, "LayerNorm.forward: negative rows \(rows)")
        precondition(d >= 1, "LayerNorm.forward: d must be >= 1, got \(d)")
        precondition(eps >= 0, "LayerNorm.forward: negative eps \(eps)")
        precondition(threads >= 1, "LayerNorm.forward: threads must be >= 1, got \(threads)")
        precondition(rows == 0 || normalized == nil || normalized != y, "LayerNorm.forward: normalized must not alias y")
        let parts = SIMDMath.parts(work: rows * d, threads: threads)
        Parallel.forRanges(rows, threads: parts) { range in
            for r in range {
                let stats = rowStatistics(x + r * d, d, eps: eps)
                mean?[r] = stats.m0 + stats.c
                rstd?[r] = stats.rstd
                normalizeRow(x + r * d, d, stats, weight: weight, bias: bias,
                             y: y + r * d, normalized: normalized.map { $0 + r * d })
            }
        }
    }

    // MARK: - Implementation

    struct RowStatistics {
        /// First-pass Float mean.
        var m0: Float
        /// Correction: `mean = m0 + c`.
        var c: Float
        var rstd: Float
    }

    @inline(__always)
    static func rowStatistics(_ x: UnsafePointer<Float>, _ d: Int, eps: Float) -> RowStatistics {
        // Pass 1: m0.
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var j = 0
        while j + 32 <= d {
            a0 += SIMDMath.load(x + j); a1 += SIMDMath.load(x + j + 8)
            a2 += SIMDMath.load(x + j + 16); a3 += SIMDMath.load(x + j + 24)
            j += 32
        }
        while j + 8 <= d { a0 += SIMDMath.load(x + j); j += 8 }
        if j < d { a1 += SIMDMath.loadPartial(x + j, d - j) }
        let invD = 1 / Float(d)
        let m0 = SIMDMath.horizontalSum((a0 + a1) + (a2 + a3)) * invD
        // Pass 2: sum(x - m0), sum((x - m0)^2); padded lanes hold m0 and add nothing.
        let mv = SIMD8<Float>(repeating: m0)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>()
        j = 0
        while j + 32 <= d {
            let v0 = SIMDMath.load(x + j) - mv, v1 = SIMDMath.load(x + j + 8) - mv
            let v2 = SIMDMath.load(x + j + 16) - mv, v3 = SIMDMath.load(x + j + 24) - mv
            s0.addProduct(v0, v0); s1.addProduct(v1, v1); s2.addProduct(v2, v2); s3.addProduct(v3, v3)
            c0 += v0 + v1; c1 += v2 + v3
            j += 32
        }
        while j + 8 <= d {
            let v = SIMDMath.load(x + j) - mv
            s0.addProduct(v, v); c0 += v
            j += 8
        }
        if j < d {
            let v = SIMDMath.loadPartial(x + j, d - j, fill: m0) - mv
            s1.addProduct(v, v); c1 += v
        }
        let c = SIMDMath.horizontalSum(c0 + c1) * invD
        let s = SIMDMath.horizontalSum((s0 + s1) + (s2 + s3)) * invD
        let variance = max(0, s - c * c)
        return RowStatistics(m0: m0, c: c, rstd: 1 / (variance + eps).squareRoot())
    }

    @inline(__always)
    static func normalizeRow(
        _ x: UnsafePointer<Float>, _ d: Int, _ stats: RowStatistics,
        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, normalized: UnsafeMutablePointer<Float>?
    ) {
        let m0 = SIMD8<Float>(repeating: stats.m0), c = SIMD8<Float>(repeating: stats.c)
        let rs = SIMD8<Float>(repeating: stats.rstd)
        @inline(__always) func transform(_ v: SIMD8<Float>, _ w: SIMD8<Float>?, _ b: SIMD8<Float>?)
            -> (xhat: SIMD8<Float>, y: SIMD8<Float>) {
            let xhat = ((v - m0) - c) * rs
            var out = xhat
            if let w { out = b.map { $0.addingProduct(xhat, w) } ?? xhat * w }
            else if let b { out = xhat + b }
            return (xhat, out)
        }
        var j = 0
        if let w = weight, let b = bias, normalized == nil {
            // The common case (LN with both parameters, hook not kept) without optionals
            // in the loop, which would otherwise go through scalar lane inserts.
            while j + 8 <= d {
                let xhat = ((SIMDMath.load(x + j) - m0) - c) * rs
                SIMDMath.store(SIMDMath.load(b + j).addingProduct(xhat, SIMDMath.load(w + j)), y + j)
                j += 8
            }
        }
        while j + 8 <= d {
            let t = transform(SIMDMath.load(x + j), weight.map { SIMDMath.load($0 + j) },
                              bias.map { SIMDMath.load($0 + j) })
            normalized.map { SIMDMath.store(t.xhat, $0 + j) }
            SIMDMath.store(t.y, y + j)
            j += 8
        }
        if j < d {
            let n = d - j
            let t = transform(SIMDMath.loadPartial(x + j, n), weight.map { SIMDMath.loadPartial($0 + j, n) },
                              bias.map { SIMDMath.loadPartial($0 + j, n) })
            normalized.map { SIMDMath.storePartial(t.xhat, $0 + j, n) }
            SIMDMath.storePartial(t.y, y + j, n)
        }
    }
}
