import Foundation
import SAEKernels

/// The hyper-parameters of a GPT-2 style decoder-only transformer as TransformerLens
/// describes it (`HookedTransformerConfig`): learned positional embeddings, pre-norm blocks
/// `resid_mid = resid_pre + attn(ln1(resid_pre))`, `resid_post = resid_mid + mlp(ln2(resid_mid))`,
/// a final LayerNorm and an unembedding with bias.
///
/// Coding keys are the `config.json` names (`n_layers`, `d_model`, ..., `act_fn`,
/// `normalization_type`, `eps`).
public struct TransformerConfig: Sendable, Equatable, Codable {
    /// The MLP nonlinearity.
    public enum ActivationFunction: String, Sendable, Codable, CaseIterable {
        /// `gelu(x) = 0.5 x (1 + erf(x / sqrt(2)))` (TransformerLens `gelu`).
        case gelu
        /// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (TransformerLens `gelu_new`).
        case geluNew = "gelu_new"
    }

    /// The normalization before attention, MLP and unembedding.
    public enum Normalization: String, Sendable, Codable, CaseIterable {
        /// `(x - mean) / sqrt(var + eps) * w + b` (TransformerLens `LN`).
        case layerNorm = "LN"
        /// `(x - mean) / sqrt(var + eps)`, no weight or bias (TransformerLens `LNPre`,
        /// weights folded into the following matrices).
        case layerNormPre = "LNPre"
    }

    public var nLayers: Int
    public var dModel: Int
    public var nHeads: Int
    public var dHead: Int
    public var dMLP: Int
    public var dVocab: Int
    /// The longest context (rows of `pos_embed.W_pos`).
    public var nCtx: Int
    public var activation: ActivationFunction
    public var normalization: Normalization
    /// LayerNorm epsilon, inside the square root.
    public var eps: Float

    enum CodingKeys: String, CodingKey {
        case nLayers = "n_layers", dModel = "d_model", nHeads = "n_heads", dHead = "d_head", dMLP = "d_mlp"
        case dVocab = "d_vocab", nCtx = "n_ctx", activation = "act_fn", normalization = "normalization_type", eps
    }

    public init(nLayers: Int, dModel: Int, nHeads: Int, dHead: Int, dMLP: Int, dVocab: Int, nCtx: Int,
                activation: ActivationFunction = .gelu, normalization: Normalization = .layerNorm,
                eps: Float = 1e-5) {
        self.nLayers = nLayers
        self.dModel = dModel
        self.nHeads = nHeads
        self.dHead = dHead
        self.dMLP = dMLP
        self.dVocab = dVocab
        self.nCtx = nCtx
        self.activation = activation
        self.normalization = normalization
        self.eps = eps
    }

    /// NeelNanda's gelu-1l: 1 layer, d_model 512, 8 heads of 64, d_mlp 2048, d_vocab 48262,
    /// n_ctx 1024, exact GELU, LayerNorm.
    public static let gelu1l = TransformerConfig(
        nLayers: 1, dModel: 512, nHeads: 8, dHead: 64, dMLP: 2048, dVocab: 48262, nCtx: 1024)

    /// Reads a TransformerLens `config.json`. Unknown keys are ignored; keys that would
    /// change the architecture into one this implementation does not run (rotary or no
    /// positional embeddings, attention-only, parallel attention and MLP, gated MLP, RMS
    /// norm, grouped-query or local attention, another activation) throw, naming the key.
    /// `eps` defaults to 1e-5 and `normalization_type` to `LN`.
    public init(contentsOf url: URL) throws {
        let path = url.path
        func fail(_ reason: String) -> TransformerError { .invalidConfig(file: path, reason: reason) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw fail("cannot read: \(error.localizedDescription)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse([UInt8](data)) } catch { throw fail("not valid JSON: \(error)") }
        guard let members = json.objectValue?.members else { throw fail("top level is a JSON \(json.kind), not an object") }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members { fields[key] = value }

        func positiveInt(_ key: String) throws -> Int {
            guard let value = fields[key] else { throw fail("missing '\(key)'") }
            guard case let .integer(n) = value, n > 0 else { throw fail("'\(key)' must be a positive integer") }
            return n
        }
        func string(_ key: String) throws -> String? {
            guard let value = fields[key], value != .null else { return nil }
            guard case let .string(s) = value else { throw fail("'\(key)' must be a string, found a \(value.kind)") }
            return s
        }
        func bool(_ key: String) throws -> Bool? {
            guard let value = fields[key], value != .null else { return nil }
            guard case let .bool(b) = value else { throw fail("'\(key)' must be a boolean, found a \(value.kind)") }
            return b
        }

        let actName = try string("act_fn") ?? { throw fail("missing 'act_fn'") }()
        guard let activation = ActivationFunction(rawValue: actName) else {
            throw fail("act_fn '\(actName)' is not supported (supported: gelu, gelu_new)")
        }
        let normalization: Normalization
        if let value = fields["normalization_type"], value == .null {
            throw fail("normalization_type null (no normalization) is not supported (supported: LN, LNPre)")
        }
        let normName = try string("normalization_type") ?? "LN"
        guard let n = Normalization(rawValue: normName) else {
            throw fail("normalization_type '\(normName)' is not supported (supported: LN, LNPre)")
        }
        normalization = n
        var eps: Float = 1e-5
        if let value = fields["eps"] {
            switch value {
            case let .double(d) where d >= 0:
                eps = Float(d)
                guard eps.isFinite else { throw fail("'eps' \(d) is beyond Float range") }
            case let .integer(i) where i >= 0: eps = Float(i)
            default: throw fail("'eps' must be a non-negative number")
            }
        }

        if let p = try string("positional_embedding_type"), p != "standard" {
            throw fail("positional_embedding_type '\(p)' is not supported (supported: standard)")
        }
        if let dir = try string("attention_dir"), dir != "causal" {
            throw fail("attention_dir '\(dir)' is not supported (supported: causal)")
        }
        for key in ["attn_only", "parallel_attn_mlp", "gated_mlp", "final_rms", "use_local_attn"] where try bool(key) == true {
            throw fail("'\(key)': true is not supported")
        }
        if try bool("use_attn_scale") == false { throw fail("'use_attn_scale': false is not supported") }
        if let kv = fields["n_key_value_heads"], kv != .null {
            throw fail("'n_key_value_heads' (grouped-query attention) is not supported")
        }

        self.init(nLayers: try positiveInt("n_layers"), dModel: try positiveInt("d_model"),
                  nHeads: try positiveInt("n_heads"), dHead: try positiveInt("d_head"),
                  dMLP: try positiveInt("d_mlp"), dVocab: try positiveInt("d_vocab"),
                  nCtx: try positiveInt("n_ctx"), activation: activation, normalization: normalization, eps: eps)
        if let value = fields["d_vocab_out"], case let .integer(out) = value, out != -1 && out != dVocab {
            throw fail("d_vocab_out \(out) differs from d_vocab \(dVocab) (not supported)")
        }
        if let tooLarge = sizeOverflow() { throw fail(tooLarge) }
    }

    /// The first weight (or the stacked `[W_Q | W_K | W_V]`) whose Float32 byte count does
    /// not fit in `Int`, described; nil when all fit, so every size product the model
    /// computes from the config is representable.
    func sizeOverflow() -> String? {
        let weights: [(name: String, dims: [Int])] = [
            ("embed.W_E", [dVocab, dModel]), ("pos_embed.W_pos", [nCtx, dModel]),
            ("W_Q | W_K | W_V", [3, nHeads, dHead, dModel]), ("mlp.W_in", [dModel, dMLP]),
            ("all layers' mlp.W_in", [nLayers, dModel, dMLP]),
        ]
        for (name, dims) in weights {
            var bytes = MemoryLayout<Float>.size
            for d in dims {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
                if overflow { return "sizes too large: \(name) \(dims.map(String.init).joined(separator: " x ")) Floats overflow a 64-bit byte count" }
                bytes = product
            }
        }
        return nil
    }

    /// `n_heads * d_head`: the width of the attention's `z`.
    public var attentionWidth: Int { nHeads * dHead }

    /// Checks that every size is positive and `eps >= 0`.
    package func checkValid() {
        precondition(nLayers > 0 && dModel > 0 && nHeads > 0 && dHead > 0 && dMLP > 0 && dVocab > 0 && nCtx > 0,
                     "TransformerConfig: every size must be positive: \(self)")
        precondition(eps >= 0, "TransformerConfig: eps must be >= 0, got \(eps)")
    }

    /// The GELU kernel variant for `activation`.
    var geluVariant: GELU.Variant { activation == .gelu ? .exact : .tanh }
}
