import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// Random-weight models against the naive Double twin, the causal property, hooks and
/// interventions. Tolerance against the twin: `|ours - naive| <= 1e-4 + 1e-4 * |naive|`.
final class TransformerModelTests: XCTestCase {
    let tol = 1e-4

    func testRandomModelsMatchTheNaiveTwinForEveryVariant() throws {
        for activation in TransformerConfig.ActivationFunction.allCases {
            for normalization in TransformerConfig.Normalization.allCases {
                let config = TransformerFixture.smallConfig(layers: 2, activation: activation, normalization: normalization)
                let model = Transformer(randomWeightsFor: config, seed: 7)
                let tokens = TransformerFixture.randomTokens(batch: 3, seq: 21, vocab: config.dVocab, seed: 11)
                let naive = NaiveTransformer.forward(model, tokens)
                let run = try model.run(tokens, capture: Set(model.hookNames), outputs: [.lossPerToken, .logits], threads: 2)
                let label = "\(activation.rawValue)/\(normalization.rawValue)"
                var worst = 0.0
                for name in model.hookNames {
                    let value = try XCTUnwrap(run.activations[name], name)
                    worst = max(worst, assertClose(value.values, naive.hooks[name]!.map(Float.init), atol: tol, rtol: tol, "\(label) \(name)"))
                }
                worst = max(worst, assertClose(run.lossPerToken!.values, naive.loss.map(Float.init), atol: tol, rtol: tol, "\(label) loss"))
                worst = max(worst, assertClose(run.logits!.values, naive.logits.map(Float.init), atol: tol, rtol: tol, "\(label) logits"))
                let chunked = try model.lossPerToken(tokens, threads: 2)
                worst = max(worst, assertClose(chunked.values, naive.loss.map(Float.init), atol: tol, rtol: tol, "\(label) chunked loss"))
                print("random 2-layer \(label): largest error / tolerance vs naive \(worst)")
            }
        }
    }

    func testShapesOfEveryHook() throws {
        let config = TransformerFixture.smallConfig(layers: 2)
        let model = Transformer(randomWeightsFor: config, seed: 1)
        XCTAssertEqual(model.hookNames.count, 2 + 10 * 2 + 1)
        XCTAssertEqual(model.hookNames.first, "hook_embed")
        XCTAssertEqual(model.hookNames.last, "ln_final.hook_normalized")
        let tokens = TransformerFixture.randomTokens(batch: 2, seq: 9, vocab: config.dVocab, seed: 2)
        let run = try model.run(tokens, capture: Set(model.hookNames), outputs: [.lossPerToken, .logits])
        for name in model.hookNames {
            let m = try XCTUnwrap(run.activations[name])
            if name.hasSuffix("hook_pattern") {
                XCTAssertEqual(run.shape(of: name), [2, 3, 9, 9])
                XCTAssertEqual([m.rows, m.cols], [2 * 3 * 9, 9])
            } else {
                let width = try XCTUnwrap(try model.hookWidth(name))
                XCTAssertEqual(width, name.contains("mlp.hook_") ? 96 : 48, name)
                XCTAssertEqual(run.shape(of: name), [2, 9, width], name)
                XCTAssertEqual([m.rows, m.cols], [18, width], name)
            }
        }
        XCTAssertEqual([run.lossPerToken!.rows, run.lossPerToken!.cols], [2, 8])
        XCTAssertEqual([run.logits!.rows, run.logits!.cols], [18, 97])
        // Patterns: rows sum to 1, zero above the diagonal.
        let pattern = run.activations["blocks.1.attn.hook_pattern"]!
        for r in 0..<pattern.rows {
            let q = r % 9
            let row = pattern.row(r)
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertTrue(row[(q + 1)...].allSatisfy { $0 == 0 })
        }
        // A single token: an empty loss.
        let one = try model.lossPerToken(TokenBatch([[3], [4]]))
        XCTAssertEqual([one.rows, one.cols], [2, 0])
    }

    func testCausality() throws {
        let config = TransformerFixture.smallConfig(layers: 2)
        let model = Transformer(randomWeightsFor: config, seed: 3)
        let seq = 30, changed = 17
        let a = TransformerFixture.randomTokens(batch: 2, seq: seq, vocab: config.dVocab, seed: 4)
        var ids = a.ids
        for b in 0..<2 { ids[b * seq + changed] = (ids[b * seq + changed] + 5) % Int32(config.dVocab) }
        let bTokens = TokenBatch(ids: ids, batch: 2, seq: seq)
        let hooks = Set(model.hookNames)
        let ra = try model.run(a, capture: hooks, outputs: [.lossPerToken, .logits], threads: 2)
        let rb = try model.run(bTokens, capture: hooks, outputs: [.lossPerToken, .logits], threads: 2)
        for name in hooks where !name.hasSuffix("hook_pattern") {
            let ma = ra.activations[name]!, mb = rb.activations[name]!
            for b in 0..<2 {
                for s in 0..<seq {
                    let same = ma.row(b * seq + s) == mb.row(b * seq + s)
                    if s < changed { XCTAssertTrue(same, "\(name) [\(b), \(s)] changed") }
                    if s == changed && name != "hook_pos_embed" { XCTAssertFalse(same, "\(name) [\(b), \(s)] unchanged") }
                }
            }
        }
        let pa = ra.activations["blocks.1.attn.hook_pattern"]!, pb = rb.activations["blocks.1.attn.hook_pattern"]!
        for r in 0..<pa.rows where r % seq < changed { XCTAssertEqual(pa.row(r), pb.row(r)) }
        let la = ra.lossPerToken!, lb = rb.lossPerToken!
        for b in 0..<2 {
            for i in 0..<(changed - 1) { XCTAssertEqual(la[b, i], lb[b, i]) }
            XCTAssertNotEqual(la[b, changed - 1], lb[b, changed - 1])  // the target changed
        }
    }

    func testThreadCountDoesNotChangeResults() throws {
        let config = TransformerFixture.smallConfig(layers: 2)
        let model = Transformer(randomWeightsFor: config, seed: 5)
        let tokens = TransformerFixture.randomTokens(batch: 5, seq: 33, vocab: config.dVocab, seed: 6)
        let one = try model.run(tokens, capture: Set(model.hookNames), outputs: .lossPerToken, threads: 1)
        let two = try model.run(tokens, capture: Set(model.hookNames), outputs: .lossPerToken, threads: 2)
        XCTAssertEqual(one.activations, two.activations)
        XCTAssertEqual(one.lossPerToken, two.lossPerToken)
    }

    func testRandomWeightsAreSeeded() {
        let config = TransformerFixture.smallConfig(layers: 1)
        let a = Transformer(randomWeightsFor: config, seed: 9), b = Transformer(randomWeightsFor: config, seed: 9)
        let c = Transformer(randomWeightsFor: config, seed: 10)
        XCTAssertEqual(a.weights.blocks[0].inWeight, b.weights.blocks[0].inWeight)
        XCTAssertEqual(a.weights.unembedding, b.weights.unembedding)
        XCTAssertNotEqual(a.weights.blocks[0].inWeight, c.weights.blocks[0].inWeight)
    }

    // MARK: - Interventions and hook validation

    func testInterventionsReplaceValuesAndTheRunGoesOn() throws {
        let config = TransformerFixture.smallConfig(layers: 2)
        let model = Transformer(randomWeightsFor: config, seed: 12)
        let tokens = TransformerFixture.randomTokens(batch: 2, seq: 12, vocab: config.dVocab, seed: 13)
        let clean = try model.run(tokens, capture: Set(model.hookNames), outputs: .lossPerToken)
        // Identity interventions at every hook (including the pattern) change nothing.
        var identity: [String: HookIntervention] = [:]
        for name in model.hookNames { identity[name] = { m in m = MatrixAccess.copy(m) } }
        let same = try model.run(tokens, capture: Set(model.hookNames), interventions: identity, outputs: .lossPerToken)
        XCTAssertEqual(same.activations, clean.activations)
        XCTAssertEqual(same.lossPerToken, clean.lossPerToken)
        // Replacing blocks.0.mlp.hook_post by zeros: the capture shows the replaced value and
        // hook_mlp_out becomes b_out on every row.
        let zeroed = try model.run(tokens, capture: ["blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out"],
                                   interventions: ["blocks.0.mlp.hook_post": { m in
                                       m.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                                   }], outputs: .lossPerToken)
        XCTAssertTrue(zeroed.activations["blocks.0.mlp.hook_post"]!.values.allSatisfy { $0 == 0 })
        let bOut = model.weights.blocks[0].mlpOutBias.values
        for r in 0..<24 { XCTAssertEqual(zeroed.activations["blocks.0.hook_mlp_out"]!.row(r), bOut) }
        XCTAssertNotEqual(zeroed.lossPerToken, clean.lossPerToken)
        // Splicing a layer-1 residual in at layer 0's resid_post gives layer 1's values again.
        let spliced = try model.run(tokens, capture: ["blocks.1.hook_resid_post"],
                                    interventions: ["blocks.1.hook_resid_pre": { m in
                                        m = clean.activations["blocks.1.hook_resid_pre"]!
                                    }])
        XCTAssertEqual(spliced.activations["blocks.1.hook_resid_post"], clean.activations["blocks.1.hook_resid_post"])
        // An intervention at ln2.hook_normalized (xhat) goes through w and b: doubling xhat
        // changes mlp.hook_pre to (2 xhat w + b) W_in + b_in.
        let doubled = try model.run(tokens, capture: ["blocks.0.mlp.hook_pre"], interventions: [
            "blocks.0.ln2.hook_normalized": { m in m.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] *= 2 } } }])
        let xhat = clean.activations["blocks.0.ln2.hook_normalized"]!
        let w = model.weights.blocks[0]
        var expected = [Float]()
        for r in 0..<xhat.rows {
            for j in 0..<config.dMLP {
                var s = w.inBias[0, j]
                for k in 0..<config.dModel { s += (2 * xhat[r, k] * w.ln2Weight![0, k] + w.ln2Bias![0, k]) * w.inWeight[k, j] }
                expected.append(s)
            }
        }
        assertClose(doubled.activations["blocks.0.mlp.hook_pre"]!.values, expected, atol: 1e-5, rtol: 1e-5, "xhat intervention")
        // A uniform causal pattern in block 0 changes z and everything after it.
        let uniform = try model.run(tokens, capture: ["blocks.0.hook_attn_out"], interventions: [
            "blocks.0.attn.hook_pattern": { m in
                for r in 0..<m.rows { let q = r % 12; for k in 0...q { m[r, k] = 1 / Float(q + 1) } }
            }])
        XCTAssertNotEqual(uniform.activations["blocks.0.hook_attn_out"], clean.activations["blocks.0.hook_attn_out"])
        // Row 0 of each sequence sees one key whatever the pattern: unchanged.
        XCTAssertEqual(uniform.activations["blocks.0.hook_attn_out"]!.row(0), clean.activations["blocks.0.hook_attn_out"]!.row(0))
    }

    func testHookNamesAreValidated() throws {
        let model = Transformer(randomWeightsFor: TransformerFixture.smallConfig(layers: 2), seed: 1)
        let tokens = TokenBatch([[1, 2, 3]])
        for bad in ["blocks.2.mlp.hook_post", "blocks.0.mlp.hook_mid", "hook_resid_pre", "blocks.00.hook_resid_pre", ""] {
            XCTAssertThrowsError(try model.run(tokens, capture: [bad])) { error in
                guard case let TransformerError.unknownHook(name, valid) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(name, bad)
                XCTAssertEqual(valid, model.hookNames)
                XCTAssertTrue("\(error)".contains("blocks.1.mlp.hook_post"))
            }
        }
        XCTAssertThrowsError(try model.run(tokens, interventions: ["nope": { _ in }]))
        XCTAssertThrowsError(try model.run(tokens, stopAfter: "nope"))
        XCTAssertThrowsError(try model.run(tokens, stopAfter: "blocks.0.mlp.hook_post", outputs: .lossPerToken)) {
            guard case TransformerError.invalidRequest = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try model.run(tokens, capture: ["blocks.1.hook_resid_pre"], stopAfter: "blocks.0.mlp.hook_post")) {
            XCTAssertTrue("\($0)".contains("blocks.1.hook_resid_pre"))
        }
        XCTAssertThrowsError(try model.run(tokens, interventions: ["blocks.0.hook_resid_mid": { m in m = Matrix(rows: 1, cols: 1) }],
                                           outputs: .lossPerToken)) {
            XCTAssertEqual($0 as? TransformerError,
                           .interventionChangedShape(hook: "blocks.0.hook_resid_mid", expected: [3, 48], found: [1, 1]))
        }
    }

    func testTokensAreValidated() throws {
        let model = Transformer(randomWeightsFor: TransformerFixture.smallConfig(layers: 1), seed: 1)
        XCTAssertThrowsError(try model.lossPerToken(TokenBatch([[1, 97]]))) {
            XCTAssertTrue("\($0)".contains("97"), "\($0)")
        }
        XCTAssertThrowsError(try model.lossPerToken(TokenBatch(ids: [Int32](repeating: 1, count: 41), batch: 1, seq: 41))) {
            XCTAssertTrue("\($0)".contains("n_ctx 40"), "\($0)")
        }
    }
}
