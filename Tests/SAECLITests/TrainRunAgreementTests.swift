import Foundation
import SAEModel
import XCTest

/// `sae train` is `TrainingRun` with the options read in: the library's run with the same
/// small budget writes the same bytes (weights, frequency snapshots, metrics) as the CLI.
extension CLITests {
    func testTheLibraryRunWritesTheBytesOfSaeTrain() throws {
        let cliOut = temp("agree-cli"), libOut = temp("agree-lib")
        defer { for u in [cliOut, libOut] { try? FileManager.default.removeItem(at: u) } }
        let r = try run(["train", "--train-tokens", "16384", "--batch", "1024", "--eval-contexts", "4", "--threads", "2",
                         "--no-analysis", "--out", cliOut.path])
        XCTAssertEqual(r.status, 0, r.err)

        var lib = try TrainingRun.bundled(outputDirectory: libOut)
        lib.config.trainTokens = 16384
        lib.config.batchSize = 1024
        lib.config.threads = 2
        lib.evalContexts = 4
        lib.analysis = nil
        _ = try lib.run()

        for file in ["sae/sae_weights.safetensors", "sae/cfg.json", "feature_frequencies.safetensors", "metrics.json"] {
            let a = try Data(contentsOf: cliOut.appendingPathComponent(file))
            let b = try Data(contentsOf: libOut.appendingPathComponent(file))
            XCTAssertFalse(a.isEmpty, file)
            XCTAssertEqual(a, b, "\(file): sae train and TrainingRun differ")
        }
    }
}
