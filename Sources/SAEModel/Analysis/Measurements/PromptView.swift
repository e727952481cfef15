import SAEKernels

/// A feature's activation on one token.
public struct FeatureValue: Codable, Sendable, Equatable {
    public var feature: Int
    public var activation: Float
}

/// Which features fire on each token of a text, with their activations.
///
/// The text is tokenized (BOS first when given), run through the model to the hook, and
/// encoded; each token lists its nonzero features, largest activation first, at most
/// `featuresPerToken` of them (all of `only` when given: just those features). Texts longer
/// than the model's `n_ctx` are cut (`truncated`).
public struct PromptViewResult: Codable, Sendable, Equatable {
    public struct Token: Codable, Sendable, Equatable {
        public var id: Int32
        public var text: String
        /// Nonzero features on this token (among `only` when given), before the `featuresPerToken` cut.
        public var active: Int
        public var features: [FeatureValue]
    }

    public var text: String
    public var truncated: Bool
    public var tokens: [Token]
}

public enum PromptView {
    public static func compute(sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer, text: String,
                               bos: Int32? = nil, featuresPerToken: Int = 8, only: [Int]? = nil, hook: String? = nil,
                               threads: Int = Parallel.defaultThreads) throws -> PromptViewResult {
        var ids = (bos.map { [$0] } ?? []) + tokenizer.encode(text)
        let truncated = ids.count > model.config.nCtx
        if truncated { ids = Array(ids.prefix(model.config.nCtx)) }
        guard !ids.isEmpty else { return PromptViewResult(text: text, truncated: false, tokens: []) }
        let hook = hook ?? sae.metadata.hookName
        let x = try model.run(TokenBatch([ids]), capture: [hook], threads: threads).activations[hook]!
        guard x.cols == sae.dIn else { throw AnalysisError.shapeMismatch("hook '\(hook)' has width \(x.cols), d_in is \(sae.dIn)") }
        let codes = sae.encodeSparse(x, threads: threads)
        let filter = only.map(Set.init)
        let tokens = ids.enumerated().map { (t, id) -> PromptViewResult.Token in
            var fs: [FeatureValue] = []
            for e in codes.offsets[t]..<codes.offsets[t + 1] where codes.values[e] != 0 {
                let j = Int(codes.indices[e])
                if filter == nil || filter!.contains(j) { fs.append(FeatureValue(feature: j, activation: codes.values[e])) }
            }
            let active = fs.count
            fs.sort { $0.activation > $1.activation || ($0.activation == $1.activation && $0.feature < $1.feature) }
            if filter == nil { fs = Array(fs.prefix(featuresPerToken)) }
            return .init(id: id, text: tokenizer.decode([id]), active: active, features: fs)
        }
        return PromptViewResult(text: text, truncated: truncated, tokens: tokens)
    }
}
