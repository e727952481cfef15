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
                var acc = load(out + i)
                acc.addProduct(s0, load(w0 + i))
                acc.addProduct(s1, load(w1 + i))
                acc.addProduct(s2, load(w2 + i))
                acc.addProduct(s3, load(w3 + i))
                store(acc, out + i)
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
                var acc = load(out + i)
                acc.addProduct(s, load(w + i))
                store(acc, out + i)
                i += 8
            }
            while i < d { out[i].addProduct(v, w[i]); i += 1 }
            e += 1
        }
    }
}

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
