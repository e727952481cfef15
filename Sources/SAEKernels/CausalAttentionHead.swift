/// Causal softmax attention for one head of one sequence, on the GEMM micro-kernel:
/// `scores = scale * q k^T` (`[seq, seq]`), `pattern[i] = softmax(scores[i, 0...i])`
/// (later keys 0), `z = pattern v` (`[seq, dHead]`).
///
/// q, k and v are each packed once; the score tiles entirely above the diagonal are
/// skipped, and each block of `MR` query rows multiplies only the keys it can see. Every
/// score is the same `dHead`-term micro-kernel dot product as a `GEMM.multiply` of q by
/// k^T, and every `z` entry sums `pattern * v` over the keys in order (the masked ones
/// add zeros), so the results do not depend on the thread count.
/// Naive twin: `Reference.causalAttentionHead`.
package enum CausalAttentionHead {
    /// Floats of scratch `forward` needs for `seq` and `dHead`.
    package static func scratchCount(seq: Int, dHead: Int, kernel: GEMMKernel = .best) -> Int {
        let l = Layout(seq: seq, dHead: dHead, kernel: kernel)
        return l.headCount + l.workCount
    }

    /// `q`, `k`, `v`: `[seq, dHead]` with row stride `ld`; `z`: `[seq, dHead]` with row
    /// stride `ldz`; `scratch` holds `scratchCount(seq:dHead:)` floats.
    package static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
        seq: Int, dHead: Int, scale: Float, z: UnsafeMutablePointer<Float>, ldz: Int,
        scratch: UnsafeMutablePointer<Float>, kernel: GEMMKernel = .best
    ) {
        precondition(seq >= 1 && dHead >= 1 && ld >= dHead && ldz >= dHead, "CausalAttentionHead: bad shape")
        let l = Layout(seq: seq, dHead: dHead, kernel: kernel)
        GEMMPacking.packA(.none, q, lda: ld, i0: 0, mc: seq, p0: 0, kc: dHead, mr: kernel.mr, into: scratch)
        GEMMPacking.packB(.transposed, k, ldb: ld, p0: 0, kc: dHead, j0: 0, nc: seq, nr: kernel.nr, into: scratch + l.kOffset)
        GEMMPacking.packB(.none, v, ldb: ld, p0: 0, kc: seq, j0: 0, nc: dHead, nr: kernel.nr, into: scratch + l.vOffset)
        compute(packed: scratch, layout: l, scale: scale, z: z, ldz: ldz, work: scratch + l.headCount, kernel: kernel)
    }

    /// Floats of scratch `forwardSequence` needs.
    package static func sequenceScratchCount(heads: Int, seq: Int, dHead: Int, kernel: GEMMKernel = .best) -> Int {
        let l = Layout(seq: seq, dHead: dHead, kernel: kernel)
        return heads * l.headCount + l.workCount
    }

    /// Every head of one sequence: `qkv` is `[seq, 3 * heads * dHead]` (row stride `ld`,
    /// columns `[q heads | k heads | v heads]`), `z` is `[seq, heads * dHead]` (row stride
    /// `ldz`). The heads' q, k and v are packed in sweeps down the rows (each row's values
    /// read in address order, which the hardware prefetchers follow), then each head runs
    /// as in `forward`, with the same results.
    package static func forwardSequence(
        qkv: UnsafePointer<Float>, ld: Int, heads: Int, seq: Int, dHead: Int, scale: Float,
        z: UnsafeMutablePointer<Float>, ldz: Int, scratch: UnsafeMutablePointer<Float>, kernel: GEMMKernel = .best
    ) {
        precondition(seq >= 1 && dHead >= 1 && heads >= 1 && ld >= 3 * heads * dHead && ldz >= heads * dHead,
                     "CausalAttentionHead: bad sequence shape")
        let l = Layout(seq: seq, dHead: dHead, kernel: kernel)
        let (mr, nr) = (kernel.mr, kernel.nr)
        let width = heads * dHead
        var i0 = 0
        while i0 < seq {
            for h in 0..<heads {
                GEMMPacking.packA(.none, qkv + h * dHead, lda: ld, i0: i0, mc: min(mr, seq - i0), p0: 0, kc: dHead, mr: mr,
                                  into: scratch + h * l.headCount + i0 * dHead)
            }
            i0 += mr
        }
        var j0 = 0
        while j0 < seq {
            for h in 0..<heads {
                GEMMPacking.packB(.transposed, qkv + width + h * dHead, ldb: ld, p0: 0, kc: dHead, j0: j0,
                                  nc: min(nr, seq - j0), nr: nr, into: scratch + h * l.headCount + l.kOffset + j0 * dHead)
            }
            j0 += nr
        }
        for p in 0..<seq {
            let row = qkv + p * ld + 2 * width
            for h in 0..<heads {
                let packedV = scratch + h * l.headCount + l.vOffset
                var c0 = 0
                while c0 < dHead {
                    let cols = min(nr, dHead - c0), out = packedV + c0 * seq + p * nr
                    out.update(from: row + h * dHead + c0, count: cols)
                    if cols < nr { (out + cols).update(repeating: 0, count: nr - cols) }
                    c0 += nr
                }
            }
        }
        for h in 0..<heads {
            compute(packed: scratch + h * l.headCount, layout: l, scale: scale, z: z + h * dHead, ldz: ldz,
                    work: scratch + heads * l.headCount, kernel: kernel)
        }
    }

    /// Where a head's packed operands sit in its scratch, and the shared work space.
    struct Layout {
        let seq: Int, dHead: Int
        let rowsUp: Int, keysUp: Int, dUp: Int
        let kOffset: Int, vOffset: Int, headCount: Int, workCount: Int
        init(seq: Int, dHead: Int, kernel: GEMMKernel) {
            self.seq = seq
            self.dHead = dHead
            rowsUp = (seq + kernel.mr - 1) / kernel.mr * kernel.mr
            keysUp = (seq + kernel.nr - 1) / kernel.nr * kernel.nr
            dUp = (dHead + kernel.nr - 1) / kernel.nr * kernel.nr
            kOffset = rowsUp * dHead
            vOffset = kOffset + dHead * keysUp
            headCount = vOffset + seq * dUp
            workCount = seq * keysUp + kernel.mr * seq
        }
    }

    /// Scores, softmax and `z` for one head from its packed q, k and v.
    static func compute(
        packed: UnsafeMutablePointer<Float>, layout l: Layout, scale: Float,
        z: UnsafeMutablePointer<Float>, ldz: Int, work: UnsafeMutablePointer<Float>, kernel: GEMMKernel
    ) {
        let (mr, nr) = (kernel.mr, kernel.nr)
        let seq = l.seq, dHead = l.dHead, keysUp = l.keysUp
        let packedQ = packed, packedK = packed + l.kOffset, packedV = packed + l.vOffset
        let scores = work                   // [seq, keysUp]
        let packedP = work + seq * keysUp   // one MR x seq block of the pattern
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
