import Dispatch
import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Throughput at gelu-1l's shapes with random weights, run by hand:
/// `SAE_PERF=1 swift test -c release --filter TransformerPerformanceTests`
/// (`SAE_PERF_THREADS`, default 2; `SAE_PERF_REPEATS`, default 5; `SAE_PERF_BREAKDOWN=1`
/// times each stage and attention query blocks; `SAE_PERF_UNEMBED=1` times unembedding
/// block sizes). Prints tokens/s; asserts nothing about speed.
final class TransformerPerformanceTests: XCTestCase {
    /// Times of `repeats` calls after a warm-up, in seconds, sorted.
    func timings(_ repeats: Int, _ body: () throws -> Void) rethrows -> [Double] {
        try body()  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return times.sorted()
    }

    /// The fastest of `repeats` calls (the machine is shared: the minimum is the figure
    /// least disturbed by other work).
    func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double { try timings(repeats, body)[0] }

    func testGelu1lThroughput() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipUnless(env["SAE_PERF"] == "1", "set SAE_PERF=1 to measure throughput")
        let threads = env["SAE_PERF_THREADS"].flatMap(Int.init) ?? 2
        let repeats = env["SAE_PERF_REPEATS"].flatMap(Int.init) ?? 5
        let config = TransformerConfig.gelu1l
        let model = Transformer(randomWeightsFor: config, seed: 1)
        let (batch, seq) = (32, 128)
        let tokens = TransformerFixture.randomTokens(batch: batch, seq: seq, vocab: config.dVocab, seed: 2)
        let ws = ForwardWorkspace(batch: batch, seq: seq)
        var harvestPlan = ForwardPlan()
        harvestPlan.stopAfter = HookPoint(.mlpPost)
        var lossPlan = ForwardPlan()
        lossPlan.outputs = .lossPerToken
        var sink: Float = 0
        let harvestTimes = try timings(repeats) {
            var r = try model.run(tokens, plan: harvestPlan, workspace: ws, threads: threads)
            sink += r.stoppedValue![5, 7]
            r.stoppedValue = nil
        }
        let lossTimes = try timings(max(1, repeats / 2)) {
            sink += try model.run(tokens, plan: lossPlan, workspace: ws, threads: threads).lossPerToken![3, 4]
        }
        let (harvest, loss) = (harvestTimes[harvestTimes.count / 2], lossTimes[lossTimes.count / 2])
        let publicTimes = try timings(repeats) {
            let r = try model.run(tokens, capture: ["blocks.0.mlp.hook_post"], stopAfter: "blocks.0.mlp.hook_post",
                                  threads: threads)
            sink += r.activations["blocks.0.mlp.hook_post"]![1, 2]
        }
        print(String(format: "through run(capture:stopAfter:) (captured hook shared, no copy): median %.1f ms = %.0f tokens/s",
                     publicTimes[publicTimes.count / 2] * 1e3, Double(batch * seq) / publicTimes[publicTimes.count / 2]))
        let n = Double(batch * seq)
        if env["SAE_PERF_UNEMBED"] == "1" {
            let x = MatrixAccess.read(ws.lnScaled)
            let targets = Transformer.nextTokenTargets(tokens)
            var loss = [Float](repeating: 0, count: batch * seq)
            var lines: [String] = []
            for (rb, vb) in [(256, 2048), (1024, 512), (1024, 1024)] {
                let t = targets.withUnsafeBufferPointer { tp in
                    loss.withUnsafeMutableBufferPointer { lp in
                        best(2) {
                            Unembedding.reduce(x, reference: nil, rows: batch * seq, weights: model.unembeddingWeights,
                                               targets: tp.baseAddress!, loss: lp.baseAddress!, referenceLoss: nil, kl: nil,
                                               rowBlock: rb, vocabBlock: vb, threads: threads)
                        }
                    }
                }
                lines.append(String(format: "%dx%d: %.0f ms (%.0f GFLOP/s)", rb, vb, t * 1e3,
                                    2 * n * Double(config.dModel * config.dVocab) / t / 1e9))
            }
            print("unembed + loss blocks: " + lines.joined(separator: ", "))
        }
        if env["SAE_PERF_BREAKDOWN"] == "1" { try breakdown(model, tokens, ws, threads: threads, repeats: repeats) }
        print(String(format: "gelu-1l %dx%d, %d threads, median (best) of %d: harvest to blocks.0.mlp.hook_post "
                     + "%.1f ms = %.0f (%.0f) tokens/s; forward with loss %.1f ms = %.0f (%.0f) tokens/s (sink %g)",
                     batch, seq, threads, repeats, harvest * 1e3, n / harvest, n / harvestTimes[0],
                     loss * 1e3, n / loss, n / lossTimes[0], sink))
    }

    /// Times each stage of the harvest pass on its own (SAE_PERF_BREAKDOWN=1).
    func breakdown(_ model: Transformer, _ tokens: TokenBatch, _ ws: ForwardWorkspace, threads: Int, repeats: Int) throws {
        let c = model.config, w = model.weights.blocks[0]
        let n = tokens.batch * tokens.seq, d = c.dModel
        var plan = ForwardPlan()
        plan.stopAfter = HookPoint(.mlpPost)
        _ = try model.run(tokens, plan: plan, workspace: ws, threads: threads)
        let x = MatrixAccess.read(ws.lnScaled), qkv = MatrixAccess.write(&ws.qkv), z = MatrixAccess.write(&ws.z)
        let mlp = MatrixAccess.write(&ws.mlp), resid = MatrixAccess.write(&ws.resid)
        let out = MatrixAccess.write(&ws.attnOut)
        let shape = CausalAttention.Shape(batch: tokens.batch, seq: tokens.seq, heads: c.nHeads, dHead: c.dHead)
        func gflops(_ m: Int, _ nn: Int, _ k: Int, _ t: Double) -> String {
            String(format: "%.1f ms (%.0f GFLOP/s)", t * 1e3, 2.0 * Double(m * nn * k) / t / 1e9)
        }
        let tQKV = best(repeats) {
            GEMM.multiply(.none, .none, m: n, n: 3 * c.attentionWidth, k: d, a: x, lda: d, b: MatrixAccess.read(w.qkvWeight),
                          ldb: 3 * c.attentionWidth, c: qkv, ldc: 3 * c.attentionWidth,
                          epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(w.qkvBias)), threads: threads)
        }
        let tAttention = best(repeats) {
            CausalAttention.forward(qkv: qkv, z: z, shape: shape, threads: threads)
        }
        let softmaxOnly: Double = ScratchPool.withScratch(count: 128 * 128) { scores in
            ws.validLengths.withUnsafeBufferPointer { lengths in
                best(repeats) {
                    for _ in 0..<(shape.batch * shape.heads) {
                        Softmax.forwardInPlace(scores, rows: 128, n: 128, validLengths: lengths.baseAddress!, threads: 1)
                    }
                }
            }
        }
        let blocks: [String] = [String(format: "softmax alone %.1f ms", softmaxOnly * 1e3)]
        print("attention: " + blocks.joined(separator: ", "))
        let tOut = best(repeats) {
            GEMM.multiply(.none, .none, m: n, n: d, k: c.attentionWidth, a: z, lda: c.attentionWidth,
                          b: MatrixAccess.read(w.outWeight), ldb: d, c: out, ldc: d,
                          epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(w.outBias)), threads: threads)
        }
        let tLN = best(repeats) {
            LayerNorm.forward(resid, rows: n, d: d, weight: MatrixAccess.read(w.ln2Weight), bias: MatrixAccess.read(w.ln2Bias),
                              output: out, threads: threads)
        }
        let tIn = best(repeats) {
            GEMM.multiply(.none, .none, m: n, n: c.dMLP, k: d, a: x, lda: d, b: MatrixAccess.read(w.inWeight), ldb: c.dMLP,
                          c: mlp, ldc: c.dMLP, epilogue: GEMMEpilogue(columnBias: MatrixAccess.read(w.inBias)), threads: threads)
        }
        let tGELU = best(repeats) { GELU.forward(mlp, mlp, count: n * c.dMLP, variant: .exact, threads: threads) }
        let tAdd = best(repeats) { Elementwise.add(resid, out, into: resid, count: n * d, threads: threads) }
        print("breakdown (\(threads) threads): qkv \(gflops(n, 3 * c.attentionWidth, d, tQKV)), attention "
              + String(format: "%.1f ms", tAttention * 1e3) + ", W_O \(gflops(n, d, c.attentionWidth, tOut)), "
              + String(format: "LN %.2f ms, ", tLN * 1e3) + "W_in \(gflops(n, c.dMLP, d, tIn)), "
              + String(format: "GELU %.2f ms, add %.2f ms", tGELU * 1e3, tAdd * 1e3))
    }
}
