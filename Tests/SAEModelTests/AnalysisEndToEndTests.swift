import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// `FeatureAnalysis.run` on the fixture's standard SAE: every part present and consistent,
/// and the JSON round trip.
final class AnalysisEndToEndTests: XCTestCase {
    func testFullRunOnTheFixtureSAE() throws {
        let start = Date()
        let r = AnalysisFixture.fullRun
        print("FeatureAnalysis.run on the fixture: \(String(format: "%.2f", Date().timeIntervalSince(start))) s (0 if cached)")
        let sae = AnalysisFixture.standardSAE
        XCTAssertEqual(r.subject.hook, AnalysisFixture.hookPost)
        XCTAssertEqual(r.subject.contexts, 64)
        XCTAssertEqual(r.subject.contextLength, 128)
        XCTAssertEqual(r.subject.tokens, 64 * 127)
        XCTAssertEqual(r.density.densities.count, sae.dSae)
        XCTAssertEqual(r.density.dead + r.density.histogram.histogram.inRange, sae.dSae)
        XCTAssertEqual(r.summary.dead, r.density.dead)
        let q = r.summary.quality
        XCTAssertGreaterThan(q.l0, 1)
        XCTAssertGreaterThan(q.explainedVariance, 0.3)
        XCTAssertLessThan(q.explainedVariance, 1)
        XCTAssertGreaterThan(q.lossRecovered, 0.3)
        XCTAssertLessThanOrEqual(q.cleanLoss, q.splicedLoss)
        // L0 is the mean density sum: each firing is counted once in both.
        assertClose(q.l0, r.density.densities.reduce(0, +), atol: 1e-9, "L0 = Σ density")
        XCTAssertEqual(r.decoderSparsity.fveTop1.count, sae.dSae)
        XCTAssertEqual(r.kurtosis.kurtosis.count, sae.dSae)
        XCTAssertEqual(r.nullSpace?.rank, 128)
        XCTAssertEqual(r.positions.contextLength, 128)
        XCTAssertNil(r.positions.beyondTrainingContextFrom, "n_ctx 128 allows no longer context")
        XCTAssertEqual(r.densityOverTraining?.counts.count, 6)
        XCTAssertNotNil(r.crossRun)
        XCTAssertEqual(r.neuronCorrelation?.features.count, sae.dSae)
        XCTAssertEqual(r.pruning?.baseline, q)
        XCTAssertEqual(r.pruning?.removed, r.density.highFrequencyFeatures)
        XCTAssertEqual(r.features.count, 6)
        XCTAssertTrue(r.skipped.isEmpty, "\(r.skipped)")
        let prompt = try XCTUnwrap(r.promptView)
        XCTAssertEqual(prompt.tokens.first?.id, 0, "BOS first")
        for card in r.features {
            XCTAssertGreaterThan(card.density, 0)
            XCTAssertFalse(card.contexts.top.isEmpty)
            let top = card.contexts.top[0]
            XCTAssertEqual(top.activation, card.maxActivation)
            let recomputed = try XCTUnwrap(top.activations?[top.firingIndex], "window activations recomputed")
            assertClose(Double(recomputed), Double(top.activation), atol: 1e-5, rtol: 1e-5, "recomputed activation")
            XCTAssertEqual(card.logitWeights?.top.count, 10)
            XCTAssertNotNil(card.downstream)
            XCTAssertNotNil(card.bestNeuron)
            XCTAssertEqual(card.activationHistogram.inRange, Int((card.density * Double(r.subject.tokens)).rounded()))
        }

        // JSON: NaN-safe and a faithful round trip.
        let dir = ScratchDirectory("saekit-analysis")
        defer { dir.remove() }
        try ReportWriter.write(r, to: dir.url)
        XCTAssertEqual(dir.contents(), ["analysis.json", "report.html"], "no temporary files left")
        let back = try AnalysisJSON.read(AnalysisResult.self, from: dir.file("analysis.json"))
        XCTAssertEqual(back.summary, r.summary)
        XCTAssertEqual(back.density, r.density)
        XCTAssertEqual(back.features.map(\.feature), r.features.map(\.feature))
        let text = try String(contentsOf: dir.file("analysis.json"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"NaN\"") || !r.lossWhenFiring.meanLoss.contains { $0.isNaN })
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)), "valid JSON")
    }

    func testCardChoiceSpansTheDensityRange() {
        XCTAssertEqual(FeatureAnalysis.chooseCardFeatures([0, 5, 1, 9, 0, 3], count: 3), [3, 1, 2])
        XCTAssertEqual(FeatureAnalysis.chooseCardFeatures([0, 2, 1], count: 8), [1, 2])
        XCTAssertEqual(FeatureAnalysis.chooseCardFeatures([0, 0], count: 3), [])
    }

    /// An SAE trained on 64-token contexts: the main pass uses 64 tokens, quality by
    /// position runs over the model's whole n_ctx (128) and marks where the SAE's context ends.
    func testShortContextSAEGetsPositionsBeyondItsContext() throws {
        var sae = AnalysisFixture.topkSAE
        sae.metadata.contextSize = 64
        var o = FeatureAnalysisOptions()
        o.contexts = 8
        o.positionContexts = 4
        o.cardCount = 1
        o.downstreamContexts = 0
        o.prune = false
        let r = try FeatureAnalysis.run(sae: sae, model: AnalysisFixture.model, tokenizer: AnalysisFixture.tokenizer,
                                        tokens: AnalysisFixture.dataset, options: o)
        XCTAssertEqual(r.subject.contextLength, 64)
        XCTAssertEqual(r.subject.tokens, 8 * 63)
        XCTAssertEqual(r.positions.contextLength, 128)
        XCTAssertEqual(r.positions.contexts, 4)
        XCTAssertEqual(r.positions.beyondTrainingContextFrom, 64)
        XCTAssertNil(r.pruning)
        XCTAssertEqual(r.features.count, 1)
        XCTAssertNil(r.features[0].downstream)
        // TopK: exactly k active features per token.
        assertClose(r.summary.quality.l0, 32, atol: 1e-9, "topk L0")
        XCTAssertEqual(ReportHTMLCheck.problems(ReportWriter.html(r)), [])
        XCTAssertTrue(ReportWriter.html(r).contains("SAE context ends"))
    }

    func testCollectorRefusesAHookOfAnotherWidth() {
        let sae = AnalysisFixture.plantedEmbeddingSAE(tokens: [], dSae: 4)  // d_in 128
        XCTAssertThrowsError(try FeatureStatisticsCollector(sae: sae, model: AnalysisFixture.model, hook: AnalysisFixture.hookPost)) { e in
            guard case AnalysisError.shapeMismatch = e else { return XCTFail("\(e)") }
        }
    }

    func testRunRefusesAnEmptyBudget() {
        var o = FeatureAnalysisOptions()
        o.startContext = 1_000_000
        XCTAssertThrowsError(try FeatureAnalysis.run(sae: AnalysisFixture.standardSAE, model: AnalysisFixture.model,
                                                     tokenizer: nil, tokens: AnalysisFixture.dataset, options: o))
    }
}
