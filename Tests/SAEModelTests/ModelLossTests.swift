import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

final class ModelLossTests: XCTestCase {
    let hook = "blocks.0.mlp.hook_post"

    func sequences(_ reference: SafetensorsFile) throws -> [[Int32]] {
        let tokens = try TransformerFixture.tokens(reference)
        return (0..<tokens.batch).map { Array(tokens.sequence($0)) }
    }

    func testMatchesTransformerLensAndTheDefinitions() throws {
        let model = try TransformerFixture.model()
        let reference = try TransformerFixture.reference()
        let seqs = try sequences(reference)
        var calls: [(Int, Int)] = []
        let result = try ModelLoss.evaluate(model: model, sequences: seqs, hook: hook, batchSize: 3, threads: 2,
                                            progress: { calls.append(($0, $1)) }) { x in
            var y = x  // a lossy "reconstruction": shrink towards 0
            y.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= 0.8 } }
            return y
        }
        XCTAssertEqual(calls.map(\.0), [3, 4, 7, 8])
        XCTAssertTrue(calls.allSatisfy { $0.1 == 8 })
        XCTAssertEqual(result.contexts, 4)
        XCTAssertEqual(result.tokens, 4 * 127)
        // Clean and zero-ablated per-token losses against TransformerLens.
        let e1 = assertClose(result.cleanLossPerToken.values, try reference.floats("loss_per_token"), atol: 1e-4, rtol: 1e-4, "clean")
        let e2 = assertClose(result.zeroAblationLossPerToken.values, try reference.floats("loss_per_token_mlp_zero_ablated"),
                             atol: 1e-4, rtol: 1e-4, "zero")
        print("ModelLoss vs TransformerLens: clean \(e1), zero-ablated \(e2)")
        XCTAssertEqual(result.cleanLoss, result.cleanLossPerToken.mean)
        // Spliced, mean-ablated and KL from the definitions, with full logits.
        let tokens = try TransformerFixture.tokens(reference)
        let cleanRun = try model.run(tokens, capture: [hook], outputs: [.lossPerToken, .logits])
        let splicedRun = try model.run(tokens, interventions: [hook: { m in
            m.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= 0.8 } }
        }], outputs: [.lossPerToken, .logits])
        assertClose(result.splicedLossPerToken.values, splicedRun.lossPerToken!.values, atol: 1e-5, rtol: 1e-5, "spliced")
        let h = cleanRun.activations[hook]!
        var mean = [Double](repeating: 0, count: h.cols)
        for r in 0..<h.rows { for j in 0..<h.cols { mean[j] += Double(h[r, j]) / Double(h.rows) } }
        let meanRun = try model.run(tokens, interventions: [hook: { m in
            for r in 0..<m.rows { for j in 0..<m.cols { m[r, j] = Float(mean[j]) } }
        }], outputs: .lossPerToken)
        assertClose(result.meanAblationLossPerToken.values, meanRun.lossPerToken!.values, atol: 1e-5, rtol: 1e-5, "mean-ablated")
        let v = model.config.dVocab
        var klWorst = 0.0
        for row in 0..<(4 * 128) {
            let lc = cleanRun.logits!.row(row).map(Double.init), ls = splicedRun.logits!.row(row).map(Double.init)
            func logSoftmax(_ l: [Double]) -> [Double] {
                let m = l.max()!
                let lse = m + log(l.map { exp($0 - m) }.reduce(0, +))
                return l.map { $0 - lse }
            }
            let pc = logSoftmax(lc), ps = logSoftmax(ls)
            let kl = (0..<v).reduce(0.0) { $0 + exp(pc[$1]) * (pc[$1] - ps[$1]) }
            klWorst = max(klWorst, abs(kl - Double(result.klPerToken[row / 128, row % 128])))
        }
        print("ModelLoss KL per token: max |ours - Double reference| \(klWorst); mean KL \(result.klDivergence)")
        XCTAssertLessThan(klWorst, 2e-5)
        XCTAssertGreaterThan(result.klDivergence, 1e-3)
        XCTAssertEqual(result.lossRecovered, (result.zeroAblationLoss - result.splicedLoss)
                       / (result.zeroAblationLoss - result.cleanLoss))
        XCTAssertEqual(result.lossRecoveredVsMeanAblation, (result.meanAblationLoss - result.splicedLoss)
                       / (result.meanAblationLoss - result.cleanLoss))
        XCTAssertGreaterThan(result.lossRecovered, 0)
        XCTAssertLessThan(result.lossRecovered, 1)
    }

    func testPerfectAndZeroReconstructions() throws {
        let model = try TransformerFixture.model()
        let seqs = try sequences(try TransformerFixture.reference()).map { Array($0[0..<40]) }
        let perfect = try ModelLoss.evaluate(model: model, sequences: seqs, hook: hook, batchSize: 2) { $0 }
        XCTAssertEqual(perfect.splicedLossPerToken, perfect.cleanLossPerToken)
        XCTAssertEqual(perfect.lossRecovered, 1)
        XCTAssertEqual(perfect.lossRecoveredVsMeanAblation, 1)
        XCTAssertTrue(perfect.klPerToken.values.allSatisfy { $0 == 0 })
        let zeros = try ModelLoss.evaluate(model: model, sequences: seqs, hook: hook, batchSize: 4) {
            Matrix(rows: $0.rows, cols: $0.cols)
        }
        XCTAssertEqual(zeros.splicedLossPerToken, zeros.zeroAblationLossPerToken)
        XCTAssertEqual(zeros.lossRecovered, 0)
        // Batch size does not change per-token values beyond rounding.
        assertClose(zeros.cleanLossPerToken.values, perfect.cleanLossPerToken.values, atol: 1e-6, rtol: 1e-6, "batching")
        assertClose(zeros.meanAblationLossPerToken.values, perfect.meanAblationLossPerToken.values, atol: 1e-6, rtol: 1e-6, "batching")
        // Codable round trip.
        let data = try JSONEncoder().encode(zeros)
        XCTAssertEqual(try JSONDecoder().decode(ModelLossResult.self, from: data), zeros)
    }

    func testOverDatasetContextsAndErrors() throws {
        let model = try TransformerFixture.model()
        let dataset = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"), vocabSize: 4096)
        let contexts = try dataset.contexts(length: 24, bos: 0)
        let fromContexts = try ModelLoss.evaluate(model: model, contexts: contexts, range: 2..<7, hook: "blocks.0.hook_resid_mid",
                                                  batchSize: 2) { $0 }
        let seqs = try (2..<7).map { try contexts.context($0) }
        let fromSequences = try ModelLoss.evaluate(model: model, sequences: seqs, hook: "blocks.0.hook_resid_mid",
                                                   batchSize: 2) { $0 }
        XCTAssertEqual(fromContexts, fromSequences)
        XCTAssertEqual(fromContexts.klPerToken.rows, 5)
        XCTAssertEqual(fromContexts.klPerToken.cols, 24)
        XCTAssertThrowsError(try ModelLoss.evaluate(model: model, sequences: seqs, hook: "blocks.0.attn.hook_pattern") { $0 })
        XCTAssertThrowsError(try ModelLoss.evaluate(model: model, sequences: seqs, hook: "nope") { $0 })
        XCTAssertThrowsError(try ModelLoss.evaluate(model: model, sequences: seqs, hook: hook) { _ in Matrix(rows: 1, cols: 1) })
        XCTAssertThrowsError(try ModelLoss.evaluate(model: model, contexts: contexts, range: 0..<(contexts.count + 1),
                                                    hook: hook) { $0 })
    }
}
