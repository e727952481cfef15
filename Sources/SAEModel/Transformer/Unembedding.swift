import Foundation
import SAEKernels

/// The unembedding, `logits = x W_U + b_U` (`x`: `[rows, d_model]`, `W_U`:
/// `[d_model, d_vocab]`, row-major), and statistics of the next-token distributions it
/// gives, computed a block of `rowBlock x vocabBlock` logits at a time so that the full
/// `[rows, d_vocab]` logits never exist (gelu-1l: 190 KB per token).
///
/// Per row `r` with logits `l` (and `l'` from a reference input, if given):
/// - `loss[r] = logsumexp(l) - l[t_r]` (cross-entropy of target `t_r`), for `t_r >= 0`;
/// - `kl[r] = KL(softmax(l') || softmax(l)) = sum_j p'_j (log p'_j - log p_j)`, written as
///   `sum_j p'_j (l'_j - l_j) - logsumexp(l') + logsumexp(l)`.
///
/// Per vocabulary block `B`, `lse_B = logsumexp(l[B])` comes from `Softmax.logSumExp` and
/// `t_B = sum_{j in B} e^(l'_j - lse'_B) (l'_j - l_j)` is summed in Float within the block;
/// blocks are combined in Double: `logsumexp(l) = M + log sum_B e^(lse_B - M)` and
/// `sum_j p'_j (l'_j - l_j) = sum_B e^(lse'_B - lse') t_B`.
enum Unembedding {
    struct Weights {
        var w: UnsafePointer<Float>
        var bias: UnsafePointer<Float>
        var dModel: Int
        var vocab: Int
    }

    static let rowBlock = 1024
    static let vocabBlock = 1024

    /// Full logits into `out` (`[rows, vocab]`).
    static func logits(_ x: UnsafePointer<Float>, rows: Int, weights u: Weights,
                       out: UnsafeMutablePointer<Float>, threads: Int) {
        GEMM.multiply(.none, .none, m: rows, n: u.vocab, k: u.dModel, a: x, lda: u.dModel, b: u.w, ldb: u.vocab,
                      c: out, ldc: u.vocab, epilogue: GEMMEpilogue(columnBias: u.bias), threads: threads)
    }

    /// Cross-entropy (`loss`, and `referenceLoss` for `reference`) for rows with
    /// `targets[r] >= 0` (other rows get 0), and KL per row when `reference` and `kl` are
    /// given. `x`, `reference`: `[rows, d_model]`. Rows are split over threads, each thread
    /// running single-threaded GEMMs on its own blocks.
    static func reduce(
        _ x: UnsafePointer<Float>, reference: UnsafePointer<Float>?, rows: Int, weights u: Weights,
        targets: UnsafePointer<Int32>, loss: UnsafeMutablePointer<Float>,
        referenceLoss: UnsafeMutablePointer<Float>?, kl: UnsafeMutablePointer<Float>?,
        rowBlock: Int = Unembedding.rowBlock, vocabBlock: Int = Unembedding.vocabBlock, threads: Int
    ) {
        guard rows > 0 else { return }
        let vb = u.vocab <= vocabBlock + vocabBlock / 2 ? u.vocab : vocabBlock
        let nBlocks = (u.vocab + vb - 1) / vb
        let perThread = (rows + threads - 1) / threads
        let rb = max(1, min(rowBlock, perThread))
        Parallel.forRanges(rows, threads: threads, granule: rb) { range in
            let logitsCount = rb * vb
            ScratchPool.withScratch(count: (reference == nil ? 1 : 2) * logitsCount + vb + rb) { scratch in
                let main = scratch, ref = scratch + logitsCount
                let expRow = scratch + (reference == nil ? 1 : 2) * logitsCount
                let lseTemp = expRow + vb
                var lse = [Float](repeating: 0, count: rb * nBlocks)
                var lseRef = [Float](repeating: 0, count: reference == nil ? 0 : rb * nBlocks)
                var tBlock = [Double](repeating: 0, count: reference == nil ? 0 : rb * nBlocks)
                var target = [Float](repeating: 0, count: rb), targetRef = [Float](repeating: 0, count: rb)
                var r0 = range.lowerBound
                while r0 < range.upperBound {
                    let m = min(rb, range.upperBound - r0)
                    for blk in 0..<nBlocks {
                        let v0 = blk * vb, n = min(vb, u.vocab - v0)
                        func block(_ input: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                   lse: inout [Float], target: inout [Float]) {
                            GEMM.multiply(.none, .none, m: m, n: n, k: u.dModel, a: input + r0 * u.dModel, lda: u.dModel,
                                          b: u.w + v0, ldb: u.vocab, c: out, ldc: n,
                                          epilogue: GEMMEpilogue(columnBias: u.bias + v0), threads: 1)
                            Softmax.logSumExp(out, rows: m, n: n, output: lseTemp, threads: 1)
                            for i in 0..<m {
                                lse[i * nBlocks + blk] = lseTemp[i]
                                let t = Int(targets[r0 + i]) - v0
                                if t >= 0 && t < n { target[i] = out[i * n + t] }
                            }
                        }
                        block(x, into: main, lse: &lse, target: &target)
                        if let reference {
                            block(reference, into: ref, lse: &lseRef, target: &targetRef)
                            for i in 0..<m {
                                let lr = ref + i * n, lm = main + i * n
                                let shift = lseRef[i * nBlocks + blk]
                                for j in 0..<n { expRow[j] = lr[j] - shift }
                                SIMDMath.exp(expRow, expRow, count: n)
                                tBlock[i * nBlocks + blk] = Double(weightedDifference(expRow, lr, lm, n))
                            }
                        }
                    }
                    for i in 0..<m {
                        let r = r0 + i
                        let total = combine(lse, i * nBlocks, nBlocks)
                        loss[r] = targets[r] >= 0 ? Float(total - Double(target[i])) : 0
                        guard reference != nil else { continue }
                        let totalRef = combine(lseRef, i * nBlocks, nBlocks)
                        referenceLoss?[r] = targets[r] >= 0 ? Float(totalRef - Double(targetRef[i])) : 0
                        if let kl {
                            var expected = 0.0
                            for blk in 0..<nBlocks {
                                expected += Foundation.exp(Double(lseRef[i * nBlocks + blk]) - totalRef)
                                    * tBlock[i * nBlocks + blk]
                            }
                            kl[r] = Float(expected - totalRef + total)
                        }
                    }
                    r0 += m
                }
            }
        }
    }

    /// `log sum_b e^(values[offset + b])` for `b < count`, in Double.
    @inline(__always)
    private static func combine(_ values: [Float], _ offset: Int, _ count: Int) -> Double {
        var m = -Double.infinity
        for b in 0..<count { m = max(m, Double(values[offset + b])) }
        var s = 0.0
        for b in 0..<count { s += Foundation.exp(Double(values[offset + b]) - m) }
        return m + Foundation.log(s)
    }

    /// `sum_j w[j] (a[j] - b[j])`, eight Float lanes.
    @inline(__always)
    private static func weightedDifference(_ w: UnsafePointer<Float>, _ a: UnsafePointer<Float>,
                                           _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var j = 0
        while j + 16 <= n {
            acc0.addProduct(load(w + j), load(a + j) - load(b + j))
            acc1.addProduct(load(w + j + 8), load(a + j + 8) - load(b + j + 8))
            j += 16
        }
        var s = (acc0 + acc1).sum()
        while j < n { s += w[j] * (a[j] - b[j]); j += 1 }
        return s
    }
}

extension Transformer {
    /// Per row of `final` and `reference` (both `[batch * seq, d_model]` values of
    /// `ln_final.hook_normalized`, e.g. of a spliced and of a clean run of the same
    /// tokens; the final LayerNorm's `w`, `b` are applied here): the next-token cross-entropy of each (`[batch * seq]`, 0 at the last
    /// position of a sequence) and `KL(softmax(reference logits) || softmax(final logits))`
    /// at every position. Logits are made a block at a time and never stored whole.
    package func nextTokenComparison(
        final: Matrix, reference: Matrix, tokens: TokenBatch, threads: Int
    ) -> (loss: [Float], referenceLoss: [Float], kl: [Float]) {
        let n = tokens.batch * tokens.seq
        precondition(final.rows == n && reference.rows == n && final.cols == config.dModel
                     && reference.cols == config.dModel, "nextTokenComparison: inputs must be [\(n), \(config.dModel)]")
        let targets = Self.nextTokenTargets(tokens)
        var loss = [Float](repeating: 0, count: n), referenceLoss = loss, kl = loss
        func scaled(_ m: Matrix) -> Matrix {
            guard weights.finalWeight != nil || weights.finalBias != nil else { return m }
            var out = Matrix(rows: n, cols: config.dModel)
            Elementwise.affine(MatrixAccess.read(m), weight: MatrixAccess.read(weights.finalWeight),
                               bias: MatrixAccess.read(weights.finalBias), into: MatrixAccess.write(&out),
                               rows: n, d: config.dModel, threads: threads)
            return out
        }
        let final = scaled(final), reference = scaled(reference)
        targets.withUnsafeBufferPointer { t in
            loss.withUnsafeMutableBufferPointer { l in
                referenceLoss.withUnsafeMutableBufferPointer { rl in
                    kl.withUnsafeMutableBufferPointer { k in
                        Unembedding.reduce(MatrixAccess.read(final), reference: MatrixAccess.read(reference), rows: n,
                                           weights: unembeddingWeights, targets: t.baseAddress!, loss: l.baseAddress!,
                                           referenceLoss: rl.baseAddress!, kl: k.baseAddress!, threads: threads)
                    }
                }
            }
        }
        return (loss, referenceLoss, kl)
    }
}
