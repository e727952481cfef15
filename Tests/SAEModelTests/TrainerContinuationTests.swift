import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// `SAETrainer(initial:)` continues the SAE it is given (same function before the first
/// update, same architecture and k when saved) or refuses with a reason.
final class TrainerContinuationTests: XCTestCase {
    static let fixture = Fixtures.url("tiny-gelu-1l")

    func inputs() throws -> (rows: [Float], count: Int) {
        let ref = try SafetensorsFile(contentsOf: Self.fixture.appendingPathComponent("saelens-standard/encode-reference.safetensors"))
        let x = try ref.floats("sae_in")
        return (x, x.count / 512)
    }

    /// A config that continues `sae` and, with a vanishing learning rate, leaves it as it was.
    func continuingConfig(_ sae: SparseAutoencoder, normalize: Bool) -> TrainingConfig {
        var c = TrainingConfig.plain
        c.architecture = sae.architecture
        c.dSae = sae.dSae
        c.k = sae.k ?? 32
        c.batchSize = 64
        c.trainTokens = 64
        c.bufferBatches = 2
        c.initSampleRows = 128
        c.learningRate = 1e-30
        c.normalizeInput = normalize
        c.threads = 2
        return c
    }

    /// SAELens's standard SAE has decoder rows of any norm and a b_dec of its own; TopK
    /// rescales by the decoder norms. One (inert) step later each computes what it did.
    func testContinuingASAELensSAEKeepsItsFunctionAndArchitecture() throws {
        let (x, n) = try inputs()
        for name in ["saelens-standard", "saelens-topk"] {
            let sae = try SparseAutoencoder.load(from: Self.fixture.appendingPathComponent(name))
            for normalize in [false, true] { for decoderNorm in [TrainingConfig.DecoderNorm.l1Weighted, .unitNorm] {
                var config = continuingConfig(sae, normalize: normalize)
                config.decoderNorm = decoderNorm
                let t = try SAETrainer(config: config,
                                       source: ArrayActivationSource(rows: x, dIn: 512, cycle: true), initial: sae)
                try t.trainStep()
                let continued = t.autoencoder()
                XCTAssertEqual(continued.architecture, sae.architecture, name)
                XCTAssertEqual(continued.k, sae.k, name)
                let probe = Matrix(rows: n, cols: 512, values: x)
                let before = sae.reconstruct(probe, threads: 1), after = continued.reconstruct(probe, threads: 1)
                assertArraysClose(after.reconstruction.values, before.reconstruction.values, relative: 1e-4,
                                  "\(name) normalize \(normalize) \(decoderNorm): reconstruction")
                XCTAssertEqual(after.codes.meanEntriesPerRow, before.codes.meanEntriesPerRow, accuracy: 0.05,
                               "\(name) normalize \(normalize): L0")
                assertArraysClose(continued.bDec, sae.bDec, relative: 1e-4, "\(name): b_dec kept, not re-initialised")
            }}
        }
    }

    func testRefusesWhatItCannotContinue() throws {
        let (x, _) = try inputs()
        let standard = try SparseAutoencoder.load(from: Self.fixture.appendingPathComponent("saelens-standard"))
        let topk = try SparseAutoencoder.load(from: Self.fixture.appendingPathComponent("saelens-topk"))
        var otherK = continuingConfig(topk, normalize: false)
        otherK.k = 16
        var jumprelu = standard
        jumprelu.architecture = .jumprelu
        jumprelu.threshold = [Float](repeating: 0.1, count: standard.dSae)
        var noBDec = standard
        noBDec.applyBDecToInput = false
        var topkUnscaled = topk
        topkUnscaled.rescaleActsByDecoderNorm = false
        for i in 0..<512 { topkUnscaled.wDec[0, i] *= 2 }
        let cases: [(SparseAutoencoder, TrainingConfig, String)] = [
            (topk, continuingConfig(standard, normalize: false), "topk SAE and the config trains standard"),
            (topk, otherK, "k is 32, the config's is 16"),
            (jumprelu, continuingConfig(standard, normalize: false), "jumprelu"),
            (noBDec, continuingConfig(standard, normalize: false), "apply_b_dec_to_input"),
            (topkUnscaled, continuingConfig(topk, normalize: false), "not unit-norm"),
        ]
        for (sae, config, says) in cases {
            XCTAssertThrowsError(try SAETrainer(config: config, source: ArrayActivationSource(rows: x, dIn: 512, cycle: true),
                                                initial: sae), says) { error in
                XCTAssertTrue("\(error)".contains(says), "\(error) should say '\(says)'")
            }
        }
    }

    /// Gradient clipping: a norm of 0 or below is refused; a small one acts (the step's
    /// gradients are scaled to that norm, so the first Adam moments are).
    func testGradientClipNormIsValidatedAndActs() throws {
        for bad in [0.0, -1.0, .nan, .infinity] {
            var c = smallConfig(.standard)
            c.gradientClipNorm = bad
            XCTAssertThrowsError(try c.validate(dIn: 16), "clip \(bad)")
        }
        let rows = activationRows(256, 16, seed: 5)
        func firstMoments(clip: Double?) throws -> (norm: Double, m: [Float]) {
            var c = smallConfig(.standard, tokens: 32)
            c.gradientClipNorm = clip
            let t = try SAETrainer(config: c, source: ArrayActivationSource(rows: rows, dIn: 16, cycle: true))
            try t.trainStep()
            // After one Adam step, m = (1 - beta1) g for every parameter.
            let m = t.parameters.moments
            let all = m.mEncT + m.mBEnc + m.mDec + m.mBDec
            let norm = all.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() / (1 - c.adamBeta1)
            return (norm, all)
        }
        let free = try firstMoments(clip: nil)
        XCTAssertTrue(free.norm.isFinite && free.norm > 0.1, "unclipped gradient norm \(free.norm)")
        let clip = free.norm / 10
        let clipped = try firstMoments(clip: clip)
        XCTAssertEqual(clipped.norm, clip, accuracy: 1e-3 * clip, "clipped to the given norm")
        assertArraysClose(clipped.m, free.m.map { $0 / 10 }, relative: 1e-3, "same direction, a tenth of the length")
        let loose = try firstMoments(clip: free.norm * 10)
        XCTAssertEqual(loose.m, free.m, "a norm above the gradient's leaves it alone")
    }

    /// Sizes whose memory cannot exist are refused before any allocation, with the figure.
    func testAbsurdSizesAreRefusedBeforeAllocating() throws {
        var c = TrainingConfig.plain
        c.dSae = 1 << 62
        XCTAssertThrowsError(try c.validate(dIn: 512)) { XCTAssertTrue("\($0)".contains("GiB"), "\($0)") }
        c = TrainingConfig.plain
        c.batchSize = 1 << 62
        c.trainTokens = 1 << 62
        XCTAssertThrowsError(try c.validate(dIn: 512)) { XCTAssertTrue("\($0)".contains("GiB"), "\($0)") }
        c = TrainingConfig.plain
        c.kAux = c.dSae + 1
        c.architecture = .topk
        XCTAssertThrowsError(try c.validate(dIn: 512))
    }
}
