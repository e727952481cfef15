import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// The weight analyses on hand-built SAEs whose answers are known.
final class AnalysisWeightsTests: XCTestCase {
    func testDecoderSparsityGroupsOneHotUniformAndRest() {
        let n = 64
        var oneHot = [Float](repeating: 0, count: n); oneHot[5] = -2  // sign and scale do not matter
        let uniform = [Float](repeating: 0.3, count: n)
        var pair = [Float](repeating: 0, count: n); pair[1] = 1; pair[9] = 1
        var spread = [Float](repeating: 0, count: n); for i in 0..<10 { spread[i] = Float(10 - i) }
        let sae = AnalysisFixture.handBuilt(decoderRows: [oneHot, uniform, pair, spread, [Float](repeating: 0, count: n)])
        let r = DecoderSparsity.measure(sae)
        XCTAssertEqual(r.fveTop1[0], 1); XCTAssertEqual(r.fveNext9[0], 0)
        XCTAssertEqual(r.groups[0], .oneSparse)
        assertClose(r.fveTop1[1], 1.0 / 64, atol: 1e-12, "uniform top1")
        assertClose(r.fveNext9[1], 9.0 / 64, atol: 1e-12, "uniform next9")
        XCTAssertEqual(r.groups[1], .dense)
        assertClose(r.fveTop1[2], 0.5, atol: 1e-12, "pair top1")
        assertClose(r.fveNext9[2], 0.5, atol: 1e-12, "pair next9")
        XCTAssertEqual(r.groups[2], .rest)
        // 10..1 squared: 385 in all; the top is 100, the next nine 285.
        assertClose(r.fveTop1[3], 100.0 / 385, atol: 1e-12, "spread top1")
        assertClose(r.fveNext9[3], 285.0 / 385, atol: 1e-12, "spread next9")
        XCTAssertTrue(r.fveTop1[4].isNaN)
        XCTAssertEqual(r.groups[4], .rest)
        assertClose(r.oneSparsePercent, 20, atol: 1e-12, "one-sparse %")
        assertClose(r.densePercent, 20, atol: 1e-12, "dense %")
        assertClose(r.restPercent, 60, atol: 1e-12, "rest %")
    }

    func testKurtosisOfOneHotRowAndGaussianBaseline() {
        let n = 64
        var oneHot = [Float](repeating: 0, count: n); oneHot[3] = 1
        var twoLevel = [Float](repeating: -1, count: n); for i in 0..<(n / 2) { twoLevel[i] = 1 }
        let sae = AnalysisFixture.handBuilt(decoderRows: [oneHot, twoLevel, [Float](repeating: 2, count: n)])
        let r = DecoderKurtosis.measure(sae, baselineRows: 2000, seed: 11)
        // The entries of a one-hot row are Bernoulli(p = 1/n): excess kurtosis (1 - 6pq) / (pq).
        let p = 1.0 / Double(n), pq = p * (1 - p)
        assertClose(r.kurtosis[0], (1 - 6 * pq) / pq, atol: 1e-9, rtol: 1e-12, "one-hot kurtosis")
        // A symmetric two-level row: m4 = m2², kurtosis 1 - 3 = -2.
        assertClose(r.kurtosis[1], -2, atol: 1e-12, "two-level kurtosis")
        XCTAssertTrue(r.kurtosis[2].isNaN, "a constant row has no kurtosis")
        // Gaussian rows of 64 entries: sample excess kurtosis has mean -6/(n+1) and sd ~ sqrt(24/n).
        XCTAssertEqual(r.baseline.count, 2000)
        assertClose(Quantiles.mean(r.baseline), -6.0 / 65, atol: 0.05, "baseline mean")
        XCTAssertEqual(r.baseline, DecoderKurtosis.measure(sae, baselineRows: 2000, seed: 11).baseline, "seeded")
        XCTAssertNotEqual(r.baseline, DecoderKurtosis.measure(sae, baselineRows: 2000, seed: 12).baseline)
        XCTAssertEqual(r.histogram.total, 3)
        XCTAssertEqual(r.baselineHistogram.total, 2000)
    }

    func testEncoderEqualToDecoderHasCosineOne() {
        var rng = SeededRandom(seed: 3)
        let rows = (0..<32).map { _ in (0..<24).map { _ in rng.normal() } }
        let same = AnalysisFixture.handBuilt(decoderRows: rows)
        let r = EncoderDecoderCosine.measure(same)
        for c in r.cosines { assertClose(c, 1, atol: 1e-12, "cosine") }
        assertClose(r.median, 1, atol: 1e-12, "median")
        XCTAssertEqual(r.histogram.counts.last, 32)
        var opposite = same
        opposite.wEnc.withUnsafeMutableBufferPointer { p in for i in p.indices { p[i] = -p[i] } }
        XCTAssertTrue(EncoderDecoderCosine.measure(opposite).cosines.allSatisfy { abs($0 + 1) < 1e-12 })
    }

    /// `W_out = R [A; 0]` (A random 8 x 8, R a random rotation of R^32): its column space is
    /// `R` applied to the first 8 axes. A vector `R v` with `v` zero there is in the null
    /// space (fraction 1), one with `v` only there is in the row space (0), an equal mix 0.5.
    func testNullSpaceFractionOfVectorsBuiltInEachSpace() {
        let (dMLP, dModel) = (32, 8)
        var rng = SeededRandom(seed: 5)
        let rotation = randomRotation(dMLP, &rng)
        var base = [[Double]](repeating: [Double](repeating: 0, count: dModel), count: dMLP)
        for i in 0..<dModel { for c in 0..<dModel { base[i][c] = Double(rng.normal()) } }
        let wOut = Matrix(rows: dMLP, cols: dModel) { r, c in Float((0..<dMLP).reduce(0.0) { $0 + rotation[r][$1] * base[$1][c] }) }
        func rotated(_ v: [Double]) -> [Float] { (0..<dMLP).map { r in Float((0..<dMLP).reduce(0.0) { $0 + rotation[r][$1] * v[$1] }) } }
        var inNull = [Double](repeating: 0, count: dMLP), inRow = inNull, mixed = inNull
        for i in dModel..<dMLP { inNull[i] = Double(rng.normal()) }
        for i in 0..<dModel { inRow[i] = Double(rng.normal()) }
        mixed[0] = 1; mixed[dModel + 3] = 1
        let decoder = Matrix(rows: 4, cols: dMLP, values: rotated(inNull) + rotated(inRow) + rotated(mixed) + [Float](repeating: 0, count: dMLP))
        // Independent check that the null vector really has v W_out = 0.
        let nullRow = decoder.row(0)
        for c in 0..<dModel {
            XCTAssertLessThan(abs((0..<dMLP).reduce(0.0) { $0 + Double(nullRow[$1]) * Double(wOut[$1, c]) }), 1e-4)
        }
        let r = NullSpaceFraction.measure(decoder: decoder, wOut: wOut, threads: 1)
        XCTAssertEqual(r.rank, dModel)
        assertClose(r.nullFraction[0], 1, atol: 1e-5, "null-space vector")
        assertClose(r.nullFraction[1], 0, atol: 1e-5, "row-space vector")
        assertClose(r.nullFraction[2], 0.5, atol: 1e-5, "half and half")
        XCTAssertTrue(r.nullFraction[3].isNaN, "zero row")
    }

    func testNullSpaceOnTheFixtureModel() throws {
        let model = AnalysisFixture.model
        // Gaussian directions in d_mlp = 512 keep about 1 - 128/512 of their norm in the null space.
        var rng = SeededRandom(seed: 9)
        let rows = (0..<64).map { _ in (0..<512).map { _ in rng.normal() } }
        let random = AnalysisFixture.handBuilt(decoderRows: rows)
        let r = try NullSpaceFraction.measure(sae: random, model: model)
        XCTAssertEqual(r.rank, 128)
        XCTAssertEqual(r.hook, AnalysisFixture.hookPost)
        assertClose(r.mean, 0.75, atol: 0.03, "random directions")
        // W_out's own columns lie in its column space.
        let wOut = AnalysisFixture.weight("blocks.0.mlp.W_out")
        let columns = AnalysisFixture.handBuilt(decoderRows: (0..<4).map { c in (0..<512).map { wOut[$0, c] } })
        for f in try NullSpaceFraction.measure(sae: columns, model: model).nullFraction { XCTAssertLessThan(f, 1e-4) }
        // Another hook is refused.
        var resid = AnalysisFixture.handBuilt(decoderRows: [[Float](repeating: 1, count: 128)])
        resid.metadata.hookName = "blocks.0.hook_resid_post"
        XCTAssertThrowsError(try NullSpaceFraction.measure(sae: resid, model: model)) { e in
            guard case AnalysisError.unsupportedHook = e else { return XCTFail("\(e)") }
        }
    }

    func testCrossRunMatchingOfAPermutedCopyIsOne() throws {
        let a = AnalysisFixture.topkSAE
        var rng = SeededRandom(seed: 1)
        let perm = Array(0..<a.dSae).shuffled(using: &rng)
        var b = a
        b.wDec = Matrix(rows: a.dSae, cols: a.dIn) { r, c in a.wDec[perm[r], c] }
        b.wEnc = Matrix(rows: a.dIn, cols: a.dSae) { r, c in a.wEnc[r, perm[c]] }
        let r = try CrossRunMatching.measure(a, b, blockRows: 300, threads: 2)
        for side in [r.decoder, r.encoder] {
            XCTAssertTrue(side.bestInB.allSatisfy { abs($0 - 1) < 1e-5 })
            XCTAssertTrue(side.bestInA.allSatisfy { abs($0 - 1) < 1e-5 })
            assertClose(side.medianInB, 1, atol: 1e-5, "median")
            XCTAssertEqual(side.histogramInB.counts.last, a.dSae)
        }
        // b's feature k is a's feature perm[k].
        XCTAssertEqual(r.decoder.matchInA, perm)
        for k in 0..<a.dSae { XCTAssertEqual(r.decoder.matchInB[perm[k]], k) }
        // Against a random SAE, best cosines are far from 1.
        let random = SparseAutoencoder.random(architecture: .standard, dIn: a.dIn, dSae: 256, seed: 4)
        let far = try CrossRunMatching.measure(a, random)
        XCTAssertLessThan(far.decoder.medianInB, 0.5)
        XCTAssertEqual(far.decoder.bestInA.count, 256)
        XCTAssertThrowsError(try CrossRunMatching.measure(a, AnalysisFixture.handBuilt(decoderRows: [[1, 0]])))
    }

    /// An orthogonal matrix from Gram–Schmidt on Gaussian rows, in Double.
    func randomRotation(_ n: Int, _ rng: inout SeededRandom) -> [[Double]] {
        var q: [[Double]] = []
        while q.count < n {
            var v = (0..<n).map { _ in Double(rng.normal()) }
            for _ in 0..<2 { for b in q { let d = zip(b, v).reduce(0) { $0 + $1.0 * $1.1 }; for i in 0..<n { v[i] -= d * b[i] } } }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            q.append(v.map { $0 / norm })
        }
        return q
    }
}
