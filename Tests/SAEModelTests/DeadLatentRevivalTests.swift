import XCTest
import SAEKernels
@testable import SAEModel

/// What revives dead latents: the AuxK loss (value and gradients against its formula in
/// Double and central finite differences) and Anthropic's resampling (the encoder norm, the
/// loss-squared sampling weights, the reset Adam moments).
final class DeadLatentRevivalTests: XCTestCase {
    let dIn = 6, dSae = 14, rows = 9, kAux = 2
    let dead: [Int32] = [1, 4, 7, 10, 13]
    let coefficient: Float = 0.5

    func parameters() -> TrainingParameters {
        var p = TrainingParameters(SparseAutoencoder.random(architecture: .topk, dIn: dIn, dSae: dSae, k: 3, seed: 41))
        var rng = SeededRandom(seed: 42)
        for j in 0..<dSae { p.bEnc[j] = rng.normal() * 0.2 }
        for i in 0..<dIn { p.bDec[i] = rng.normal() * 0.1 }
        return p
    }

    /// The AuxK term from its definition, in Double: `e = x - x_hat` (x_hat held fixed),
    /// the `kAux` largest pre-activations among the dead latents, `e_hat = Σ ReLU(pre_j) W_dec[j]`,
    /// `coefficient Σ_r ||e_hat_r - e_r||² / Σ_r ||e_r - mean(e)||²`.
    func auxLoss(_ p: TrainingParameters, x: [Float], xHat: [Float]) -> Double {
        var e = [Double](repeating: 0, count: rows * dIn), mean = [Double](repeating: 0, count: dIn)
        for n in 0..<(rows * dIn) { e[n] = Double(x[n]) - Double(xHat[n]); mean[n % dIn] += e[n] / Double(rows) }
        var numerator = 0.0, denominator = 0.0
        for r in 0..<rows {
            let pre = dead.map { j -> (Double, Int) in
                var s = Double(p.bEnc[Int(j)])
                for i in 0..<dIn { s += (Double(x[r * dIn + i]) - Double(p.bDec[i])) * Double(p.wEncT[Int(j) * dIn + i]) }
                return (s, Int(j))
            }.sorted { $0.0 > $1.0 }.prefix(kAux)
            for i in 0..<dIn {
                var eHat = 0.0
                for (a, j) in pre { eHat += max(a, 0) * Double(p.wDec[j * dIn + i]) }
                let d = eHat - e[r * dIn + i]
                numerator += d * d
                let c = e[r * dIn + i] - mean[i]
                denominator += c * c
            }
        }
        return Double(coefficient) * numerator / denominator
    }

    func testAuxKLossAndGradientsMatchTheFormula() {
        let p = parameters()
        let x = activationRows(rows, dIn, seed: 43)
        let xHat = activationRows(rows, dIn, seed: 44).map { $0 * 0.5 }
        var xc = x
        for r in 0..<rows { for i in 0..<dIn { xc[r * dIn + i] -= p.bDec[i] } }
        var g = TrainingGradients(dIn: dIn, dSae: dSae)
        let loss = x.withUnsafeBufferPointer {
            AuxK.addGradients(p, x: $0.baseAddress!, xc: xc, xHat: xHat, rows: rows, dead: dead, kAux: kAux,
                              coefficient: coefficient, grads: &g, threads: 1)
        }
        let want = auxLoss(p, x: x, xHat: xHat)
        XCTAssertTrue(loss.isFinite && loss > 0, "aux loss \(loss)")
        XCTAssertEqual(loss, want, accuracy: 1e-5 * want)
        func fd(_ mutate: (inout TrainingParameters, Float) -> Void) -> Double {
            let h: Float = 1e-3
            var plus = p, minus = p
            mutate(&plus, h); mutate(&minus, -h)
            return (auxLoss(plus, x: x, xHat: xHat) - auxLoss(minus, x: x, xHat: xHat)) / Double(2 * h)
        }
        var checked = 0
        for j in dead.map(Int.init) {
            for i in [0, 3, 5] {
                let n = j * dIn + i
                XCTAssertEqual(Double(g.wEncT[n]), fd { $0.wEncT[n] += $1 }, accuracy: 2e-3, "dW_enc[\(j), \(i)]")
                XCTAssertEqual(Double(g.wDec[n]), fd { $0.wDec[n] += $1 }, accuracy: 2e-3, "dW_dec[\(j), \(i)]")
                checked += Double(g.wDec[n]) != 0 ? 1 : 0
            }
            XCTAssertEqual(Double(g.bEnc[j]), fd { $0.bEnc[j] += $1 }, accuracy: 2e-3, "db_enc[\(j)]")
        }
        for i in 0..<dIn { XCTAssertEqual(Double(g.bDec[i]), fd { $0.bDec[i] += $1 }, accuracy: 2e-3, "db_dec[\(i)] (through the centring)") }
        XCTAssertGreaterThan(checked, 3, "some dead decoder rows get gradient")
        for j in 0..<dSae where !dead.contains(Int32(j)) {
            XCTAssertTrue((0..<dIn).allSatisfy { g.wDec[j * dIn + $0] == 0 && g.wEncT[j * dIn + $0] == 0 }, "live latent \(j)")
        }
    }

    /// Two candidate inputs with losses 3 and 1 (all others 0): drawn 9 : 1 (loss squared),
    /// not 3 : 1; each new decoder row is the drawn input normalised, each encoder column
    /// that input scaled to 0.2 x the mean encoder norm of the live latents, b_enc 0, and
    /// only the resampled latents' Adam moments reset.
    func testAnthropicResamplingWeightsNormsAndMoments() {
        let dIn = 4, dSae = 2401, rows = 50
        var p = TrainingParameters(SparseAutoencoder.random(architecture: .standard, dIn: dIn, dSae: dSae, seed: 5))
        var rng = SeededRandom(seed: 6)
        for n in p.wEncT.indices { p.wEncT[n] = rng.normal() }
        for name in [\TrainingParameters.Moments.mEncT, \.vEncT, \.mDec, \.vDec] {
            for n in p.moments[keyPath: name].indices { p.moments[keyPath: name][n] = 1 }
        }
        for j in 0..<dSae { p.moments.mBEnc[j] = 1; p.moments.vBEnc[j] = 1; p.bEnc[j] = 0.5 }
        let x = activationRows(rows, dIn, seed: 7)
        var losses = [Double](repeating: 0, count: rows)
        losses[17] = 3; losses[30] = 1
        let alive = Array(0..<400), latents = Array(400..<dSae)
        let aliveNorm = alive.map { j in (0..<dIn).reduce(0.0) { $0 + Double(p.wEncT[j * dIn + $1] * p.wEncT[j * dIn + $1]) }.squareRoot() }
            .reduce(0, +) / Double(alive.count)
        let before = p
        Resampler.anthropic(latents, in: &p, sample: x, rows: rows, losses: losses, alive: alive, rng: &rng)

        func input(_ r: Int) -> [Double] { (0..<dIn).map { Double(x[r * dIn + $0]) } }
        var drawn17 = 0
        for j in latents {
            let dec = (0..<dIn).map { Double(p.wDec[j * dIn + $0]) }, enc = (0..<dIn).map { Double(p.wEncT[j * dIn + $0]) }
            let r = [17, 30].first { r in
                let v = input(r), n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return zip(v, dec).allSatisfy { abs($0 / n - $1) < 1e-6 }
            }
            guard let r else { return XCTFail("latent \(j): decoder row \(dec) is none of the weighted inputs") }
            if r == 17 { drawn17 += 1 }
            let encNorm = enc.reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(encNorm, 0.2 * aliveNorm, accuracy: 1e-5 * aliveNorm, "latent \(j): encoder norm")
            XCTAssertGreaterThan(zip(enc, dec).reduce(0) { $0 + $1.0 * $1.1 }, 0.99 * encNorm, "encoder along the decoder")
            XCTAssertEqual(p.bEnc[j], 0)
            XCTAssertTrue((0..<dIn).allSatisfy { p.moments.mEncT[j * dIn + $0] == 0 && p.moments.vDec[j * dIn + $0] == 0 })
            XCTAssertEqual(p.moments.mBEnc[j], 0)
        }
        let fraction = Double(drawn17) / Double(latents.count)
        XCTAssertEqual(fraction, 0.9, accuracy: 0.03, "draws follow loss² (0.9), not loss (0.75)")
        for j in alive {
            XCTAssertEqual(Array(p.wDec[(j * dIn)..<((j + 1) * dIn)]), Array(before.wDec[(j * dIn)..<((j + 1) * dIn)]))
            XCTAssertEqual(p.moments.mBEnc[j], 1, "live latent \(j) keeps its moments")
        }
    }
}
