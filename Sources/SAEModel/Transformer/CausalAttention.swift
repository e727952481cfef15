import SAEKernels

/// The core of causal multi-head attention, from the stacked projections to `z`:
/// for each sequence `b` and head `h`,
/// `scores = q k^T / sqrt(d_head)` (`[seq, seq]`), `pattern = softmax(scores)` over keys
/// `0...i` for query `i` (later keys get 0), `z = pattern v` (`[seq, d_head]`).
///
/// Layouts (row-major, rows are `b * seq + position`):
/// - `qkv`: `[batch * seq, 3 * heads * dHead]`, columns `[q heads | k heads | v heads]`,
///   head `h` at columns `h * dHead ..< (h + 1) * dHead` of its part;
/// - `z`: `[batch * seq, heads * dHead]`, head `h` at columns `h * dHead ..< (h + 1) * dHead`;
/// - `pattern`: `[batch, heads, seq, seq]`, i.e. row `(b * heads + h) * seq + i`.
///
/// The `(b, h)` pairs are split over threads; each pair runs single-threaded on its own
/// scratch.
enum CausalAttention {
    struct Shape {
        var batch: Int, seq: Int, heads: Int, dHead: Int
        var qkvStride: Int { 3 * heads * dHead }
        var zStride: Int { heads * dHead }
        var scale: Float { 1 / Float(dHead).squareRoot() }
    }

    /// `z` without materialising the whole pattern (`CausalAttentionHead`): whole sequences
    /// per thread when there are enough of them (each sequence's q, k, v packed in sweeps
    /// down its rows), else `(b, h)` pairs. The same results either way.
    static func forward(
        qkv: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>, shape s: Shape, threads: Int
    ) {
        if s.batch >= threads {
            let scratch = CausalAttentionHead.sequenceScratchCount(heads: s.heads, seq: s.seq, dHead: s.dHead)
            Parallel.forRanges(s.batch, threads: threads) { sequences in
                ScratchPool.withScratch(count: scratch) { buffer in
                    for b in sequences {
                        CausalAttentionHead.forwardSequence(
                            qkv: qkv + b * s.seq * s.qkvStride, ld: s.qkvStride, heads: s.heads, seq: s.seq, dHead: s.dHead,
                            scale: s.scale, z: z + b * s.seq * s.zStride, ldz: s.zStride, scratch: buffer)
                    }
                }
            }
            return
        }
        let scratch = CausalAttentionHead.scratchCount(seq: s.seq, dHead: s.dHead)
        Parallel.forRanges(s.batch * s.heads, threads: threads) { pairs in
            ScratchPool.withScratch(count: scratch) { buffer in
                for pair in pairs {
                    let b = pair / s.heads, h = pair % s.heads
                    let q = qkv + b * s.seq * s.qkvStride + h * s.dHead
                    CausalAttentionHead.forward(q: q, k: q + s.heads * s.dHead, v: q + 2 * s.heads * s.dHead, ld: s.qkvStride,
                                                seq: s.seq, dHead: s.dHead, scale: s.scale,
                                                z: z + b * s.seq * s.zStride + h * s.dHead, ldz: s.zStride, scratch: buffer)
                }
            }
        }
    }

    /// Phase 1 of the two-phase path (when the pattern is captured or replaced): every
    /// pair's full `[seq, seq]` pattern, masked entries 0.
    static func patterns(
        qkv: UnsafePointer<Float>, pattern: UnsafeMutablePointer<Float>, shape s: Shape,
        validLengths: UnsafePointer<Int>, threads: Int
    ) {
        Parallel.forRanges(s.batch * s.heads, threads: threads) { pairs in
            for pair in pairs {
                let b = pair / s.heads, h = pair % s.heads
                let q = qkv + b * s.seq * s.qkvStride + h * s.dHead
                let out = pattern + pair * s.seq * s.seq
                GEMM.multiply(.none, .transposed, m: s.seq, n: s.seq, k: s.dHead, alpha: s.scale,
                              a: q, lda: s.qkvStride, b: q + s.heads * s.dHead, ldb: s.qkvStride,
                              c: out, ldc: s.seq, threads: 1)
                Softmax.forwardInPlace(out, rows: s.seq, n: s.seq, validLengths: validLengths, threads: 1)
            }
        }
    }

    /// Phase 2: `z = pattern v` for every pair, from a (possibly edited) pattern.
    static func mix(
        pattern: UnsafePointer<Float>, qkv: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
        shape s: Shape, threads: Int
    ) {
        Parallel.forRanges(s.batch * s.heads, threads: threads) { pairs in
            for pair in pairs {
                let b = pair / s.heads, h = pair % s.heads
                let v = qkv + b * s.seq * s.qkvStride + 2 * s.heads * s.dHead + h * s.dHead
                GEMM.multiply(.none, .none, m: s.seq, n: s.dHead, k: s.seq, a: pattern + pair * s.seq * s.seq,
                              lda: s.seq, b: v, ldb: s.qkvStride,
                              c: z + b * s.seq * s.zStride + h * s.dHead, ldc: s.zStride, threads: 1)
            }
        }
    }
}
