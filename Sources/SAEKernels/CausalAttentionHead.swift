/// Causal softmax attention for one head of one sequence, on the GEMM micro-kernel:
/// `scores = scale * q k^T` (`[seq, seq]`), `pattern[i] = softmax(scores[i, 0...i])`
/// (later keys 0), `z = pattern v` (`[seq, dHead]`).
///
/// q, k and v are each packed once; the score tiles entirely above the diagonal are
/// skipped, and each block of `MR` query rows multiplies only the keys it can see. Every
/// score is the same `dHead`-term micro-kernel dot product as a `GEMM.multiply` of q by
/// k^T, and every `z` entry sums `pattern * v` over the keys in order (the masked ones
/// add zeros), so the results do not depend on the thread count.
package enum CausalAttentionHead {
    /// Floats of scratch `forward` needs for `seq` and `dHead`.
    package static func scratchCount(seq: Int, dHead: Int, kernel: GEMMKernel = .best) -> Int {
        let (mr, nr) = (kernel.mr, kernel.nr)
        let rowsUp = (seq + mr - 1) / mr * mr, keysUp = (seq + nr - 1) / nr * nr, dUp = (dHead + nr - 1) / nr * nr
        return rowsUp * dHead + dHead * keysUp + seq * dUp + seq * keysUp + mr * seq
    }

    /// `q`, `k`, `v`: `[seq, dHead]` with row stride `ld`; `z`: `[seq, dHead]` with row
    /// stride `ldz`; `scratch` holds `scratchCount(seq:dHead:)` floats.
    package static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
        seq: Int, dHead: Int, scale: Float, z: UnsafeMutablePointer<Float>, ldz: Int,
        scratch: UnsafeMutablePointer<Float>, kernel: GEMMKernel = .best
    ) {
        precondition(seq >= 1 && dHead >= 1 && ld >= dHead && ldz >= dHead, "CausalAttentionHead: bad shape")
        let (mr, nr) = (kernel.mr, kernel.nr)
        let rowsUp = (seq + mr - 1) / mr * mr, keysUp = (seq + nr - 1) / nr * nr, dUp = (dHead + nr - 1) / nr * nr
        let packedQ = scratch
        let packedK = packedQ + rowsUp * dHead
        let packedV = packedK + dHead * keysUp
        let scores = packedV + seq * dUp          // [seq, keysUp]
        let packedP = scores + seq * keysUp       // one MR x seq block of the pattern
        GEMMPacking.packA(.none, q, lda: ld, i0: 0, mc: seq, p0: 0, kc: dHead, mr: mr, into: packedQ)
        GEMMPacking.packB(.transposed, k, ldb: ld, p0: 0, kc: dHead, j0: 0, nc: seq, nr: nr, into: packedK)
        GEMMPacking.packB(.none, v, ldb: ld, p0: 0, kc: seq, j0: 0, nc: dHead, nr: nr, into: packedV)
        let scoreStore = TileStore(alpha: scale, beta: 0, bias: nil, relu: false, pre: nil, ldPre: 0)
        let plainStore = TileStore(alpha: 1, beta: 0, bias: nil, relu: false, pre: nil, ldPre: 0)
        var i0 = 0
        while i0 < seq {
            let rows = min(mr, seq - i0)
            let keys = i0 + rows  // the block's last query sees keys 0 ..< keys
            // Scores of the visible key tiles.
            var j0 = 0
            while j0 < keys {
                kernel.run(kc: dHead, a: packedQ + i0 * dHead, b: packedK + j0 * dHead, c: scores + i0 * keysUp + j0,
                           ldc: keysUp, mr: rows, nr: min(nr, seq - j0), store: scoreStore)
                j0 += nr
            }
            // Softmax over each row's keys; zeros up to the block's key count.
            for i in i0..<keys {
                let row = scores + i * keysUp
                Softmax.softmaxRow(row, i + 1)
                if i + 1 < keys { (row + i + 1).update(repeating: 0, count: keys - i - 1) }
            }
            // z rows = pattern block (rows x keys) times v[0 ..< keys].
            GEMMPacking.packA(.none, scores, lda: keysUp, i0: i0, mc: rows, p0: 0, kc: keys, mr: mr, into: packedP)
            var c0 = 0
            while c0 < dHead {
                kernel.run(kc: keys, a: packedP, b: packedV + c0 * seq, c: z + i0 * ldz + c0, ldc: ldz,
                           mr: rows, nr: min(nr, dHead - c0), store: plainStore)
                c0 += nr
            }
            i0 += mr
        }
    }
}
