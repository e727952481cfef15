/// Sparse decode: `out[r] = bias + sum_{e in row r} values[e] * W[indices[e]]`.
///
/// `W` is `width x d` row-major (the decoder `W_dec [d_sae, d_in]`, or the transposed encoder
/// for the input gradient), `out` is `rows x d`. The cost is `entries x d` multiply-adds:
/// it scales with the number of active latents, not with `width`. Four decoder rows are
/// folded into each pass over an output row, which stays in L1. Rows are split over threads;
/// each output row is summed in entry order, so results do not depend on the thread count.
public enum SparseDecode {
    public static func decode(
        _ codes: SparseCodes, weights: UnsafePointer<Float>, d: Int,
        bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(d > 0, "SparseDecode: d must be positive")
        precondition(codes.indices.allSatisfy { $0 >= 0 && Int($0) < codes.width },
                     "SparseDecode: a latent index is outside 0..<\(codes.width)")
        let rows = codes.rows
        let work = codes.nonzeroCount * d + rows * d
        let t = work < 1 << 17 ? 1 : threads
        codes.offsets.withUnsafeBufferPointer { op in codes.indices.withUnsafeBufferPointer { ip in
            codes.values.withUnsafeBufferPointer { vp in
                Parallel.forRanges(rows, threads: t) { range in
                    for r in range {
                        decodeRow(entries: op[r]..<op[r + 1], indices: ip.baseAddress!, values: vp.baseAddress!,
                                  weights: weights, d: d, bias: bias, out: out + r * d)
                    }
                }
            }
        }}
    }

    /// The decode of a training step fused with the gradients that follow it, one row at a
    /// time while its decoder rows are in cache. For each row `r` (entries `e = (r, j)`):
    ///
    ///     xHat[r] = bias + sum_e f[e] W[j]                    (exactly `decode`)
    ///     g[r]    = scale * (xHat[r] - x[r])                  (dL/dx_hat for scale 2/B)
    ///     dpre[e] = f[e] > 0 ? g[r] . W[j] + l1 : 0           (dL/dpre through the ReLU)
    ///
    /// `g` is bitwise `BatchElementwise.scaledDifference`'s and `dpre` bitwise
    /// `SparseBackward.codeGradients` followed by the gate; the column sums of `g` are left to
    /// `BatchElementwise.columnSums`. Rows are split over threads.
    public static func decodeWithGradients(
        _ codes: SparseCodes, weights: UnsafePointer<Float>, d: Int, bias: UnsafePointer<Float>?,
        inputs x: UnsafePointer<Float>, scale: Float, l1: Float,
        out: UnsafeMutablePointer<Float>, outputGradient g: UnsafeMutablePointer<Float>,
        codeGradients dpre: UnsafeMutablePointer<Float>, threads: Int = Parallel.defaultThreads
    ) {
        precondition(d > 0, "SparseDecode: d must be positive")
        precondition(codes.indices.allSatisfy { $0 >= 0 && Int($0) < codes.width },
                     "SparseDecode: a latent index is outside 0..<\(codes.width)")
        let rows = codes.rows
        let work = 2 * codes.nonzeroCount * d + rows * d
        let t = work < 1 << 17 ? 1 : threads
        let s8 = SIMD8<Float>(repeating: scale)
        codes.offsets.withUnsafeBufferPointer { op in codes.indices.withUnsafeBufferPointer { ip in
            codes.values.withUnsafeBufferPointer { vp in
                Parallel.forRanges(rows, threads: t) { range in
                    for r in range {
                        let o = r * d
                        decodeRow(entries: op[r]..<op[r + 1], indices: ip.baseAddress!, values: vp.baseAddress!,
                                  weights: weights, d: d, bias: bias, out: out + o)
                        var i = 0
                        while i + 8 <= d {
                            SIMDMath.store(s8 * (SIMDMath.load(out + o + i) - SIMDMath.load(x + o + i)), g + o + i)
                            i += 8
                        }
                        while i < d { g[o + i] = scale * (out[o + i] - x[o + i]); i += 1 }
                        for e in op[r]..<op[r + 1] {
                            dpre[e] = vp[e] > 0 ? SparseBackward.dot(g + o, weights + Int(ip[e]) * d, d) + l1 : 0
                        }
                    }
                }
            }
        }}
    }

    @inline(__always)
    static func decodeRow(entries: Range<Int>, indices: UnsafePointer<Int32>, values: UnsafePointer<Float>,
                          weights: UnsafePointer<Float>, d: Int, bias: UnsafePointer<Float>?,
                          out: UnsafeMutablePointer<Float>) {
        if let bias { out.update(from: bias, count: d) } else { out.update(repeating: 0, count: d) }
        var e = entries.lowerBound
        let end = entries.upperBound
        let d8 = d & ~7
        while e + 4 <= end {
            let w0 = weights + Int(indices[e]) * d, w1 = weights + Int(indices[e + 1]) * d
            let w2 = weights + Int(indices[e + 2]) * d, w3 = weights + Int(indices[e + 3]) * d
            let v0 = values[e], v1 = values[e + 1], v2 = values[e + 2], v3 = values[e + 3]
            let s0 = SIMD8(repeating: v0), s1 = SIMD8(repeating: v1)
            let s2 = SIMD8(repeating: v2), s3 = SIMD8(repeating: v3)
            var i = 0
            while i < d8 {
                var acc = SIMDMath.load(out + i)
                acc.addProduct(s0, SIMDMath.load(w0 + i))
                acc.addProduct(s1, SIMDMath.load(w1 + i))
                acc.addProduct(s2, SIMDMath.load(w2 + i))
                acc.addProduct(s3, SIMDMath.load(w3 + i))
                SIMDMath.store(acc, out + i)
                i += 8
            }
            while i < d {
                var acc = out[i]
                acc.addProduct(v0, w0[i]); acc.addProduct(v1, w1[i])
                acc.addProduct(v2, w2[i]); acc.addProduct(v3, w3[i])
                out[i] = acc
                i += 1
            }
            e += 4
        }
        while e < end {
            let w = weights + Int(indices[e]) * d
            let v = values[e], s = SIMD8(repeating: v)
            var i = 0
            while i < d8 {
                var acc = SIMDMath.load(out + i)
                acc.addProduct(s, SIMDMath.load(w + i))
                SIMDMath.store(acc, out + i)
                i += 8
            }
            while i < d { out[i].addProduct(v, w[i]); i += 1 }
            e += 1
        }
    }
}
