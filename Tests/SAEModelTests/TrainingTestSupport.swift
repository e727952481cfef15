import XCTest
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport

/// Deterministic nonnegative-ish activation rows (like post-GELU MLP activations).
func activationRows(_ rows: Int, _ dIn: Int, seed: UInt64) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<(rows * dIn)).map { _ in max(-0.17, rng.normal() * 0.8 + 0.1) }
}

/// A small training config for tests.
func smallConfig(_ arch: SAEArchitecture, dSae: Int = 48, batch: Int = 32, tokens: Int = 32 * 20) -> TrainingConfig {
    var c = TrainingConfig.plain
    c.architecture = arch
    c.dSae = dSae
    c.k = 4
    c.l1Coefficient = 0.5
    c.batchSize = batch
    c.trainTokens = tokens
    c.bufferBatches = 4
    c.learningRate = 1e-3
    c.logEverySteps = 5
    c.frequencyWindowTokens = 64
    c.initSampleRows = 64
    c.threads = 2
    return c
}

/// Norm-wise closeness: every `|a[i] - b[i]| <= relative * max(1e-6, max_j |b[j]|)` (the
/// max over finite `b[j]`; `assertClose` with that absolute tolerance, so a NaN or an
/// infinity where `b` is finite fails).
func assertArraysClose(_ a: [Float], _ b: [Float], relative: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let scale = b.reduce(Float(1e-6)) { $1.isFinite ? Swift.max($0, Swift.abs($1)) : $0 }
    assertClose(a, b, atol: Double(relative * scale), what, file: file, line: line)
}
