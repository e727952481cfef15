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
