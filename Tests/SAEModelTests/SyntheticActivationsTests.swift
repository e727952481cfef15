import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

final class SyntheticActivationsTests: XCTestCase {
    let config = SyntheticActivations.Configuration(dIn: 32, nTrue: 256, targetL0: 6, powerLawExponent: 1.2,
                                                    minProbability: 1e-4, maxProbability: 0.3, seed: 17)

    func testProbabilitiesFollowTheClampedPowerLaw() {
        let gen = SyntheticActivations(config)
        let p = gen.probabilities
        XCTAssertEqual(p.count, 256)
        XCTAssertEqual(gen.expectedL0, 6, accuracy: 1e-6)
        XCTAssertEqual(p.reduce(0.0) { $0 + Double($1) }, 6, accuracy: 1e-4)
        for i in 1..<p.count { XCTAssertLessThanOrEqual(p[i], p[i - 1]) }
        XCTAssertEqual(p[0], 0.3, accuracy: 1e-7, "the most frequent features hit maxProbability")
        XCTAssertTrue(p.allSatisfy { $0 >= 1e-4 - 1e-9 && $0 <= 0.3 + 1e-7 })
        // Between the clamps the ratio is the power law: p_i / p_j = ((j+1)/(i+1))^α.
        let (i, j) = (20, 40)
        XCTAssert(p[i] < 0.3 && p[j] > 1e-4)
        XCTAssertEqual(Double(p[i] / p[j]), pow(41.0 / 21.0, 1.2), accuracy: 1e-4)
        // With a steep law a tail sits at the floor: ultra-rare features.
        let steep = SyntheticActivations(.init(dIn: 8, nTrue: 2000, targetL0: 3, powerLawExponent: 2,
                                               minProbability: 1e-5, maxProbability: 0.5))
        XCTAssertGreaterThan(steep.probabilities.filter { $0 == 1e-5 }.count, 100)
    }

    func testFeatureDirectionsAreUnitNorm() {
        let gen = SyntheticActivations(config)
        XCTAssertEqual(gen.features.rows, 256)
        XCTAssertEqual(gen.features.cols, 32)
        for r in 0..<256 {
            let n = gen.features.row(r).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(n, 1, accuracy: 1e-5)
        }
    }

    func testMeanL0AndFiringFrequencies() {
        var gen = SyntheticActivations(config)
        let rows = 40_000
        let (_, codes) = gen.next(rows: rows)
        XCTAssertEqual(codes.rows, rows)
        // Mean L0 is a mean of 40 000 independent rows with variance Σ p(1-p) <= 6:
        // standard error <= sqrt(6 / 40 000) ≈ 0.012; allow 5 of them.
        XCTAssertEqual(codes.meanEntriesPerRow, 6, accuracy: 0.06)
        XCTAssertTrue(codes.values.allSatisfy { $0 > 0 }, "|N(1, 0.25)| magnitudes are positive")
        // Per-feature frequencies within 5 binomial standard errors.
        var counts = [Int](repeating: 0, count: 256)
        for j in codes.indices { counts[Int(j)] += 1 }
        for i in [0, 1, 5, 20, 100, 255] {
            let p = Double(gen.probabilities[i])
            let se = (p * (1 - p) / Double(rows)).squareRoot()
            XCTAssertEqual(Double(counts[i]) / Double(rows), p, accuracy: 5 * se + 1e-9, "feature \(i)")
        }
        // Each row lists distinct features in increasing order.
        for r in 0..<rows {
            let f = codes.indices[codes.offsets[r]..<codes.offsets[r + 1]]
            XCTAssertTrue(zip(f, f.dropFirst()).allSatisfy { $0 < $1 })
        }
        // Magnitudes |N(1, 0.25)|: mean ≈ 1.
        XCTAssertEqual(codes.values.reduce(0.0) { $0 + Double($1) } / Double(codes.values.count), 1, accuracy: 0.01)
    }

    func testRowsAreTheSumOfTheirActiveFeatures() {
        var gen = SyntheticActivations(config)
        let (x, codes) = gen.next(rows: 500)
        for r in 0..<500 {
            var want = [Double](repeating: 0, count: 32)
            for e in codes.offsets[r]..<codes.offsets[r + 1] {
                let f = gen.features.row(Int(codes.indices[e]))
                for i in 0..<32 { want[i] += Double(codes.values[e]) * Double(f[i]) }
            }
            assertClose(x.row(r), want, atol: 1e-5, rtol: 1e-5, "row \(r)")
        }
        // With noise, the residual is N(0, σ²).
        var noisyConfig = config
        noisyConfig.noiseStd = 0.1
        var noisy = SyntheticActivations(noisyConfig)
        let (xn, codesN) = noisy.next(rows: 500)
        XCTAssertEqual(codesN, codes, "noise does not change which features fire")
        let residual = zip(xn.values, x.values).map { Double($0 - $1) }
        let mean = residual.reduce(0, +) / Double(residual.count)
        let std = (residual.reduce(0) { $0 + $1 * $1 } / Double(residual.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.003)
        XCTAssertEqual(std, 0.1, accuracy: 0.003)
    }

    func testDeterminismAcrossSeedsBatchingAndThreads() throws {
        var cfg = config
        cfg.noiseStd = 0.05
        cfg.magnitude = .exponential(mean: 2)
        var a = SyntheticActivations(cfg), b = SyntheticActivations(cfg)
        let whole = a.next(rows: 300, threads: 1)
        // Same rows whether produced as 300, or as 7 + 193 + 100 through `fill`, on 4 threads.
        var buffer = [Float](repeating: 0, count: 300 * 32)
        var produced = 0
        for n in [7, 193, 100] {
            produced += try buffer.withUnsafeMutableBufferPointer { try b.fill($0.baseAddress! + produced * 32, maxRows: n) }
        }
        XCTAssertEqual(produced, 300)
        assertBitwiseEqual(buffer, whole.activations.values, "batching")
        var c = SyntheticActivations(cfg)
        XCTAssertEqual(c.next(rows: 300, threads: 4).codes, whole.codes, "threads")
        XCTAssertEqual(b.rowsProduced, 300)
        // A different seed gives different features and rows.
        cfg.seed = 18
        var d = SyntheticActivations(cfg)
        XCTAssertNotEqual(d.features, a.features)
        XCTAssertNotEqual(d.next(rows: 300).activations, whole.activations)
        // skip(rows:) lands where producing the rows would have.
        var e = SyntheticActivations(a.configuration)
        e.skip(rows: 120)
        XCTAssertEqual(e.rowsProduced, 120)
        XCTAssertEqual(e.next(rows: 180).activations.values, Array(whole.activations.values[(120 * 32)...]))
        // reset() starts over.
        a.reset()
        XCTAssertEqual(a.next(rows: 300, threads: 1).activations, whole.activations)
    }

    func testRowLimit() throws {
        var cfg = config
        cfg.rowLimit = 10
        var gen = SyntheticActivations(cfg)
        var buffer = [Float](repeating: 0, count: 8 * 32)
        XCTAssertEqual(try buffer.withUnsafeMutableBufferPointer { try gen.fill($0.baseAddress!, maxRows: 8) }, 8)
        XCTAssertEqual(try buffer.withUnsafeMutableBufferPointer { try gen.fill($0.baseAddress!, maxRows: 8) }, 2)
        XCTAssertEqual(try buffer.withUnsafeMutableBufferPointer { try gen.fill($0.baseAddress!, maxRows: 8) }, 0)
        XCTAssertEqual(gen.next(rows: 5).activations.rows, 0)
    }

    // MARK: - FeatureRecovery

    func testRecoveryIsOneForThePlantedFeatures() {
        let gen = SyntheticActivations(config)
        // The true features, permuted, scaled by positive factors, plus unrelated rows.
        var rng = SeededRandom(seed: 5)
        var order = Array(0..<256)
        order.shuffle(using: &rng)
        let extra = saeRandomMatrix(64, 32, &rng)
        let decoder = Matrix(rows: 320, cols: 32) { r, c in
            r < 256 ? gen.features[order[r], c] * (0.5 + Float(r % 7)) : extra[r - 256, c]
        }
        let result = FeatureRecovery.evaluate(decoder: decoder, trueFeatures: gen.features)
        XCTAssertEqual(result.meanMaxCosine, 1, accuracy: 1e-5)
        XCTAssertEqual(result.fractionRecovered, 1)
        XCTAssertEqual(result.perFeatureBestCosine.count, 256)
        XCTAssertTrue(result.perFeatureBestCosine.allSatisfy { abs($0 - 1) < 1e-5 })
        // Negated directions are not recovered.
        let negated = Matrix(rows: 256, cols: 32) { r, c in -gen.features[r, c] }
        XCTAssertEqual(FeatureRecovery.evaluate(decoder: negated, trueFeatures: gen.features).fractionRecovered, 0)
    }

    func testRecoveryIsLowForRandomDecoders() {
        let gen = SyntheticActivations(.init(dIn: 64, nTrue: 300, targetL0: 5, seed: 2))
        var rng = SeededRandom(seed: 77)
        let decoder = saeRandomMatrix(600, 64, &rng)
        let r = FeatureRecovery.evaluate(decoder: decoder, trueFeatures: gen.features, threads: 2)
        // The best of 600 random cosines in 64 dims is about sqrt(2 ln 600 / 64) ≈ 0.45.
        XCTAssertLessThan(r.meanMaxCosine, 0.6)
        XCTAssertGreaterThan(r.meanMaxCosine, 0.25)
        XCTAssertEqual(r.fractionRecovered, 0)
        // Computing the cosines in blocks and on threads changes nothing.
        let one = FeatureRecovery.evaluate(decoder: decoder, trueFeatures: gen.features, threads: 1)
        assertBitwiseEqual(one.perFeatureBestCosine, r.perFeatureBestCosine, "threads")
        // Against a naive loop.
        for i in [0, 150, 299] {
            var best = -Double.infinity
            let t = gen.features.row(i)
            for j in 0..<600 {
                let w = decoder.row(j)
                let dot = zip(t, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let nw = w.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                let nt = t.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                best = max(best, dot / (nw * nt))
            }
            XCTAssertEqual(Double(r.perFeatureBestCosine[i]), best, accuracy: 1e-5)
        }
    }

    /// An SAE trained by nothing but its initialisation at the true features recovers them
    /// through the SAE's own decoder; one at a random init does not.
    func testRecoveryThroughAnSAEDecoder() {
        let gen = SyntheticActivations(config)
        var sae = SparseAutoencoder.random(architecture: .topk, dIn: 32, dSae: 256, k: 6, seed: 1)
        XCTAssertLessThan(FeatureRecovery.evaluate(decoder: sae.wDec, trueFeatures: gen.features).fractionRecovered, 0.05)
        sae.wDec = gen.features
        sae.wEnc = gen.features.transposed()
        XCTAssertEqual(FeatureRecovery.evaluate(decoder: sae.wDec, trueFeatures: gen.features).fractionRecovered, 1)
    }
}
