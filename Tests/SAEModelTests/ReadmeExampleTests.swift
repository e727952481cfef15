import XCTest
import SAEKernels
import SAEModel

/// The README's library example, on the fixture model with small sizes: if this stops
/// compiling or running, the README is wrong.
final class ReadmeExampleTests: XCTestCase {
    func testLibraryExample() throws {
        // A model, its tokens, and a stream of its MLP activations.
        let model = try Transformer(contentsOf: Fixtures.url("tiny-gelu-1l"))
        let contexts = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"), vocabSize: model.config.dVocab)
            .contexts(length: 128, bos: 0)
        let source = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.mlp.hook_post",
                                               skipBOS: true, wrapAround: true)
        // Train a TopK SAE.
        var config = TrainingConfig()
        config.architecture = .topk
        config.dSae = 1024
        config.k = 16
        config.batchSize = 512
        config.bufferBatches = 4
        config.trainTokens = 512 * 6
        config.initSampleRows = 512
        let trainer = try SAETrainer(config: config, source: source)
        var lines: [String] = []
        try trainer.train { record in lines.append(record.jsonLine()) }
        let sae = trainer.autoencoder()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-readme-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try sae.save(to: dir)
        // Use it.
        let (codes, xHat) = sae.reconstruct(Matrix(rows: 4, cols: sae.dIn))
        let metrics = try SAEEvaluation.evaluate(sae: sae, model: model, contexts: contexts,
                                                 hook: "blocks.0.mlp.hook_post", maxContexts: 2)
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(codes.rows, 4)
        XCTAssertEqual(xHat.cols, sae.dIn)
        XCTAssertTrue(metrics.lossRecovered.isFinite)
        XCTAssertEqual(try SparseAutoencoder.load(from: dir).dSae, 1024)
    }
}
