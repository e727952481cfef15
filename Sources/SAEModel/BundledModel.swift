import Foundation

/// The small model and tokens shipped with the library (a resource of `SAEModel`, from
/// `Sources/SAEModel/Resources/tiny-gelu-1l`): tiny-gelu-1l, a one-layer GELU transformer
/// (d_model 128, d_mlp 512, vocabulary 4096, n_ctx 128) in TransformerLens layout, its
/// tokenizer, 2.5M training tokens and held-out evaluation tokens (uint16 little-endian,
/// `<|endoftext|>` = 0 before each source file). What `sae train` trains on with no options.
public enum BundledModel {
    /// The model folder (`config.json`, `model.safetensors`, `tokenizer.json`, the token files).
    /// Throws when this build lacks the resource.
    public static var folder: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "tiny-gelu-1l", withExtension: nil),
                  FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path) else {
                throw FileAccessError(path: "tiny-gelu-1l", reason: "the bundled model is missing from this build (SAEModel's resources)")
            }
            return url
        }
    }

    /// `tokens-train.bin`: the first 2,500,000 tokens of the model's training tokens.
    public static var trainTokens: URL { get throws { try folder.appendingPathComponent("tokens-train.bin") } }
    /// `tokens-eval.bin`: held-out tokens, never trained on.
    public static var evalTokens: URL { get throws { try folder.appendingPathComponent("tokens-eval.bin") } }
    /// `tokenizer.json` (byte-level BPE; `<|endoftext|>` is id 0).
    public static var tokenizer: URL { get throws { try folder.appendingPathComponent("tokenizer.json") } }
}
