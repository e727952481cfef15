import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Where the rule of `ExcludedPositions` comes from, that it survives a save and load, and
/// that `ModelLoss` does not splice an excluded position whatever the reconstruction says.
final class ExcludedPositionsTests: XCTestCase {
    func testRuleFromTheSAEMetadata() {
        var m = SAEMetadata()
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 0), .bos, "nothing said: SAELens's run_evals default")
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: nil), ExcludedPositions.none, "no BOS: nothing to leave out")
        m.otherMetadata["exclude_special_tokens"] = .bool(false)
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 0), ExcludedPositions.none, "SAELens trained on BOS")
        m.otherMetadata["exclude_special_tokens"] = .bool(true)
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 0), .bos)
        m.otherMetadata["exclude_special_tokens"] = .array([.integer(50256)])
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 0), ExcludedPositions.none, "a list without this BOS")
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 50256), .bos)
        m.extra[ExcludedPositions.metadataKey] = "none"
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 50256), ExcludedPositions.none, "SAEKit's own key first")
        m.extra[ExcludedPositions.metadataKey] = "bos"
        XCTAssertEqual(ExcludedPositions.rule(metadata: m, bos: 0), .bos)
    }

    func testTheRuleSurvivesSaveAndLoad() throws {
        var sae = saeRandomFullSAE(.topk, dIn: 8, dSae: 16, k: 2, seed: 3)
        sae.metadata.extra[ExcludedPositions.metadataKey] = "none"
        let dir = ScratchDirectory("saekit-excluded")
        defer { dir.remove() }
        try sae.save(to: dir.url)
        let cfg = try String(contentsOf: dir.file("cfg.json"), encoding: .utf8)
        XCTAssertTrue(cfg.contains("\"excluded_positions\": \"none\"") || cfg.contains("\"excluded_positions\":\"none\""), cfg)
        let loaded = try SparseAutoencoder.load(from: dir.url)
        XCTAssertEqual(ExcludedPositions.rule(metadata: loaded.metadata, bos: 0), ExcludedPositions.none)
    }

    func testModelLossKeepsTheCleanValueAtAnExcludedPosition() throws {
        let model = try Transformer(contentsOf: Fixtures.model)
        let seqs: [[Int32]] = [[0, 5, 9, 200, 31, 7], [0, 44, 1, 2, 3, 4]]
        let hook = "blocks.0.mlp.hook_post"
        // A "reconstruction" that only touches position 0: excluded, it changes nothing.
        let wreckFirst: (Matrix) -> Matrix = { x in
            var y = x
            y.withUnsafeMutableBufferPointer { p in for r in stride(from: 0, to: x.rows, by: 6) { for j in 0..<x.cols { p[r * x.cols + j] = 100 } } }
            return y
        }
        let kept = try ModelLoss.evaluate(model: model, sequences: seqs, hook: hook, excluded: .bos, reconstruct: wreckFirst)
        XCTAssertEqual(kept.splicedLossPerToken, kept.cleanLossPerToken, "not spliced at BOS")
        XCTAssertEqual(kept.klDivergence, 0)
        XCTAssertEqual(kept.tokens, 2 * 4, "the prediction made at BOS left out")
        XCTAssertEqual(kept.excludedPositions, .bos)
        let all = try ModelLoss.evaluate(model: model, sequences: seqs, hook: hook, reconstruct: wreckFirst)
        XCTAssertNotEqual(all.splicedLossPerToken, all.cleanLossPerToken, "spliced at BOS when nothing is excluded")
        XCTAssertEqual(all.tokens, 2 * 5)
        // The means leave out column 0 of the per-token grids.
        let grid = kept.cleanLossPerToken
        let byHand = (0..<2).reduce(0.0) { s, r in (1..<5).reduce(s) { $0 + Double(grid[r, $1]) } } / 8
        XCTAssertEqual(kept.cleanLoss, byHand, accuracy: 1e-12)
        XCTAssertThrowsError(try ModelLoss.evaluate(model: model, sequences: [[0, 5]], hook: hook, excluded: .bos) { $0 },
                             "two tokens leave no prediction once BOS is left out")
    }
}
