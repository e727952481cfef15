import Foundation
import SAEKernels

/// What a feature does downstream: the change in the model's next-token log-probabilities
/// when the feature alone is removed from the spliced reconstruction, on its top contexts.
///
/// For each example (a context and a firing position `p`): the hook is replaced by the SAE's
/// reconstruction `x̂` in one run and by `x̂ - f_j d'_j` (the reconstruction decoded without
/// feature `j`) in another; with `lp` and `lp'` the log-softmax of the two runs' logits at
/// `p`, `Δ(v) = lp'(v) - lp(v)` for every token `v`. `nextTokenDelta` is `Δ` of the context's
/// actual next token (nil at the last position). `meanNextTokenDelta` averages it;
/// `mostDecreased` / `mostIncreased` are the tokens with the lowest / highest mean `Δ` over
/// the examples: removing the feature makes the first less likely — the feature promotes them.
public struct DownstreamEffectResult: Codable, Sendable, Equatable {
    public struct Example: Codable, Sendable, Equatable {
        public var context: Int
        public var position: Int
        public var nextToken: Int32?
        public var nextTokenText: String?
        public var nextTokenDelta: Double?
    }

    public var feature: Int
    public var examples: [Example]
    public var meanNextTokenDelta: Double
    public var mostDecreased: [TokenValue]
    public var mostIncreased: [TokenValue]
}

public enum DownstreamEffect {
    /// On `examples` (`(context tokens, position, label)`, all contexts of one length).
    public static func measure(sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer?, feature j: Int,
                               examples: [(tokens: [Int32], position: Int, label: Int)], topTokens: Int = 10,
                               hook: String? = nil, threads: Int = Parallel.defaultThreads) throws -> DownstreamEffectResult {
        precondition(j >= 0 && j < sae.dSae, "DownstreamEffect: feature \(j) outside 0..<\(sae.dSae)")
        let hook = hook ?? sae.metadata.hookName
        guard !examples.isEmpty else {
            return DownstreamEffectResult(feature: j, examples: [], meanNextTokenDelta: .nan, mostDecreased: [], mostIncreased: [])
        }
        let seq = examples[0].tokens.count
        precondition(examples.allSatisfy { $0.tokens.count == seq && $0.position >= 0 && $0.position < seq },
                     "DownstreamEffect: contexts of one length, positions inside them")
        let tokens = TokenBatch(examples.map(\.tokens))
        var removed = [Bool](repeating: false, count: sae.dSae)
        removed[j] = true
        func finalRows(removing: Bool) throws -> Matrix {
            let final = "ln_final.hook_normalized"
            let run = try model.run(tokens, capture: [final], interventions: [hook: { m in
                var codes = sae.encodeSparse(m, threads: threads)
                if removing { codes = SplicedBatch.removing(removed, from: codes) }
                m = sae.decode(codes, threads: threads)
            }], stopAfter: final, threads: threads)
            let all = run.activations[final]!
            // Only the rows of the firing positions.
            var rows = Matrix(rows: examples.count, cols: all.cols)
            rows.withUnsafeMutableBufferPointer { r in all.withUnsafeBufferPointer { a in
                for (i, e) in examples.enumerated() {
                    (r.baseAddress! + i * all.cols).update(from: a.baseAddress! + (i * seq + e.position) * all.cols, count: all.cols)
                }
            }}
            return rows
        }
        let spliced = model.logits(fromFinalNormalized: try finalRows(removing: false), threads: threads)
        let ablated = model.logits(fromFinalNormalized: try finalRows(removing: true), threads: threads)
        let vocab = model.config.dVocab
        var meanDelta = [Double](repeating: 0, count: vocab)
        var out: [DownstreamEffectResult.Example] = []
        var nextSum = 0.0, nextCount = 0
        spliced.withUnsafeBufferPointer { s in ablated.withUnsafeBufferPointer { a in
            for (i, e) in examples.enumerated() {
                let lp = logSoftmax(UnsafeBufferPointer(rebasing: s[(i * vocab)..<((i + 1) * vocab)]))
                let lpa = logSoftmax(UnsafeBufferPointer(rebasing: a[(i * vocab)..<((i + 1) * vocab)]))
                for v in 0..<vocab { meanDelta[v] += (lpa[v] - lp[v]) / Double(examples.count) }
                var ex = DownstreamEffectResult.Example(context: e.label, position: e.position)
                if e.position + 1 < seq {
                    let next = e.tokens[e.position + 1]
                    let d = lpa[Int(next)] - lp[Int(next)]
                    ex.nextToken = next
                    ex.nextTokenText = FeatureContexts.tokenText(next, tokenizer)
                    ex.nextTokenDelta = d
                    nextSum += d; nextCount += 1
                }
                out.append(ex)
            }
        }}
        let order = meanDelta.indices.sorted { meanDelta[$0] < meanDelta[$1] || (meanDelta[$0] == meanDelta[$1] && $0 < $1) }
        let tv = { (v: Int) in TokenValue(id: Int32(v), token: FeatureContexts.tokenText(Int32(v), tokenizer), value: meanDelta[v]) }
        return DownstreamEffectResult(feature: j, examples: out, meanNextTokenDelta: nextCount > 0 ? nextSum / Double(nextCount) : .nan,
                                      mostDecreased: order.prefix(topTokens).map(tv),
                                      mostIncreased: order.suffix(topTokens).reversed().map(tv))
    }

    /// On feature `j`'s top contexts from a collector's pass (at most `contexts` of them).
    package static func measure(sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer?, feature j: Int,
                               statistics stats: FeatureStatistics, contexts: Int = 8, topTokens: Int = 10,
                               threads: Int = Parallel.defaultThreads) throws -> DownstreamEffectResult {
        let events = stats.topActivations(j).prefix(contexts)
        let examples = events.map { e in
            (tokens: Array(stats.tokens(ofContextAt: stats.contextIndex(ofLabel: e.context)!)), position: e.position, label: e.context)
        }
        return try measure(sae: sae, model: model, tokenizer: tokenizer, feature: j, examples: examples,
                           topTokens: topTokens, hook: stats.hook, threads: threads)
    }
}
