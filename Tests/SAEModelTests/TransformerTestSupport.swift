import Foundation
import SAEKernels
@testable import SAEModel
import XCTest

/// Shared pieces of the transformer tests.
enum TransformerFixture {
    static let folder = Fixtures.model

    static func model() throws -> Transformer { try Transformer(contentsOf: folder) }

    static func reference() throws -> SafetensorsFile {
        try SafetensorsFile(contentsOf: Fixtures.url("tiny-gelu-1l/reference.safetensors"))
    }

    /// `tokens` of the reference, `[4, 128]`.
    static func tokens(_ reference: SafetensorsFile) throws -> TokenBatch {
        let shape = try reference.info("tokens").shape
        return TokenBatch(ids: try reference.ints("tokens").map { Int32($0) }, batch: shape[0], seq: shape[1])
    }

    /// A small config for random-weight models.
    static func smallConfig(layers: Int = 2, activation: TransformerConfig.ActivationFunction = .gelu,
                            normalization: TransformerConfig.Normalization = .layerNorm) -> TransformerConfig {
        TransformerConfig(nLayers: layers, dModel: 48, nHeads: 3, dHead: 16, dMLP: 96, dVocab: 97, nCtx: 40,
                          activation: activation, normalization: normalization)
    }

    static func randomTokens(batch: Int, seq: Int, vocab: Int, seed: UInt64) -> TokenBatch {
        var rng = SeededRandom(seed: seed)
        return TokenBatch(ids: (0..<(batch * seq)).map { _ in Int32(rng.int(below: vocab)) }, batch: batch, seq: seq)
    }
}

/// The parity tolerance: `|a - b| <= tol * max(1, |b|)` elementwise (`b` the reference).
/// Returns the largest `|a - b| / max(1, |b|)` seen and fails when it exceeds `tol`.
@discardableResult
func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ name: String,
                 file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(a.count, b.count, "\(name): count", file: file, line: line)
    var worst: Float = 0, worstIndex = 0
    for i in 0..<min(a.count, b.count) {
        let e = abs(a[i] - b[i]) / max(1, abs(b[i]))
        // A NaN or an infinity (in either array) is the worst error and stays so.
        guard e.isFinite else { worst = .nan; worstIndex = i; break }
        if e > worst { worst = e; worstIndex = i }
    }
    XCTAssertTrue(worst <= tol, "\(name): scaled error \(worst) at \(worstIndex) (\(a[worstIndex]) vs \(b[worstIndex])) > \(tol)",
                  file: file, line: line)
    return worst
}
