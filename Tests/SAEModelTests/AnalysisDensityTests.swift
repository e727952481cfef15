import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// Density, top contexts, loss when firing and the ultra-low cluster on planted features
/// that fire on exactly one token id, checked against counts made directly on the tokens.
final class AnalysisDensityTests: XCTestCase {
    let length = 64
    let count = 24

    func testPlantedFeatureDensityTopContextsAndLossWhenFiring() throws {
        let model = AnalysisFixture.model
        let seqs = AnalysisFixture.sequences(count, length: length)
        let planted = AnalysisFixture.separableFrequentTokens(seqs, count: 3)
        XCTAssertEqual(planted.count, 3)
        let sae = AnalysisFixture.plantedEmbeddingSAE(tokens: planted, dSae: 8)
        var config = FeatureStatisticsCollector.Configuration()
        config.topActivations = 5
        config.samples = 7
        config.threads = 2
        let collector = try FeatureStatisticsCollector(sae: sae, model: model, configuration: config)
        try collector.add(TokenBatch(Array(seqs[0..<10])))
        try collector.add(TokenBatch(Array(seqs[10...])))  // two batches of different sizes
        let stats = collector.finish()

        // Independent: token counts at positions >= 1, losses from a plain run.
        let loss = try model.lossPerToken(TokenBatch(seqs))
        var overallSum = 0.0, overallN = 0
        for b in 0..<count { for p in 1..<(length - 1) { overallSum += Double(loss[b, p]); overallN += 1 } }
        XCTAssertEqual(stats.tokens, count * (length - 1))
        assertClose(stats.overallMeanLoss, overallSum / Double(overallN), atol: 1e-5, "overall loss")

        let density = FeatureDensity.compute(stats)
        let lossWhenFiring = LossWhenFiring.compute(stats, ultraLowThreshold: 1, lowLossRatio: 100)
        for (j, t) in planted.enumerated() {
            var n = 0, lossSum = 0.0, lossN = 0
            for b in 0..<count {
                for p in 1..<length where seqs[b][p] == t {
                    n += 1
                    if p < length - 1 { lossSum += Double(loss[b, p]); lossN += 1 }
                }
            }
            XCTAssertEqual(stats.fireCounts[j], n, "feature \(j) on token \(t)")
            XCTAssertEqual(density.densities[j], Double(n) / Double(count * (length - 1)))
            XCTAssertEqual(lossWhenFiring.lossTokens[j], lossN)
            assertClose(lossWhenFiring.meanLoss[j], lossSum / Double(lossN), atol: 1e-5, "loss when firing \(j)")
            // Top contexts: all on the planted token, largest first, window around it.
            let top = FeatureContexts.build(statistics: stats, feature: j, tokenizer: AnalysisFixture.tokenizer,
                                            before: 3, after: 2)
            XCTAssertEqual(top.top.count, min(5, n))
            for e in top.top {
                XCTAssertEqual(seqs[e.context][e.position], t)
                XCTAssertEqual(e.tokenIds[e.firingIndex], t)
                XCTAssertEqual(e.windowStart, max(0, e.position - 3))
                XCTAssertEqual(e.tokens[e.firingIndex], AnalysisFixture.tokenizer.decode([t]))
                XCTAssertGreaterThan(e.activation, 0)
            }
            // Every firing of a planted feature has the same activation; samples cover every band.
            let samples = stats.sampledActivations(j)
            XCTAssertEqual(samples.count, min(7, n))
            XCTAssertTrue(samples.allSatisfy { seqs[$0.context][$0.position] == t })
            XCTAssertEqual(stats.activationHistogram(j).inRange, n)
            // All three candidates with the generous thresholds.
            XCTAssertTrue(lossWhenFiring.candidates.contains { $0.feature == j })
        }
        XCTAssertEqual(density.dead, 8 - 3)
        XCTAssertEqual(density.histogram.neverFired, 5)
        XCTAssertEqual(density.histogram.histogram.inRange, 3)
        XCTAssertTrue(lossWhenFiring.meanLoss[5].isNaN)
        XCTAssertEqual(lossWhenFiring.buckets.reduce(0) { $0 + $1.features }, 3)
        XCTAssertTrue(LossWhenFiring.compute(stats, ultraLowThreshold: 1, lowLossRatio: 0).candidates.isEmpty)

        // The same pass with one thread gives the same statistics.
        config.threads = 1
        let single = try FeatureStatisticsCollector(sae: sae, model: model, configuration: config)
        try single.add(TokenBatch(seqs))
        let s1 = single.finish()
        XCTAssertEqual(s1.fireCounts, stats.fireCounts)
        XCTAssertEqual(s1.lossSums, stats.lossSums)
        for j in 0..<3 { XCTAssertEqual(s1.topActivations(j), stats.topActivations(j)) }
    }

    /// Three features planted on the same token form an ultra-low cluster (with the
    /// threshold above that token's density): one direction, always firing together.
    func testUltraLowClusterOfFeaturesOnOneToken() throws {
        let seqs = AnalysisFixture.sequences(count, length: length)
        let t = AnalysisFixture.separableFrequentTokens(seqs, count: 12)[11]  // a rarer one
        let sae = AnalysisFixture.plantedEmbeddingSAE(tokens: [t, t, t], dSae: 6)
        var config = FeatureStatisticsCollector.Configuration()
        config.topActivations = 64
        let collector = try FeatureStatisticsCollector(sae: sae, model: AnalysisFixture.model, configuration: config)
        try collector.add(TokenBatch(seqs))
        let stats = collector.finish()
        let d = stats.densities[0]
        XCTAssertGreaterThan(d, 0)
        let density = FeatureDensity.compute(stats, ultraLowThreshold: d * 1.5, highFrequencyThreshold: 0.9)
        XCTAssertEqual(density.ultraLowFeatures, [0, 1, 2])
        let cluster = UltraLowClusterGeometry.measure(sae: sae, statistics: stats, density: density)
        XCTAssertEqual(cluster.features, [0, 1, 2])
        XCTAssertEqual(cluster.encoderFractionAbove, 1)
        XCTAssertEqual(cluster.decoderFractionAbove, 1)
        XCTAssertEqual(cluster.largestCoFiringFraction, 1)
        XCTAssertEqual(cluster.coFiringToken, t)
        // The separate co-firing pass agrees.
        let pass = try UltraLowClusterGeometry.coFiring(sae: sae, model: AnalysisFixture.model,
                                                        contexts: AnalysisFixture.contexts(length: length), range: 0..<count,
                                                        features: [0, 1, 2, 3])
        XCTAssertEqual(pass.fraction, 0.75)
        XCTAssertEqual(pass.token, t)
    }

    func testClusterGeometryOfHandBuiltDirections() {
        // Three features along e0 (scaled), one along e1: the mean of the unit vectors is
        // (3, 1)/sqrt(10), so the e0 features have cosine 3/sqrt(10) ≈ 0.949 < 0.95.
        let sae = AnalysisFixture.handBuilt(decoderRows: [[1, 0, 0], [2, 0, 0], [0.5, 0, 0], [0, 1, 0]])
        let r = UltraLowClusterGeometry.measure(sae: sae, features: [0, 1, 2, 3], firingRows: [[4, 5], [5], [5, 9], [1]],
                                                tokenAtRow: { Int32($0 * 10) })
        for j in 0..<3 { assertClose(r.decoderCosines[j], 3 / 10.0.squareRoot(), atol: 1e-7, "cosine \(j)") }
        assertClose(r.decoderCosines[3], 1 / 10.0.squareRoot(), atol: 1e-7, "cosine 3")
        XCTAssertEqual(r.decoderFractionAbove, 0)
        XCTAssertEqual(UltraLowClusterGeometry.measure(sae: sae, features: [0, 1, 2], cosineThreshold: 0.95).encoderFractionAbove, 1)
        XCTAssertEqual(r.largestCoFiringFraction, 0.75)
        XCTAssertEqual(r.coFiringToken, 50)
    }

    func testDensityGroupsAndLogHistogram() {
        // Densities 0, 1e-5, 1e-4 (not below 1e-4), 1e-3, 0.05 over 100000 tokens.
        let r = FeatureDensity.compute(fireCounts: [0, 1, 10, 100, 5000], tokens: 100_000)
        XCTAssertEqual(r.dead, 1)
        XCTAssertEqual(r.ultraLow, 1)
        XCTAssertEqual(r.ultraLowFeatures, [1])
        XCTAssertEqual(r.highFrequency, 1)
        XCTAssertEqual(r.highFrequencyFeatures, [4])
        let h = r.histogram
        XCTAssertEqual(h.neverFired, 1)
        XCTAssertEqual(h.histogram.lower, -5)
        XCTAssertEqual(h.histogram.upper, 0)
        XCTAssertEqual(h.histogram.bins, 20)
        // log10 values -5, -4, -3, -1.30: bins 0, 4, 8, 14.
        XCTAssertEqual(h.histogram.counts.indices.filter { h.histogram.counts[$0] > 0 }, [0, 4, 8, 14])
        XCTAssertEqual(h.histogram.inRange, 4)
    }

    func testDensityOverTrainingHeatMapRows() {
        let snapshots = FrequencySnapshots([
            (1000, [0, 0.001, 0.001, 0.5]),
            (2000, [0.00002, 0, 0.1, 1]),
        ])
        let r = DensityOverTraining.compute(snapshots: snapshots, binWidth: 1, lower: -5)
        XCTAssertEqual(r.tokens, [1000, 2000])
        XCTAssertEqual(r.binLowerEdges, [-5, -4, -3, -2, -1])
        XCTAssertEqual(r.counts, [[0, 0, 2, 0, 1], [1, 0, 0, 0, 2]])
        XCTAssertEqual(r.neverFired, [1, 1])
        XCTAssertEqual(r.ultraLow, [0, 1])
        XCTAssertEqual(r.highFrequency, [1, 2])
        XCTAssertEqual(DensityOverTraining.compute(snapshots: FrequencySnapshots(tokens: [], frequencies: [])).counts, [])
    }

    func testStreamingStructuresAgainstDirectComputation() {
        var rng = SeededRandom(seed: 2)
        let values = (0..<500).map { _ in rng.uniform() * rng.uniform() * 9 + 0.001 }
        // Heaps keep the largest values.
        var heaps = TopActivationHeaps(features: 1, capacity: 10)
        var hist = ActivationHistograms(features: 1, bins: 8)
        heaps.values.withUnsafeMutableBufferPointer { hv in heaps.rows.withUnsafeMutableBufferPointer { hr in
            hist.counts.withUnsafeMutableBufferPointer { hc in
                for (i, v) in values.enumerated() {
                    TopActivationHeaps.offer(v, row: i, values: hv.baseAddress!, rows: hr.baseAddress!, count: &heaps.count[0], capacity: 10)
                    ActivationHistograms.add(v, counts: hc.baseAddress!, upper: &hist.upper[0], bins: 8)
                }
            }
        }}
        XCTAssertEqual(heaps.sorted(0).map(\.value), Array(values.sorted(by: >).prefix(10)))
        // The doubling histogram counts exactly as a direct one over its final range.
        let h = hist.histogram(0)
        XCTAssertEqual(h.upper, 16)
        XCTAssertEqual(h.counts, Histogram(values, lower: 0, upper: 16, bins: 8).counts)
        // Histogram bins: edges are inclusive below, the last one also above.
        var direct = Histogram(lower: 0, upper: 1, bins: 4)
        for v in [0, 0.25, 0.5, 0.9999, 1, 1.5, -0.1, .nan] { direct.add(v) }
        XCTAssertEqual(direct.counts, [1, 1, 1, 2])
        XCTAssertEqual([direct.below, direct.above, direct.nonFinite], [1, 1, 1])
    }
}
