import Foundation
import SAEModel

/// The library's bundled model and tokens (`BundledModel`), with the CLI's error when a build
/// lacks them.
enum DefaultAssets {
    static func require<T>(_ value: () throws -> T) throws -> T {
        do { return try value() } catch {
            throw RunError(message: "the bundled default model is missing from this build; pass --model DIR and --tokens FILE")
        }
    }

    static var model: URL { get throws { try require { try BundledModel.folder } } }
    static var trainTokens: URL { get throws { try require { try BundledModel.trainTokens } } }
    static var evalTokens: URL { get throws { try require { try BundledModel.evalTokens } } }
    static var tokenizer: URL { get throws { try require { try BundledModel.tokenizer } } }
}
