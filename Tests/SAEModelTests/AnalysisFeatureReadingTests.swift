import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// Reading a feature: logit weights, neuron correlation, prompt view, downstream effect.
final class AnalysisFeatureReadingTests: XCTestCase {
    func testLogitWeightsMatchTheProductInDouble() throws {
        let sae = AnalysisFixture.standardSAE
        let features = [0, 5, 777, 2047]
        let results = try LogitWeights.measure(sae: sae, model: AnalysisFixture.model, tokenizer: AnalysisFixture.tokenizer,
                                               features: features, k: 10)
        let wOut = AnalysisFixture.weight("blocks.0.mlp.W_out"), wU = AnalysisFixture.weight("unembed.W_U")
        for (i, j) in features.enumerated() {
            let d = sae.wDec.row(j)
            let u = (0..<128).map { c in (0..<512).reduce(0.0) { $0 + Double(d[$1]) * Double(wOut[$1, c]) } }
            let logits = (0..<4096).map { v in (0..<128).reduce(0.0) { $0 + u[$1] * Double(wU[$1, v]) } }
            let order = logits.indices.sorted { logits[$0] > logits[$1] }
            let r = results[i]
            XCTAssertEqual(r.feature, j)
            XCTAssertEqual(r.top.map(\.id), order.prefix(10).map { Int32($0) }, "feature \(j) top tokens")
            XCTAssertEqual(r.bottom.map(\.id), order.suffix(10).reversed().map { Int32($0) }, "feature \(j) bottom tokens")
            for t in r.top + r.bottom {
                assertClose(t.value, logits[Int(t.id)], atol: 1e-4, rtol: 1e-4, "logit weight")
                XCTAssertEqual(t.token, AnalysisFixture.tokenizer.decode([t.id]))
            }
        }
        // A direction in W_out's null space moves no logit.
        let wOutT = wOut.transposed()  // rows: W_out's columns, [128, 512]
        var rng = SeededRandom(seed: 8)
        var v = (0..<512).map { _ in Double(rng.normal()) }
        let basis = OrthonormalBasis(spanning: (0..<128).map { c in wOutT.row(c).map(Double.init) }, dimension: 512)
        for q in basis.vectors { let dot = zip(q, v).reduce(0) { $0 + $1.0 * $1.1 }; for i in 0..<512 { v[i] -= dot * q[i] } }
        let null = AnalysisFixture.handBuilt(decoderRows: [v.map { Float($0) }])
        let w = try LogitWeights.weights(sae: null, model: AnalysisFixture.model, features: [0])
        XCTAssertTrue(w.values.allSatisfy { abs($0) < 1e-4 }, "a null-space direction writes no logit (NaN fails too)")
    }

    func testNeuronCorrelationFindsTheNeuronAFeatureReads() throws {
        let (neuron, dIn, dSae) = (17, 512, 4)
        var wEnc = Matrix(rows: dIn, cols: dSae)
        wEnc[neuron, 0] = 1  // f0 = ReLU(x_17)
        wEnc[3, 1] = 2; wEnc[100, 1] = -1  // f1 = ReLU(2 x_3 - x_100)
        let sae = SparseAutoencoder(architecture: .standard, dIn: dIn, dSae: dSae, wEnc: wEnc, bEnc: [0, 0, -100, -100],
                                    wDec: wEnc.transposed(), metadata: SAEMetadata(hookName: AnalysisFixture.hookPost))
        let seqs = AnalysisFixture.sequences(8, length: 64)
        var config = FeatureStatisticsCollector.Configuration()
        config.measureLoss = false
        let collector = try FeatureStatisticsCollector(sae: sae, model: AnalysisFixture.model, configuration: config)
        try collector.add(TokenBatch(Array(seqs[0..<5])))
        try collector.add(TokenBatch(Array(seqs[5...])))
        let result = collector.finish().neuronCorrelation!
        XCTAssertEqual(result.features, [0, 1, 2, 3])
        XCTAssertEqual(result.tokens, 8 * 63)

        // Independent two-pass Pearson in Double over the same tokens.
        let x = try AnalysisFixture.model.run(TokenBatch(seqs), capture: [AnalysisFixture.hookPost]).activations[AnalysisFixture.hookPost]!
        let rows = (0..<x.rows).filter { $0 % 64 != 0 }
        func pearson(_ f: [Double], _ i: Int) -> Double {
            let xs = rows.map { Double(x[$0, i]) }
            let mf = f.reduce(0, +) / Double(f.count), mx = xs.reduce(0, +) / Double(xs.count)
            var sfx = 0.0, sff = 0.0, sxx = 0.0
            for k in 0..<f.count { sfx += (f[k] - mf) * (xs[k] - mx); sff += (f[k] - mf) * (f[k] - mf); sxx += (xs[k] - mx) * (xs[k] - mx) }
            return sfx / (sff * sxx).squareRoot()
        }
        let features: [[Double]] = [rows.map { max(0, Double(x[$0, neuron])) },
                                    rows.map { max(0, 2 * Double(x[$0, 3]) - Double(x[$0, 100])) }]
        for (j, f) in features.enumerated() {
            let all = (0..<dIn).map { pearson(f, $0) }
            let best = all.indices.max { all[$0] < all[$1] }!
            XCTAssertEqual(result.bestNeuron[j], best, "feature \(j)")
            assertClose(Double(result.correlation[j]), all[best], atol: 1e-5, "correlation \(j)")
        }
        XCTAssertEqual(result.bestNeuron[0], neuron)
        XCTAssertGreaterThan(result.correlation[0], 0.8)
        // Features that never fire have no correlation.
        XCTAssertEqual(result.bestNeuron[2], -1)
        XCTAssertTrue(result.correlation[2].isNaN)
    }

    func testPromptViewListsPlantedFeaturesExactlyOnTheirToken() throws {
        let seqs = AnalysisFixture.sequences(4, length: 64)
        let planted = AnalysisFixture.separableFrequentTokens(seqs, count: 2)
        let sae = AnalysisFixture.plantedEmbeddingSAE(tokens: planted, dSae: 5)
        let tokenizer = AnalysisFixture.tokenizer
        let text = tokenizer.decode(Array(seqs[1][1..<60]))
        let view = try PromptView.compute(sae: sae, model: AnalysisFixture.model, tokenizer: tokenizer, text: text, bos: 0)
        let ids = [Int32(0)] + tokenizer.encode(text)
        XCTAssertEqual(view.tokens.map(\.id), ids)
        XCTAssertFalse(view.truncated)
        var seen = 0
        for (i, t) in view.tokens.enumerated() {
            let expected = planted.indices.filter { planted[$0] == ids[i] }
            XCTAssertEqual(t.features.map(\.feature), expected, "token \(i)")
            XCTAssertEqual(t.text, tokenizer.decode([ids[i]]))
            seen += expected.count
        }
        XCTAssertGreaterThan(seen, 0, "the text contains a planted token")
        // A long text is cut to n_ctx.
        let long = try PromptView.compute(sae: sae, model: AnalysisFixture.model, tokenizer: tokenizer,
                                          text: String(repeating: text, count: 4))
        XCTAssertTrue(long.truncated)
        XCTAssertEqual(long.tokens.count, 128)
    }

    func testDownstreamEffectMatchesFullLogitRuns() throws {
        let sae = AnalysisFixture.standardSAE
        let model = AnalysisFixture.model
        let hook = AnalysisFixture.hookPost
        let seqs = AnalysisFixture.sequences(3, length: 48)
        // The feature firing most over these contexts, and one of its positions per context.
        let x = try model.run(TokenBatch(seqs), capture: [hook]).activations[hook]!
        let dense = sae.encode(x)
        var counts = [Int](repeating: 0, count: sae.dSae)
        for r in 0..<dense.rows where r % 48 != 0 { for j in 0..<sae.dSae where dense[r, j] != 0 { counts[j] += 1 } }
        let j = counts.indices.max { counts[$0] < counts[$1] }!
        var examples: [(tokens: [Int32], position: Int, label: Int)] = []
        for b in 0..<3 {
            if let p = (1..<47).first(where: { dense[b * 48 + $0, j] != 0 }) { examples.append((seqs[b], p, b)) }
        }
        XCTAssertFalse(examples.isEmpty)
        let r = try DownstreamEffect.measure(sae: sae, model: model, tokenizer: AnalysisFixture.tokenizer, feature: j,
                                             examples: examples, topTokens: 5)

        // Independent: dense decode with and without feature j, full logits from the model.
        func logProbs(removing: Bool) throws -> Matrix {
            try model.run(TokenBatch(examples.map(\.tokens)), interventions: [hook: { m in
                var f = sae.encode(m)
                if removing { for row in 0..<f.rows { f[row, j] = 0 } }
                m = sae.decode(dense: f)
            }], outputs: .logits).logits!
        }
        let spliced = try logProbs(removing: false), ablated = try logProbs(removing: true)
        func lsm(_ m: Matrix, _ row: Int) -> [Double] {
            let l = m.row(row).map(Double.init)
            let mx = l.max()!
            let lse = mx + log(l.reduce(0) { $0 + exp($1 - mx) })
            return l.map { $0 - lse }
        }
        var meanDelta = [Double](repeating: 0, count: 4096)
        for (i, e) in examples.enumerated() {
            let a = lsm(ablated, i * 48 + e.position), s = lsm(spliced, i * 48 + e.position)
            for v in 0..<4096 { meanDelta[v] += (a[v] - s[v]) / Double(examples.count) }
            let next = Int(e.tokens[e.position + 1])
            XCTAssertEqual(r.examples[i].nextToken, Int32(next))
            assertClose(r.examples[i].nextTokenDelta!, a[next] - s[next], atol: 2e-4, "Δ log p(next)")
        }
        for t in r.mostDecreased + r.mostIncreased { assertClose(t.value, meanDelta[Int(t.id)], atol: 2e-4, "mean Δ") }
        XCTAssertLessThanOrEqual(r.mostDecreased[0].value, r.mostIncreased[0].value)

        // A feature whose decoder row is zero changes nothing at all.
        var silent = sae
        for i in 0..<sae.dIn { silent.wDec[j, i] = 0 }
        let none = try DownstreamEffect.measure(sae: silent, model: model, tokenizer: nil, feature: j, examples: examples)
        XCTAssertTrue(none.examples.allSatisfy { $0.nextTokenDelta == 0 })
        XCTAssertEqual(none.meanNextTokenDelta, 0)
    }
}
