import SAEKernels

/// A token and a value (a logit weight, a change in log-probability).
public struct TokenValue: Codable, Sendable, Equatable {
    public var id: Int32
    public var token: String
    public var value: Double
}

/// The tokens whose logits a feature's decoder direction raises and lowers most along the
/// direct path to the unembedding.
///
/// For an SAE on `blocks.L.mlp.hook_post`: `w = d_j W_out W_U` (`d_j = W_dec[j]`, `W_out`
/// `[d_mlp, d_model]`, `W_U` `[d_model, d_vocab]`); for an SAE on a residual-width hook:
/// `w = d_j W_U`. Direct path only: later blocks are skipped and the final LayerNorm is not
/// folded in (an `LNPre` model has its weights folded into `W_U` already). `top` are the `k`
/// largest entries of `w`, `bottom` the `k` smallest (most negative first).
public struct LogitWeightsResult: Codable, Sendable, Equatable {
    public var feature: Int
    public var top: [TokenValue]
    public var bottom: [TokenValue]
}

public enum LogitWeights {
    /// `w` for each of `features`, `[features.count, d_vocab]`.
    public static func weights(sae: SparseAutoencoder, model: Transformer, features: [Int], hook: String? = nil,
                               threads: Int = Parallel.defaultThreads) throws -> Matrix {
        let hook = hook ?? sae.metadata.hookName
        precondition(features.allSatisfy { $0 >= 0 && $0 < sae.dSae }, "LogitWeights: feature outside 0..<\(sae.dSae)")
        let dModel = model.config.dModel, vocab = model.config.dVocab
        var directions = Matrix(rows: features.count, cols: sae.dIn)
        directions.withUnsafeMutableBufferPointer { p in sae.wDec.withUnsafeBufferPointer { w in
            for (i, j) in features.enumerated() {
                (p.baseAddress! + i * sae.dIn).update(from: w.baseAddress! + j * sae.dIn, count: sae.dIn)
            }
        }}
        let residual: Matrix
        switch try model.analysisKind(ofHook: hook) {
        case let .mlpPost(layer):
            let wOut = model.mlpOutputWeight(layer: layer)
            guard wOut.rows == sae.dIn else { throw AnalysisError.shapeMismatch("W_out has \(wOut.rows) rows, d_in is \(sae.dIn)") }
            var r = Matrix(rows: features.count, cols: dModel)
            if !features.isEmpty {
                directions.withUnsafeBufferPointer { a in wOut.withUnsafeBufferPointer { b in r.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(.none, .none, m: features.count, n: dModel, k: sae.dIn, a: a.baseAddress!, lda: sae.dIn,
                                  b: b.baseAddress!, ldb: dModel, c: c.baseAddress!, ldc: dModel, threads: threads)
                }}}
            }
            residual = r
        case .residual:
            guard sae.dIn == dModel else { throw AnalysisError.shapeMismatch("d_in \(sae.dIn) is not d_model \(dModel)") }
            residual = directions
        case .other:
            throw AnalysisError.unsupportedHook(hook: hook, measurement: "logit weights",
                                                reason: "only mlp.hook_post and residual-width hooks have a direct path to the logits")
        }
        var out = Matrix(rows: features.count, cols: vocab)
        if !features.isEmpty {
            residual.withUnsafeBufferPointer { a in model.unembeddingWeight.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(.none, .none, m: features.count, n: vocab, k: dModel, a: a.baseAddress!, lda: dModel,
                                  b: b.baseAddress!, ldb: vocab, c: c.baseAddress!, ldc: vocab, threads: threads)
                }
            }}
        }
        return out
    }

    /// The `k` top and bottom tokens of each feature, 64 features per GEMM block.
    public static func measure(sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer?, features: [Int],
                               k: Int = 10, hook: String? = nil, threads: Int = Parallel.defaultThreads) throws -> [LogitWeightsResult] {
        var results: [LogitWeightsResult] = []
        var start = 0
        while start < features.count {
            let block = Array(features[start..<min(features.count, start + 64)])
            let w = try weights(sae: sae, model: model, features: block, hook: hook, threads: threads)
            for (i, j) in block.enumerated() {
                let row = w.row(i)
                let (top, bottom) = extremes(row, k: k)
                let tv = { (id: Int) in
                    TokenValue(id: Int32(id), token: FeatureContexts.tokenText(Int32(id), tokenizer), value: Double(row[id]))
                }
                results.append(LogitWeightsResult(feature: j, top: top.map(tv), bottom: bottom.map(tv)))
            }
            start += block.count
        }
        return results
    }

    /// Indices of the `k` largest (descending) and `k` smallest (ascending) values; ties by index.
    static func extremes(_ v: [Float], k: Int) -> (top: [Int], bottom: [Int]) {
        let k = min(k, v.count)
        let order = v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }
        return (Array(order.prefix(k)), Array(order.suffix(k).reversed()))
    }
}
