import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// tiny-gelu-1l against TransformerLens (`reference.safetensors`). Tolerance, elementwise:
/// `|ours - reference| <= 1e-4 + 1e-4 * |reference|` (`assertClose`).
final class TransformerParityTests: XCTestCase {
    let tol = 1e-4
    static let hooks = [
        "hook_embed", "hook_pos_embed", "blocks.0.ln1.hook_normalized", "blocks.0.attn.hook_pattern",
        "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.ln2.hook_normalized",
        "blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
        "blocks.0.hook_resid_post", "ln_final.hook_normalized",
    ]

    func testConfigOfTheFixture() throws {
        let c = try TransformerConfig(contentsOf: TransformerFixture.folder.appendingPathComponent("config.json"))
        XCTAssertEqual(c, TransformerConfig(nLayers: 1, dModel: 128, nHeads: 4, dHead: 32, dMLP: 512, dVocab: 4096,
                                            nCtx: 128, activation: .gelu, normalization: .layerNorm, eps: 1e-5))
    }

    func testEveryHookMatchesTransformerLens() throws {
        let model = try TransformerFixture.model()
        let reference = try TransformerFixture.reference()
        let tokens = try TransformerFixture.tokens(reference)
        for threads in [1, 2] {
            let run = try model.run(tokens, capture: Set(Self.hooks), outputs: [.lossPerToken, .logits], threads: threads)
            var report: [String] = []
            for name in Self.hooks {
                let value = try XCTUnwrap(run.activations[name], name)
                XCTAssertEqual(run.shape(of: name), try reference.info(name).shape, name)
                let e = assertClose(value.values, try reference.floats(name), atol: tol, rtol: tol, name)
                report.append("\(name) \(e)")
            }
            let loss = try XCTUnwrap(run.lossPerToken)
            XCTAssertEqual([loss.rows, loss.cols], [4, 127])
            report.append("loss_per_token \(assertClose(loss.values, try reference.floats("loss_per_token"), atol: tol, rtol: tol, "loss"))")
            let logits = try XCTUnwrap(run.logits)
            let seq0 = Array(logits.values[0..<(128 * 4096)])
            report.append("logits_seq0 \(assertClose(seq0, try reference.floats("logits_seq0"), atol: tol, rtol: tol, "logits_seq0"))")
            print("parity (threads \(threads)), max |a-b|/max(1,|b|): " + report.joined(separator: ", "))
        }
    }

    func testChunkedLossMatchesLossFromFullLogits() throws {
        let model = try TransformerFixture.model()
        let reference = try TransformerFixture.reference()
        let tokens = try TransformerFixture.tokens(reference)
        let chunked = try model.lossPerToken(tokens, threads: 2)
        let e = assertClose(chunked.values, try reference.floats("loss_per_token"), atol: tol, rtol: tol, "chunked loss")
        print("chunked loss_per_token largest error / tolerance \(e)")
        let both = try model.run(tokens, outputs: [.lossPerToken, .logits], threads: 1)
        assertClose(chunked.values, both.lossPerToken!.values, atol: 1e-5, rtol: 1e-5, "chunked vs full")
    }

    func testZeroAblatedMLPMatchesTransformerLens() throws {
        let model = try TransformerFixture.model()
        let reference = try TransformerFixture.reference()
        let tokens = try TransformerFixture.tokens(reference)
        let run = try model.run(tokens, interventions: ["blocks.0.mlp.hook_post": { m in
            m = Matrix(rows: m.rows, cols: m.cols)
        }], outputs: .lossPerToken)
        let e = assertClose(run.lossPerToken!.values, try reference.floats("loss_per_token_mlp_zero_ablated"),
                            atol: tol, rtol: tol, "zero-ablated loss")
        print("loss_per_token_mlp_zero_ablated largest error / tolerance \(e)")
        // The ablation matters: the clean loss is lower on average.
        let clean = try reference.floats("loss_per_token").reduce(0, +)
        XCTAssertLessThan(clean, run.lossPerToken!.values.reduce(0, +))
    }

    func testStopAfterReturnsTheSameValuesAsAFullRun() throws {
        let model = try TransformerFixture.model()
        let reference = try TransformerFixture.reference()
        let tokens = try TransformerFixture.tokens(reference)
        let full = try model.run(tokens, capture: ["blocks.0.mlp.hook_post"], outputs: .lossPerToken)
        let stopped = try model.run(tokens, capture: ["blocks.0.mlp.hook_post"], stopAfter: "blocks.0.mlp.hook_post")
        XCTAssertNil(stopped.lossPerToken)
        XCTAssertEqual(full.activations["blocks.0.mlp.hook_post"], stopped.activations["blocks.0.mlp.hook_post"])
        // No outputs and no stopAfter: stops after the last captured hook.
        let implicit = try model.run(tokens, capture: ["blocks.0.mlp.hook_post"])
        XCTAssertEqual(implicit.activations, stopped.activations)
    }
}
