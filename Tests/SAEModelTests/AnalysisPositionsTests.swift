import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// Quality by position, against `ModelLoss` and direct sums; pruning the spike.
final class AnalysisPositionsTests: XCTestCase {
    func testQualityByPositionAgreesWithModelLossAndDirectSums() throws {
        var sae = AnalysisFixture.standardSAE
        sae.metadata.contextSize = 32  // pretend it was trained on 32-token contexts
        let model = AnalysisFixture.model
        let seqs = AnalysisFixture.sequences(6, length: 64)
        let p = try PositionQuality.measure(sae: sae, model: model, sequences: seqs, batchSize: 4)
        XCTAssertEqual(p.contextLength, 64)
        XCTAssertEqual(p.contexts, 6)
        XCTAssertEqual(p.beyondTrainingContextFrom, 32)
        XCTAssertEqual(p.mse.count, 64)
        XCTAssertEqual(p.lossRecovered.count, 63)

        // Losses against ModelLoss (a different code path: blocked unembedding, KL pass), with
        // the same rule: BOS (position 0) not spliced.
        let ml = try ModelLoss.evaluate(model: model, sequences: seqs, hook: AnalysisFixture.hookPost, batchSize: 6,
                                        excluded: .bos) {
            sae.reconstruct($0).reconstruction
        }
        for pos in [0, 1, 31, 62] {
            let column = { (g: TokenGrid) in (0..<6).reduce(0.0) { $0 + Double(g[$1, pos]) } / 6 }
            assertClose(p.cleanLoss[pos], column(ml.cleanLossPerToken), atol: 1e-4, "clean \(pos)")
            assertClose(p.splicedLoss[pos], column(ml.splicedLossPerToken), atol: 1e-4, "spliced \(pos)")
            assertClose(p.zeroAblationLoss[pos], column(ml.zeroAblationLossPerToken), atol: 1e-4, "zero \(pos)")
        }
        XCTAssertEqual(p.splicedLoss[0], p.cleanLoss[0], "not spliced at BOS: the prediction made there is the clean one")
        // MSE, explained variance and L0 at a position, directly.
        let x = try model.run(TokenBatch(seqs), capture: [AnalysisFixture.hookPost]).activations[AnalysisFixture.hookPost]!
        let (codes, xHat) = sae.reconstruct(x)
        for pos in [0, 7, 63] {
            let rows = (0..<6).map { $0 * 64 + pos }
            var se = 0.0, l0 = 0.0
            var mean = [Double](repeating: 0, count: 512)
            for r in rows { for i in 0..<512 { mean[i] += Double(x[r, i]) / 6 } }
            var tss = 0.0
            for r in rows {
                for i in 0..<512 {
                    let e = Double(x[r, i]) - Double(xHat[r, i]); se += e * e
                    let c = Double(x[r, i]) - mean[i]; tss += c * c
                }
                l0 += Double(codes.offsets[r + 1] - codes.offsets[r]) / 6
            }
            assertClose(p.mse[pos], se / (6 * 512), atol: 0, rtol: 1e-9, "mse \(pos)")
            if pos == 0 {
                XCTAssertTrue(p.explainedVariance[0].isNaN, "BOS activations do not vary: no explained variance")
            } else {
                assertClose(p.explainedVariance[pos], 1 - se / tss, atol: 1e-8, "ev \(pos)")
            }
            assertClose(p.l0[pos], l0, atol: 1e-12, "l0 \(pos)")
        }
        // Contexts longer than n_ctx are refused.
        XCTAssertThrowsError(try PositionQuality.measure(sae: sae, model: model, sequences: [[Int32](repeating: 1, count: 129)]))
    }

    func testPruningThatRemovesNothingLeavesEveryMetricUnchanged() throws {
        let sae = AnalysisFixture.standardSAE
        let seqs = AnalysisFixture.sequences(8, length: 48)
        let densities = [Double](repeating: 0.01, count: sae.dSae)
        let none = try HighFrequencyPruning.measure(sae: sae, model: AnalysisFixture.model, densities: densities,
                                                    threshold: 0.5, sequences: seqs, batchSize: 3)
        XCTAssertEqual(none.removed, [])
        XCTAssertEqual(none.pruned, none.baseline)
        XCTAssertEqual(none.baseline.tokens, 8 * 47)
        XCTAssertEqual(none.baseline.predictedTokens, 8 * 46, "the prediction made at BOS is left out")
        XCTAssertGreaterThan(none.baseline.lossRecovered, 0.5)

        // Removing the most frequent features lowers L0 and raises MSE.
        var config = FeatureStatisticsCollector.Configuration()
        config.measureLoss = false
        config.correlationFeatures = []
        let collector = try FeatureStatisticsCollector(sae: sae, model: AnalysisFixture.model, configuration: config)
        try collector.add(TokenBatch(seqs))
        let stats = collector.finish()
        let d = stats.densities
        let threshold = d.sorted(by: >)[5]
        let pruned = try HighFrequencyPruning.measure(sae: sae, model: AnalysisFixture.model, densities: d,
                                                      threshold: threshold, sequences: seqs, batchSize: 8,
                                                      baseline: none.baseline)
        XCTAssertEqual(pruned.removed.count, 5)
        XCTAssertEqual(pruned.baseline, none.baseline)
        let removedFiring = pruned.removed.reduce(0) { $0 + stats.fireCounts[$1] }
        assertClose(pruned.pruned.l0, none.baseline.l0 - Double(removedFiring) / Double(stats.tokens), atol: 1e-9, "L0 after pruning")
        XCTAssertGreaterThan(pruned.pruned.mse, none.baseline.mse)
        XCTAssertEqual(pruned.pruned.cleanLoss, none.baseline.cleanLoss)
    }
}
