import XCTest
import SAEKernels
import SAEModel

/// The README's library examples, on the bundled model with small sizes: if these stop
/// compiling or running, the README is wrong.
final class ReadmeExampleTests: XCTestCase {
    /// "`sae train`'s default job in a few lines", on a tiny budget.
    func testRunExample() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-readme-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var run = try TrainingRun.bundled(outputDirectory: out)
        run.config.trainTokens = 2048                  // README: 1_000_000
        // Test sizes only (the README keeps the defaults).
        run.config.batchSize = 512
        run.config.bufferBatches = 4
        run.config.initSampleRows = 512
        run.config.threads = 2
        run.evalContexts = 2
        run.analysis?.contexts = 2
        run.analysis?.cardCount = 2
        run.analysis?.downstreamContexts = 1
        run.analysis?.positionContexts = 0
        var phases: [String] = []
        var logs = 0
        let result = try run.run { event in
            if case .phase(let text) = event { phases.append(text) }
            if case .log = event { logs += 1 }
        }
        XCTAssertTrue(result.metrics.lossRecovered.isFinite)
        XCTAssertEqual(result.reportFile?.lastPathComponent, "report.html")
        XCTAssertEqual(logs, 1, "4 steps, a record every 10 and at the last")
        XCTAssertTrue(phases.contains("training"), "\(phases)")
        for file in ["sae/cfg.json", "sae/sae_weights.safetensors", "training_log.jsonl", "feature_frequencies.safetensors",
                     "metrics.json", "analysis.json", "report.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        XCTAssertEqual(try SparseAutoencoder.load(from: result.saeDirectory).dSae, 2048, "4 x d_mlp 512")
    }

    /// "The pieces it is made of, used one by one".
    func testPiecesExample() throws {
        // A model, its tokens, and a stream of its MLP activations.
        let model = try Transformer(contentsOf: BundledModel.folder)
        let contexts = try TokenDataset(contentsOf: BundledModel.trainTokens, vocabSize: model.config.dVocab)
            .contexts(length: 128, bos: 0)
        let source = try ModelActivationSource(model: model, contexts: contexts, hook: "blocks.0.mlp.hook_post",
                                               skipBOS: true, wrapAround: true)
        // Train a TopK SAE (the recommended config, 16384 latents: 1024 here).
        var config = TrainingConfig()
        config.dSae = 1024
        // Test sizes only.
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
        XCTAssertEqual(lines.count, 1, "6 steps, a record every 10 and at the last")
        XCTAssertEqual(codes.rows, 4)
        XCTAssertEqual(xHat.cols, sae.dIn)
        XCTAssertTrue(metrics.lossRecovered.isFinite)
        XCTAssertEqual(try SparseAutoencoder.load(from: dir).dSae, 1024)
    }
}
