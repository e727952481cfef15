/// What an SAE was trained on and how to use it, plus every `cfg.json` key SAEKit does not
/// model, so a loaded SAELens folder is written back with the same content.
///
/// In SAELens's `cfg.json` the modelled fields live in the `metadata` object as
/// `hook_name`, `context_size`, `prepend_bos` and `model_name`. When a file lacks one,
/// loading uses the default below (the fixture SAEs' `cfg.json` files have none of them):
/// `hookName` = `blocks.0.mlp.hook_post` (the hook SAEKit trains on, and the hook the
/// tiny-gelu-1l fixture SAEs were trained on), `contextSize` = 128 (tiny-gelu-1l's `n_ctx`),
/// `prependBos` = true (SAELens's default). `defaultedKeys` lists which were filled in.
public struct SAEMetadata: Sendable, Equatable {
    public static let defaultHookName = "blocks.0.mlp.hook_post"
    public static let defaultContextSize = 128
    public static let defaultPrependBos = true

    /// The TransformerLens hook the SAE reads (`metadata.hook_name`).
    public var hookName: String
    /// Tokens per sequence the activations came from (`metadata.context_size`).
    public var contextSize: Int
    /// Whether each sequence started with BOS (`metadata.prepend_bos`).
    public var prependBos: Bool
    /// The model's name (`metadata.model_name`), when known.
    public var modelName: String?
    /// Free-form string entries, written into `metadata` (sorted by key). Loading puts
    /// every string-valued `metadata` entry SAEKit does not model here.
    public var extra: [String: String]
    /// The other `metadata` entries (objects, numbers, ...), in file order.
    public var otherMetadata: JSONObject
    /// The top-level `cfg.json` keys SAEKit does not model (`device`, `reshape_activations`, ...),
    /// in file order.
    public var otherConfig: JSONObject
    /// The `metadata` keys among `hook_name`, `context_size`, `prepend_bos` that were absent
    /// from the loaded file and took their defaults (empty for a new SAE).
    public var defaultedKeys: [String]

    public init(hookName: String = SAEMetadata.defaultHookName,
                contextSize: Int = SAEMetadata.defaultContextSize,
                prependBos: Bool = SAEMetadata.defaultPrependBos,
                modelName: String? = nil, extra: [String: String] = [:],
                otherMetadata: JSONObject = [:], otherConfig: JSONObject = [:],
                defaultedKeys: [String] = []) {
        self.hookName = hookName
        self.contextSize = contextSize
        self.prependBos = prependBos
        self.modelName = modelName
        self.extra = extra
        self.otherMetadata = otherMetadata
        self.otherConfig = otherConfig
        self.defaultedKeys = defaultedKeys
    }
}
