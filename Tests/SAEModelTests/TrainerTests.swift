import XCTest
import SAEKernels
@testable import SAEModel

final class TrainerTests: XCTestCase {
    func trainer(_ config: TrainingConfig, rows: Int = 2000, dIn: Int = 16, seed: UInt64 = 1) throws -> SAETrainer<ArrayActivationSource> {
        try SAETrainer(config: config, source: ArrayActivationSource(rows: activationRows(rows, dIn, seed: seed), dIn: dIn, cycle: true))
    }

    func testSameSeedGivesSameWeightsForAnyThreadCount() throws {
        for arch in [SAEArchitecture.standard, .topk, .batchtopk] {
            var c = smallConfig(arch)
            c.kAux = 4; c.deadTokens = 64
            c.threads = 1
            let a = try trainer(c); try a.train()
            c.threads = 3
            let b = try trainer(c); try b.train()
            XCTAssertEqual(a.parameters, b.parameters, "\(arch): weights differ between 1 and 3 threads")
            XCTAssertEqual(a.step, 20)
        }
    }

    /// Without clipping, Adam runs on the weight rows inside the sparse backward; a clip too
    /// large to act takes the unfused path (stored gradients, then the optimizer). Both give
    /// the same weights and moments, bitwise, and the fused path was taken.
    func testFusedWeightUpdateEqualsTheUnfusedOne() throws {
        for (arch, norm) in [(SAEArchitecture.standard, TrainingConfig.DecoderNorm.l1Weighted), (.standard, .unitNorm),
                             (.topk, .unitNorm), (.batchtopk, .unitNorm)] {
            var c = smallConfig(arch)
            c.decoderNorm = norm
            c.threads = 2
            c.denseDensity = 1  // sparse after the first step, even for the dense-ish ReLU SAE
            let fused = try trainer(c)
            var fusedSteps = 0
            while fused.step < 20 {
                let sparse = !fused.useDensePath
                try fused.trainStep()
                if sparse { fusedSteps += 1 }
            }
            c.gradientClipNorm = 1e30
            let unfused = try trainer(c); try unfused.train()
            XCTAssertGreaterThan(fusedSteps, 0, "\(arch): no sparse step")
            XCTAssertEqual(fused.parameters, unfused.parameters, "\(arch) \(norm): fused and unfused updates differ")
        }
    }

    func testCheckpointResumesTheSameTrajectory() throws {
        for (arch, norm) in [(SAEArchitecture.standard, TrainingConfig.DecoderNorm.l1Weighted), (.standard, .unitNorm), (.topk, .unitNorm)] {
            var c = smallConfig(arch)
            c.decoderNorm = norm
            c.resampling = .reinit(everyTokens: 160, frequencyBelow: 1e-3)
            c.frequencySnapshotTokens = 96
            c.normalizeInput = true
            let straight = try trainer(c); try straight.train()
            let first = try trainer(c)
            for _ in 0..<7 { try first.trainStep() }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-ckpt-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try first.saveCheckpoint(to: dir)
            let source = ArrayActivationSource(rows: activationRows(2000, 16, seed: 1), dIn: 16, cycle: true)
            let resumed = try SAETrainer.resume(from: dir, source: source)
            XCTAssertEqual(resumed.step, 7)
            try resumed.train()
            XCTAssertEqual(resumed.config.decoderNorm, norm)
            XCTAssertEqual(resumed.parameters, straight.parameters, "\(arch) \(norm): resumed run diverged")
            XCTAssertEqual(resumed.snapshots.tokens, straight.snapshots.tokens)
            XCTAssertEqual(resumed.snapshots.frequencies, straight.snapshots.frequencies)
        }
    }

    func testCheckpointErrorsNameTheProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = ArrayActivationSource(rows: activationRows(10, 4, seed: 1), dIn: 4)
        XCTAssertThrowsError(try SAETrainer.resume(from: dir, source: source)) { e in
            XCTAssertTrue("\(e)".contains("state.json"), "\(e)")
        }
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("state.json"))
        XCTAssertThrowsError(try SAETrainer.resume(from: dir, source: source)) { e in
            XCTAssertTrue("\(e)".contains("malformed"), "\(e)")
        }
    }

    func testDecoderRowsStayUnitNormAndLossFalls() throws {
        var c = smallConfig(.standard, tokens: 32 * 60)
        c.decoderNorm = .unitNorm
        c.l1Coefficient = 0.05
        let t = try trainer(c)
        var records: [TrainingLogRecord] = []
        try t.train { records.append($0) }
        for j in 0..<c.dSae {
            var s: Float = 0
            for i in 0..<16 { s += t.parameters.wDec[j * 16 + i] * t.parameters.wDec[j * 16 + i] }
            XCTAssertEqual(s.squareRoot(), 1, accuracy: 1e-5)
        }
        XCTAssertEqual(records.count, 12)
        XCTAssertLessThan(records.last!.mse, records.first!.mse)
        XCTAssertTrue(records.allSatisfy { $0.jsonLine().hasPrefix("{") && $0.jsonLine().contains("\"explained_variance\"") })
    }

    /// The L1-weighted standard SAE (the default) starts with decoder rows of norm
    /// `decoderInitNorm` and `W_enc = W_dec^T`, then leaves the norms free; the loss falls.
    func testL1WeightedDecoderStartsAtItsInitNormAndMovesFreely() throws {
        var c = smallConfig(.standard, tokens: 32 * 60)
        XCTAssertEqual(c.decoderNorm, .l1Weighted, "the standard SAE's default")
        c.l1Coefficient = 0.05
        let t = try trainer(c)
        func norms(_ w: [Float]) -> [Float] {
            (0..<c.dSae).map { j in (0..<16).reduce(Float(0)) { $0 + w[j * 16 + $1] * w[j * 16 + $1] }.squareRoot() }
        }
        for n in norms(t.parameters.wDec) { XCTAssertEqual(n, c.decoderInitNorm, accuracy: 1e-5) }
        let wEnc = t.parameters.wEncT
        XCTAssertEqual(wEnc, t.parameters.wDec, "W_enc = W_dec^T at initialisation")
        var records: [TrainingLogRecord] = []
        try t.train { records.append($0) }
        let after = norms(t.parameters.wDec)
        XCTAssertTrue(after.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(after.map { abs($0 - c.decoderInitNorm) }.max()!, 0.01, "the decoder norms did not move")
        XCTAssertLessThan(records.last!.mse, records.first!.mse)
        // Unit-norm setup on the same data: unit rows at the start.
        c.decoderNorm = .unitNorm
        for n in norms(try trainer(c).parameters.wDec) { XCTAssertEqual(n, 1, accuracy: 1e-5) }
    }

    /// A trained L1-weighted SAE keeps its non-unit decoder rows through save and load (SAELens's
    /// format stores W_dec as is) and encodes and reconstructs bitwise as before.
    func testL1WeightedSAESavesAndLoadsItsDecoderAsIs() throws {
        var c = smallConfig(.standard)
        c.normalizeInput = true
        let t = try trainer(c)
        try t.train()
        let sae = t.autoencoder()
        let w = sae.wDec.values
        let rowNorm = { (j: Int) in (0..<16).reduce(Float(0)) { $0 + w[j * 16 + $1] * w[j * 16 + $1] }.squareRoot() }
        XCTAssertTrue((0..<c.dSae).contains { abs(rowNorm($0) - 1) > 0.05 }, "rows are unit norm: the test would not show anything")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-l1w-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sae.save(to: dir)
        let loaded = try SparseAutoencoder.load(from: dir)
        XCTAssertEqual(loaded.architecture, .standard)
        XCTAssertEqual(loaded.wDec.values, sae.wDec.values)
        XCTAssertEqual(loaded.wEnc.values, sae.wEnc.values)
        XCTAssertEqual(loaded.bEnc, sae.bEnc)
        XCTAssertEqual(loaded.bDec, sae.bDec)
        let x = Matrix(rows: 8, cols: 16, values: activationRows(8, 16, seed: 98))
        let a = sae.reconstruct(x, threads: 1), b = loaded.reconstruct(x, threads: 1)
        XCTAssertEqual(a.codes, b.codes)
        XCTAssertEqual(a.reconstruction.values, b.reconstruction.values)
        XCTAssertGreaterThan(a.codes.nonzeroCount, 0)
    }

    func testEncoderKeptOrthogonalToGivenDirections() throws {
        var c = smallConfig(.topk)
        let u: [Float] = (0..<16).map { Float($0 % 3) - 1 }
        c.encoderOrthogonalTo = [u]
        let t = try trainer(c)
        try t.train()
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for j in 0..<c.dSae {
            var dot: Float = 0
            for i in 0..<16 { dot += t.parameters.wEncT[j * 16 + i] * u[i] / norm }
            XCTAssertEqual(dot, 0, accuracy: 1e-5, "encoder column \(j)")
        }
    }

    /// The saved SAE works on raw inputs: the input scale is folded into its weights.
    func testInputNormalizationIsFoldedIntoTheSavedSAE() throws {
        var c = smallConfig(.standard)
        c.normalizeInput = true
        let t = try trainer(c)
        try t.train()
        XCTAssertNotEqual(t.inputScale, 1)
        let sae = t.autoencoder()
        let x = activationRows(8, 16, seed: 99)
        let raw = sae.reconstruct(Matrix(rows: 8, cols: 16, values: x), threads: 1)
        let scaled = x.map { $0 * t.inputScale }
        let (codes, xHat) = scaled.withUnsafeBufferPointer {
            TrainingStep.forward(t.parameters, x: $0.baseAddress!, rows: 8, options: t.stepOptions)
        }
        assertArraysClose(raw.codes.dense().values, codes.dense().values, relative: 1e-4, "codes")
        assertArraysClose(raw.reconstruction.values, xHat.map { $0 / t.inputScale }, relative: 1e-4, "reconstruction")
    }

    /// Saved as SAELens saves a BatchTopK SAE (jumprelu for inference, the training
    /// architecture and an integer k in the metadata), and reloaded as what it was.
    func testBatchTopKSavesAJumpReLUThresholdAndReloadsAsBatchTopK() throws {
        let t = try trainer(smallConfig(.batchtopk))
        try t.train()
        let sae = t.autoencoder()
        XCTAssertEqual(sae.architecture, .batchtopk)
        XCTAssertEqual(sae.k, t.config.k)
        let th = try XCTUnwrap(sae.threshold)
        XCTAssertEqual(Set(th).count, 1)
        XCTAssertGreaterThan(th[0], 0)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-batchtopk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sae.save(to: dir)
        let cfg = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("cfg.json"))) as? [String: Any])
        XCTAssertEqual(cfg["architecture"] as? String, "jumprelu")
        let meta = try XCTUnwrap(cfg["metadata"] as? [String: Any])
        XCTAssertEqual(meta["training_architecture"] as? String, "batchtopk")
        XCTAssertNil(meta["k"], "k belongs in training_architecture_details, as a number")
        let details = try XCTUnwrap(meta["training_architecture_details"] as? [String: Any])
        XCTAssertEqual(details["k"] as? Int, t.config.k)

        let loaded = try SparseAutoencoder.load(from: dir)
        XCTAssertEqual(loaded.architecture, .batchtopk)
        XCTAssertEqual(loaded.k, t.config.k)
        XCTAssertEqual(loaded.threshold, sae.threshold)
        var rng = SeededRandom(seed: 3)
        let x = Matrix(rows: 6, cols: sae.dIn, values: (0..<(6 * sae.dIn)).map { _ in rng.normal() })
        XCTAssertEqual(loaded.reconstruct(x, threads: 1).reconstruction.values, sae.reconstruct(x, threads: 1).reconstruction.values)
    }

    func testResamplingReinitialisesDeadLatents() throws {
        var c = smallConfig(.standard)
        c.resampling = .reinit(everyTokens: 320, frequencyBelow: 1e-9)
        let t = try trainer(c)
        // Kill latents 0..<5: a huge negative bias, they never fire.
        for j in 0..<5 { t.parameters.bEnc[j] = -1e6 }
        var resampled: [Int] = []
        try t.train { if let r = $0.resampled { resampled.append(r) } }
        XCTAssertFalse(resampled.isEmpty)
        XCTAssertGreaterThanOrEqual(resampled.first!, 5)
        for j in 0..<5 { XCTAssertGreaterThan(t.parameters.bEnc[j], -1, "latent \(j) was not reinitialised") }
    }

    func testAnthropicResamplingSetsDecoderRowsToInputs() throws {
        var c = smallConfig(.standard)
        c.decoderNorm = .unitNorm  // Anthropic's published setup
        c.resampling = .anthropic(everyTokens: 320, sampleRows: 256)
        let rows = activationRows(2000, 16, seed: 1)
        let t = try SAETrainer(config: c, source: ArrayActivationSource(rows: rows, dIn: 16, cycle: true))
        for j in 0..<3 { t.parameters.bEnc[j] = -1e6 }
        try t.train()
        // After resampling at 320 tokens the dead rows point along some input (cosine near 1
        // right after; training moves them a little since).
        let inputs = stride(from: 0, to: rows.count, by: 16).map { Array(rows[$0..<($0 + 16)]) }
        for j in 0..<3 {
            let d = Array(t.parameters.wDec[j * 16 ..< (j + 1) * 16])
            XCTAssertTrue(d.allSatisfy(\.isFinite), "latent \(j) decoder row \(d)")
            let best = inputs.map { v -> Float in
                let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return zip(v, d).reduce(0) { $0 + $1.0 * $1.1 } / max(n, 1e-9)
            }.max()!
            XCTAssertGreaterThan(best, 0.9, "latent \(j) decoder is not along an input")
            XCTAssertEqual(t.parameters.bEnc[j] > -1, true)
        }
    }

    func testNonFiniteInputIsAClearError() throws {
        var rows = activationRows(400, 16, seed: 5)
        rows[37] = .nan
        var c = smallConfig(.standard)
        c.bDecInit = .zeros
        let t = try SAETrainer(config: c, source: ArrayActivationSource(rows: rows, dIn: 16, cycle: true))
        XCTAssertThrowsError(try t.train()) { e in
            XCTAssertTrue("\(e)".contains("not finite"), "\(e)")
        }
    }

    func testInvalidConfigsAreRejected() {
        var c = smallConfig(.topk); c.k = 0
        XCTAssertThrowsError(try trainer(c)) { XCTAssertTrue("\($0)".contains("k must be"), "\($0)") }
        c = smallConfig(.standard); c.batchSize = 0
        XCTAssertThrowsError(try trainer(c)) { XCTAssertTrue("\($0)".contains("batch size"), "\($0)") }
        c = smallConfig(.standard); c.encoderOrthogonalTo = [[1, 2]]
        XCTAssertThrowsError(try trainer(c)) { XCTAssertTrue("\($0)".contains("orthogonal direction"), "\($0)") }
    }

    func testBufferServesEverySourceRowOnce() throws {
        let dIn = 3, n = 1000
        let rows = (0..<(n * dIn)).map { Float($0 / dIn) }  // row r is [r, r, r]
        var source = ArrayActivationSource(rows: rows, dIn: dIn)
        var buffer = ActivationBuffer(dIn: dIn, capacity: 64, seed: 7)
        var seen: [Int] = []
        var batch = [Float](repeating: 0, count: 8 * dIn)
        while try batch.withUnsafeMutableBufferPointer({ try buffer.nextBatch(into: $0.baseAddress!, count: 8, from: &source) }) {
            for b in 0..<8 { seen.append(Int(batch[b * dIn])) }
        }
        XCTAssertEqual(seen.sorted(), Array(0..<n))
        XCTAssertNotEqual(seen, Array(0..<n), "rows were not shuffled")
    }

    func testSchedules() {
        var c = TrainingConfig.plain
        c.learningRate = 1; c.lrWarmupSteps = 10; c.lrDecay = .linear; c.lrDecayFraction = 0.5
        c.l1Coefficient = 2; c.l1WarmupSteps = 4
        let s = Schedules(config: c, totalSteps: 100)
        XCTAssertEqual(s.learningRate(step: 0), 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 9), 1)
        XCTAssertEqual(s.learningRate(step: 30), 1)
        XCTAssertEqual(s.learningRate(step: 74), 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(step: 99), 0, accuracy: 1e-12)
        XCTAssertEqual(s.l1Coefficient(step: 0), 0.5)
        XCTAssertEqual(s.l1Coefficient(step: 10), 2)
        c.lrDecay = .cosine; c.minLearningRateFraction = 0.1
        let cos = Schedules(config: c, totalSteps: 100)
        XCTAssertEqual(cos.learningRate(step: 99), 0.1, accuracy: 1e-9)
    }

    func testGeometricMedianIsRobustToOutliers() {
        var x: [Float] = []
        for _ in 0..<9 { x += [1, 1] }
        x += [1000, -1000]
        let gm = DecoderBiasInit.geometricMedian(x, rows: 10, dIn: 2)
        XCTAssertEqual(gm[0], 1, accuracy: 1e-2)
        XCTAssertEqual(gm[1], 1, accuracy: 1e-2)
        XCTAssertEqual(DecoderBiasInit.mean(x, rows: 10, dIn: 2)[0], 100.9, accuracy: 1e-3)
    }
}
