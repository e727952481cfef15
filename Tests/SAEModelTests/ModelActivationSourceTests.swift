import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

final class ModelActivationSourceTests: XCTestCase {
    let hook = "blocks.0.mlp.hook_post"

    func contexts(length: Int = 32) throws -> TokenContexts {
        let dataset = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"), vocabSize: 4096)
        return try dataset.contexts(length: length, bos: 0)
    }

    /// Every row `fill` hands out, asking `chunk` rows at a time.
    func drain(_ source: ModelActivationSource, chunk: Int) throws -> [Float] {
        var out: [Float] = []
        var buffer = [Float](repeating: .nan, count: chunk * source.dIn)
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try source.fill($0.baseAddress!, maxRows: chunk) }
            if n == 0 { break }
            out += buffer[0..<(n * source.dIn)]
        }
        return out
    }

    /// The hook's rows for `indices` from direct runs, one context at a time.
    func direct(_ model: Transformer, _ contexts: TokenContexts, _ indices: [Int], skipBOS: Bool) throws -> [Float] {
        var out: [Float] = []
        for i in indices {
            let m = try model.run(TokenBatch([try contexts.context(i)]), capture: [hook]).activations[hook]!
            for r in (skipBOS ? 1 : 0)..<m.rows { out += m.row(r) }
        }
        return out
    }

    func testRowsEqualTheHookOfADirectForward() throws {
        let model = try TransformerFixture.model()
        let contexts = try contexts()
        let source = try ModelActivationSource(model: model, contexts: contexts, hook: hook, batchSize: 3,
                                               startContext: 4, contextCount: 7)
        XCTAssertEqual(source.dIn, 512)
        let rows = try drain(source, chunk: 50)
        XCTAssertEqual(rows.count, 7 * 32 * 512)
        XCTAssertEqual(source.contextsRun, 7)
        assertClose(rows, try direct(model, contexts, Array(4..<11), skipBOS: false), atol: 1e-5, rtol: 1e-5, "harvested rows")
        XCTAssertEqual(try source.fill(UnsafeMutablePointer<Float>.allocate(capacity: 1), maxRows: 0), 0)
    }

    func testSkippingBOSDropsExactlyPositionZero() throws {
        let model = try TransformerFixture.model()
        let contexts = try contexts()
        let all = try drain(try ModelActivationSource(model: model, contexts: contexts, hook: hook, batchSize: 2,
                                                      contextCount: 5), chunk: 31)
        let source = try ModelActivationSource(model: model, contexts: contexts, hook: hook, batchSize: 2, skipBOS: true,
                                               contextCount: 5)
        XCTAssertEqual(source.rowsPerContext, 31)
        let skipped = try drain(source, chunk: 17)
        var expected: [Float] = []
        for c in 0..<5 {
            for p in 1..<32 { expected += all[((c * 32 + p) * 512)..<((c * 32 + p + 1) * 512)] }
        }
        XCTAssertEqual(skipped, expected)
        XCTAssertEqual(try contexts.context(0)[0], 0)  // position 0 is BOS
    }

    func testWrapAroundAndExhaustion() throws {
        let model = try TransformerFixture.model()
        let contexts = try contexts(length: 16)
        let n = contexts.count
        let wrapped = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_pre",
                                                batchSize: 4, startContext: n - 2, contextCount: 5, wrapAround: true)
        let rows = try drain(wrapped, chunk: 1000)
        let modelRows = try (([n - 2, n - 1, 0, 1, 2]).map { i -> [Float] in
            let m = try model.run(TokenBatch([try contexts.context(i)]), capture: ["blocks.0.hook_resid_pre"])
            return m.activations["blocks.0.hook_resid_pre"]!.values
        }).flatMap { $0 }
        XCTAssertEqual(rows, modelRows)
        XCTAssertEqual(wrapped.nextContext, 3)
        // Without a count or wrap-around, the source ends with the contexts.
        let tail = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_pre",
                                             batchSize: 4, startContext: n - 3)
        XCTAssertEqual(try drain(tail, chunk: 7).count, 3 * 16 * 128)
    }

    func testInvalidArguments() throws {
        let model = try TransformerFixture.model()
        let contexts = try contexts()
        XCTAssertThrowsError(try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.mlp.hook_pst"))
        XCTAssertThrowsError(try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.attn.hook_pattern"))
        XCTAssertThrowsError(try ModelActivationSource(model: model, contexts: contexts, hook: hook, batchSize: 0))
        XCTAssertThrowsError(try ModelActivationSource(model: model, contexts: contexts, hook: hook,
                                                       startContext: contexts.count + 1))
        let long = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin")).contexts(length: 129, bos: 0)
        XCTAssertThrowsError(try ModelActivationSource(model: model, contexts: long, hook: hook))
    }
}

extension ModelActivationSourceTests {
    func testCheckpointResumesAtTheSameRow() throws {
        let model = try TransformerFixture.model()
        let contexts = try contexts(length: 16)
        func make() throws -> ModelActivationSource {
            try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.hook_resid_post", batchSize: 3,
                                      skipBOS: true, startContext: 2, contextCount: 8)
        }
        let whole = try drain(try make(), chunk: 64)
        let first = try make()
        var buffer = [Float](repeating: 0, count: 37 * 128)
        let n = try buffer.withUnsafeMutableBufferPointer { try first.fill($0.baseAddress!, maxRows: 37) }
        XCTAssertEqual(n, 37)
        let state = first.checkpointState()
        XCTAssertEqual(state["context"], "4")  // 37 = 2 * 15 + 7: context 2 + 2, position 1 + 7
        XCTAssertEqual(state["position"], "8")
        let resumed = try make()
        try resumed.restore(checkpointState: state)
        let rest = try drain(resumed, chunk: 10)
        XCTAssertEqual(Array(buffer[0..<(37 * 128)]) + rest, whole)
        XCTAssertThrowsError(try resumed.restore(checkpointState: ["context": "x"]))
    }
}
