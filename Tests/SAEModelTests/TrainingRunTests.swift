import Foundation
import SAEModel
import XCTest

/// The recommended defaults live in `TrainingConfig()` (the values derived from the run's
/// length in one place), and `TrainingRun` takes the hook width and the BOS from the model.
final class TrainingRunTests: XCTestCase {
    func testTheDefaultConfigIsTheRecommendedOne() {
        let c = TrainingConfig()
        XCTAssertEqual(c.architecture, .topk)
        XCTAssertEqual(c.k, 32)
        XCTAssertEqual(c.learningRate, 1e-3)
        XCTAssertEqual(c.lrDecay, .linear)
        XCTAssertTrue(c.normalizeInput)
        XCTAssertEqual(c.logEverySteps, 10)
        XCTAssertEqual(c.batchSize, 4096)
        XCTAssertEqual(c.trainTokens, 2_000_000)
        XCTAssertEqual(c.l1Coefficient, 2.5)
        XCTAssertEqual(c.decoderNorm, .l1Weighted)
        XCTAssertEqual(c.resampling, .none)
        XCTAssertEqual(TrainingConfig.recommendedDSae(dIn: 512), 2048)
        // 2M / 4096 = 488 steps.
        XCTAssertEqual(c.steps, 488)
        XCTAssertEqual(c.effectiveLRWarmupSteps, 24)
        XCTAssertEqual(c.effectiveL1WarmupSteps, 0, "TopK has no L1")
        XCTAssertEqual(c.effectiveFrequencyWindowTokens, 200_000)
        XCTAssertEqual(c.effectiveDeadTokens, 200_000)
        XCTAssertEqual(c.effectiveFrequencySnapshotTokens, 200_000)
        XCTAssertNil(c.effectiveResamplingTokens)
    }

    func testDerivedValuesFollowTheRunLengthUnlessSet() {
        var c = TrainingConfig()
        c.architecture = .standard
        c.trainTokens = 40_000_000
        c.batchSize = 1000
        c.resampling = .anthropic()
        XCTAssertEqual(c.effectiveLRWarmupSteps, 100, "capped at 100")
        XCTAssertEqual(c.effectiveL1WarmupSteps, 2000, "5% of 40000 steps")
        XCTAssertEqual(c.effectiveFrequencyWindowTokens, 1_000_000, "capped at 1M")
        XCTAssertEqual(c.effectiveDeadTokens, 1_000_000)
        XCTAssertEqual(c.effectiveFrequencySnapshotTokens, 4_000_000)
        XCTAssertEqual(c.effectiveResamplingTokens, 10_000_000)
        XCTAssertEqual(c.resolved().resampling, .anthropic(everyTokens: 10_000_000, sampleRows: 16384))
        // A tiny run: at least one batch.
        c.trainTokens = 1500
        XCTAssertEqual(c.effectiveFrequencySnapshotTokens, 1000)
        XCTAssertEqual(c.effectiveResamplingTokens, 1000)
        XCTAssertEqual(c.effectiveLRWarmupSteps, 0)
        // Set values win.
        c.lrWarmupSteps = 7; c.l1WarmupSteps = 3; c.frequencySnapshotTokens = 0; c.resampling = .reinit(everyTokens: 5)
        XCTAssertEqual(c.effectiveLRWarmupSteps, 7)
        XCTAssertEqual(c.effectiveL1WarmupSteps, 3)
        XCTAssertEqual(c.effectiveFrequencySnapshotTokens, 0, "0: no snapshots")
        XCTAssertEqual(c.resolved().resampling, .reinit(everyTokens: 5, frequencyBelow: 1e-5))
    }

    func testADerivedValueAndTheSameValueWrittenInDoNotDiffer() {
        let derived = TrainingConfig()
        var written = TrainingConfig()
        written.lrWarmupSteps = derived.effectiveLRWarmupSteps
        written.deadTokens = derived.effectiveDeadTokens
        XCTAssertEqual(derived.differences(from: written), [])
        written.lrWarmupSteps = 3
        XCTAssertEqual(derived.differences(from: written), ["lrWarmupSteps: 24 vs 3"])
        XCTAssertEqual(derived.resolved(), derived.resolved().resolved())
    }

    func testTheRunTakesTheHookWidthAndTheBOSFromTheModel() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-run-\(UUID().uuidString)")
        let mlp = try TrainingRun.bundled(outputDirectory: out)
        XCTAssertEqual(mlp.dIn, 512)
        XCTAssertEqual(mlp.config.dSae, 2048)
        XCTAssertEqual(mlp.bos, 0, "<|endoftext|>")
        XCTAssertEqual(mlp.contextLength, 128)
        let resid = try TrainingRun(modelDirectory: BundledModel.folder, tokens: BundledModel.evalTokens,
                                    hook: "blocks.0.hook_resid_pre", contextLength: 64, outputDirectory: out)
        XCTAssertEqual(resid.dIn, 128)
        XCTAssertEqual(resid.config.dSae, 512)
        XCTAssertThrowsError(try TrainingRun(modelDirectory: BundledModel.folder, tokens: BundledModel.evalTokens,
                                             hook: "blocks.0.attn.hook_pattern", outputDirectory: out)) {
            XCTAssertTrue("\($0)".contains("hook_pattern"), "\($0)")
        }
        XCTAssertThrowsError(try TrainingRun(modelDirectory: BundledModel.folder, tokens: BundledModel.evalTokens,
                                             contextLength: 129, outputDirectory: out)) {
            XCTAssertTrue("\($0)".contains("n_ctx"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written before run()")
    }
}
