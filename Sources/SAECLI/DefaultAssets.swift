import Foundation

/// The small model and tokens bundled with the `sae` command (see Default/tiny-gelu-1l).
enum DefaultAssets {
    static var folder: URL? {
        Bundle.module.url(forResource: "tiny-gelu-1l", withExtension: nil, subdirectory: "Default")
    }

    static func require() throws -> URL {
        guard let f = folder, FileManager.default.fileExists(atPath: f.appendingPathComponent("model.safetensors").path) else {
            throw RunError(message: "the bundled default model is missing from this build; pass --model DIR and --tokens FILE")
        }
        return f
    }

    static var model: URL { get throws { try require() } }
    static var trainTokens: URL { get throws { try require().appendingPathComponent("tokens-train.bin") } }
    static var evalTokens: URL { get throws { try require().appendingPathComponent("tokens-eval.bin") } }
    static var tokenizer: URL { get throws { try require().appendingPathComponent("tokenizer.json") } }
}
