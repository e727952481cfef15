import XCTest
import SAEKernels
@testable import SAEModel

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

/// `max |a - b| <= relative * max |b|`; a NaN or an infinity in either array fails.
func assertArraysClose(_ a: [Float], _ b: [Float], relative: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    var scale: Float = 1e-6
    for (i, v) in b.enumerated() {
        guard v.isFinite else { return XCTFail("\(what): expected element \(i) is \(v)", file: file, line: line) }
        scale = max(scale, abs(v))
    }
    var worst: Float = 0, at = -1
    for i in 0..<min(a.count, b.count) {
        let d = abs(a[i] - b[i])
        guard d.isFinite else { return XCTFail("\(what): element \(i) is \(a[i]), expected \(b[i])", file: file, line: line) }
        if d > worst { worst = d; at = i }
    }
    XCTAssertLessThanOrEqual(worst, relative * scale, "\(what): element \(at) differs by \(worst) (scale \(scale))", file: file, line: line)
}
