import SAEKernels

/// A window of tokens around one firing of a feature.
public struct ContextExample: Codable, Sendable, Equatable {
    /// The context's label and the firing position in it.
    public var context: Int
    public var position: Int
    public var activation: Float
    /// The position of `tokenIds[0]` in the context.
    public var windowStart: Int
    public var tokenIds: [Int32]
    /// Each token decoded on its own (`"#id"` without a tokenizer).
    public var tokens: [String]
    /// Index of the firing token in `tokenIds`.
    public var firingIndex: Int
    /// The feature's activation on each window token, when computed
    /// (`FeatureContexts.addWindowActivations`).
    public var activations: [Float]?
}

/// Examples from one band of a feature's activation distribution.
public struct QuantileBand: Codable, Sendable, Equatable {
    /// The band covers quantiles `[lowerQuantile, upperQuantile)` of the sampled firings.
    public var lowerQuantile: Double
    public var upperQuantile: Double
    public var minActivation: Float
    public var maxActivation: Float
    public var examples: [ContextExample]
}

/// How a feature reads in text: its top-activating contexts and examples from lower
/// quantiles of its activations.
///
/// `top`: the firings with the largest activations over the budget (from the collector's
/// heaps), largest first. `quantiles`: the uniform sample of all firings (the collector's
/// reservoir) sorted by activation and cut into `bands` equal-count bands, lowest first;
/// `perBand` examples evenly spaced within each. Every example shows `before` tokens before
/// the firing token and `after` after it (clipped to the context).
public struct FeatureContextsResult: Codable, Sendable, Equatable {
    public var feature: Int
    public var top: [ContextExample]
    public var quantiles: [QuantileBand]
}

public enum FeatureContexts {
    package static func build(statistics stats: FeatureStatistics, feature j: Int, tokenizer: BPETokenizer?,
                             top: Int? = nil, bands: Int = 4, perBand: Int = 2,
                             before: Int = 10, after: Int = 4) -> FeatureContextsResult {
        precondition(j >= 0 && j < stats.dSae, "FeatureContexts: feature \(j) outside 0..<\(stats.dSae)")
        let topEvents = Array(stats.topActivations(j).prefix(top ?? stats.topCapacity))
        let sample = Array(stats.sampledActivations(j).reversed())  // lowest first
        var quantiles: [QuantileBand] = []
        if !sample.isEmpty && bands > 0 {
            for b in 0..<bands {
                let lo = b * sample.count / bands, hi = (b + 1) * sample.count / bands
                guard lo < hi else { continue }
                let picks = Set((0..<perBand).map { lo + ($0 * 2 + 1) * (hi - lo) / (2 * max(1, perBand)) }).sorted()
                quantiles.append(QuantileBand(
                    lowerQuantile: Double(b) / Double(bands), upperQuantile: Double(b + 1) / Double(bands),
                    minActivation: sample[lo].activation, maxActivation: sample[hi - 1].activation,
                    examples: picks.filter { $0 < hi }.map { example(stats, sample[$0], tokenizer, before, after) }))
            }
        }
        return FeatureContextsResult(feature: j, top: topEvents.map { example(stats, $0, tokenizer, before, after) },
                                     quantiles: quantiles)
    }

    static func example(_ stats: FeatureStatistics, _ e: FeatureActivationEvent, _ tokenizer: BPETokenizer?,
                        _ before: Int, _ after: Int) -> ContextExample {
        let index = stats.contextIndex(ofLabel: e.context)!
        let ids = stats.tokens(ofContextAt: index)
        let start = max(0, e.position - before), end = min(stats.contextLength, e.position + after + 1)
        let window = Array(ids[(ids.startIndex + start)..<(ids.startIndex + end)])
        return ContextExample(context: e.context, position: e.position, activation: e.activation, windowStart: start,
                              tokenIds: window, tokens: window.map { tokenText($0, tokenizer) },
                              firingIndex: e.position - start, activations: nil)
    }

    /// The text of one token (`"#id"` without a tokenizer).
    static func tokenText(_ id: Int32, _ tokenizer: BPETokenizer?) -> String {
        tokenizer.map { $0.decode([id]) } ?? "#\(id)"
    }

    /// Fills `activations` of every example: reruns the examples' contexts up to the hook,
    /// encodes the window rows and reads the feature's activation on each.
    package static func addWindowActivations(_ result: inout FeatureContextsResult, statistics stats: FeatureStatistics,
                                            sae: SparseAutoencoder, model: Transformer, batchSize: Int = 16,
                                            threads: Int = Parallel.defaultThreads) throws {
        let j = result.feature
        var all = result.top
        for band in result.quantiles { all += band.examples }
        let contexts = Array(Set(all.map(\.context))).sorted()
        var values: [Int: [Float]] = [:]  // context label -> activation at each position (0 outside windows)
        var start = 0
        while start < contexts.count {
            let labels = Array(contexts[start..<min(contexts.count, start + batchSize)])
            let seqs = labels.map { Array(stats.tokens(ofContextAt: stats.contextIndex(ofLabel: $0)!)) }
            let x = try model.run(TokenBatch(seqs), capture: [stats.hook], threads: threads).activations[stats.hook]!
            // Encode only the rows inside some window.
            var rows: [Int] = []
            for (b, label) in labels.enumerated() {
                var wanted = Set<Int>()
                for e in all where e.context == label { for p in e.windowStart..<(e.windowStart + e.tokenIds.count) { wanted.insert(p) } }
                rows += wanted.sorted().map { b * stats.contextLength + $0 }
            }
            var sub = Matrix(rows: rows.count, cols: x.cols)
            sub.withUnsafeMutableBufferPointer { s in x.withUnsafeBufferPointer { xp in
                for (i, r) in rows.enumerated() {
                    (s.baseAddress! + i * x.cols).update(from: xp.baseAddress! + r * x.cols, count: x.cols)
                }
            }}
            let codes = sae.encodeSparse(sub, threads: threads)
            for label in labels { values[label] = [Float](repeating: 0, count: stats.contextLength) }
            for (i, r) in rows.enumerated() {
                for e in codes.offsets[i]..<codes.offsets[i + 1] where Int(codes.indices[e]) == j {
                    values[labels[r / stats.contextLength]]![r % stats.contextLength] = codes.values[e]
                }
            }
            start += batchSize
        }
        func fill(_ e: inout ContextExample) {
            let v = values[e.context]!
            e.activations = (0..<e.tokenIds.count).map { v[e.windowStart + $0] }
        }
        for i in result.top.indices { fill(&result.top[i]) }
        for b in result.quantiles.indices { for i in result.quantiles[b].examples.indices { fill(&result.quantiles[b].examples[i]) } }
    }
}
