import Foundation
import SAEKernels

/// The feature analyses of the published SAE studies, run together: one pass of
/// `FeatureStatisticsCollector` over the token budget feeds density, the ultra-low cluster,
/// loss when firing, top contexts, activation histograms, neuron correlation and quality by
/// position; the weight analyses read the SAE (and the model's `W_out`, `W_U`); a few small
/// passes follow (pruning, longer contexts, card features' downstream effect).
///
/// Every measurement is also callable on its own (`FeatureDensity`, `LossWhenFiring`,
/// `DecoderSparsity`, `DecoderKurtosis`, `EncoderDecoderCosine`, `NullSpaceFraction`,
/// `CrossRunMatching`, `FeatureContexts`, `LogitWeights`, `NeuronCorrelationAccumulator`,
/// `PromptView`, `DownstreamEffect`, `PositionQuality`, `DensityOverTraining`,
/// `HighFrequencyPruning`). `ReportWriter.write` turns the result into `report.html` and
/// `analysis.json`.
public enum FeatureAnalysis {
    /// Runs every analysis on contexts cut from `tokens` (length `options.contextLength`,
    /// BOS `options.bosToken`, both defaulting from the SAE's metadata).
    public static func run(sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer?, tokens: TokenDataset,
                           options: FeatureAnalysisOptions = FeatureAnalysisOptions(),
                           progress: ((String) -> Void)? = nil) throws -> AnalysisResult {
        let length = options.contextLength ?? min(sae.metadata.contextSize, model.config.nCtx)
        let bos = options.bosToken ?? (sae.metadata.prependBos ? tokenizer?.id(of: "<|endoftext|>") : nil)
        return try run(sae: sae, model: model, tokenizer: tokenizer, contexts: try tokens.contexts(length: length, bos: bos),
                       options: options, progress: progress)
    }

    /// Runs every analysis on `contexts` (`options.startContext ..< + options.contexts`).
    public static func run(sae: SparseAutoencoder, model: Transformer, tokenizer: BPETokenizer?, contexts: TokenContexts,
                           options o: FeatureAnalysisOptions = FeatureAnalysisOptions(),
                           progress: ((String) -> Void)? = nil) throws -> AnalysisResult {
        let hook = o.hook ?? sae.metadata.hookName
        guard o.startContext >= 0, o.contexts > 0, o.startContext < contexts.count else {
            throw AnalysisError.invalidArgument("no contexts in \(o.startContext)..<\(o.startContext + o.contexts) (the data has \(contexts.count))")
        }
        let range = o.startContext..<min(contexts.count, o.startContext + o.contexts)
        guard contexts.length <= model.config.nCtx else {
            throw AnalysisError.invalidArgument("contexts of \(contexts.length) tokens exceed the model's n_ctx \(model.config.nCtx)")
        }
        var skipped: [String: String] = [:]
        let excludeFirst = o.excludeFirstPosition ?? (ExcludedPositions.rule(for: sae, contexts: contexts) == .bos)

        // The main pass.
        progress?("feature statistics over \(range.count) contexts of \(contexts.length) tokens")
        var config = FeatureStatisticsCollector.Configuration()
        config.excludeFirstPosition = excludeFirst
        config.topActivations = max(o.topContexts, o.downstreamContexts, 1)
        config.samples = max(1, o.activationSamples)
        config.histogramBins = o.activationHistogramBins
        config.seed = o.seed
        config.threads = o.threads
        let correlateAll = sae.dSae * sae.dIn <= o.correlationEntryLimit
        config.correlationFeatures = correlateAll ? nil : (o.cardFeatures ?? [])
        let collector = try FeatureStatisticsCollector(sae: sae, model: model, hook: hook, configuration: config)
        try collector.add(contexts: contexts, range: range, batchSize: o.batchSize)
        let stats = collector.finish()
        guard stats.tokens > 0 else { throw noPositions(contexts: contexts, excludeFirstPosition: excludeFirst) }

        let density = FeatureDensity.compute(stats, ultraLowThreshold: o.ultraLowThreshold,
                                             highFrequencyThreshold: o.highFrequencyThreshold, binWidth: o.densityBinWidth)
        var cluster = UltraLowClusterGeometry.measure(sae: sae, statistics: stats, density: density,
                                                      cosineThreshold: o.clusterCosineThreshold)
        if cluster.largestCoFiringFraction == nil {
            progress?("co-firing of the ultra-low cluster")
            let c = try UltraLowClusterGeometry.coFiring(sae: sae, model: model, contexts: contexts, range: range,
                                                         features: cluster.features, excludeFirstPosition: excludeFirst,
                                                         batchSize: o.batchSize, hook: hook, threads: o.threads)
            cluster.largestCoFiringFraction = c.fraction
            cluster.coFiringToken = c.token
        }
        let lossWhenFiring = LossWhenFiring.compute(stats, ultraLowThreshold: o.ultraLowThreshold,
                                                    lowLossRatio: o.lowLossRatio, bucketWidth: o.lossBucketWidth)

        // Weights.
        progress?("weight analyses")
        let sparsity = DecoderSparsity.measure(sae)
        let kurtosis = DecoderKurtosis.measure(sae, seed: o.seed, bins: o.histogramBins)
        let cosine = EncoderDecoderCosine.measure(sae, bins: o.histogramBins)
        var nullSpace: NullSpaceResult? = nil
        do { nullSpace = try NullSpaceFraction.measure(sae: sae, model: model, hook: hook) } catch let e as AnalysisError {
            skipped["nullSpace"] = e.description
        }
        var crossRun: CrossRunMatchingResult? = nil
        if let other = o.comparison {
            do { crossRun = try CrossRunMatching.measure(sae, other, bins: o.histogramBins, threads: o.threads) } catch let e as AnalysisError {
                skipped["crossRun"] = e.description
            }
        }

        // Positions: longer contexts when the model allows.
        var positions = stats.positions
        if o.positionContexts > 0 && model.config.nCtx > contexts.length {
            progress?("quality by position over contexts of \(model.config.nCtx) tokens")
            let long = try contexts.dataset.contexts(length: model.config.nCtx, bos: contexts.bos)
            let n = min(long.count, o.positionContexts)
            if n > 0 {
                positions = try PositionQuality.measure(sae: sae, model: model, contexts: long, range: 0..<n,
                                                        batchSize: o.batchSize, excludeFirstPosition: excludeFirst,
                                                        hook: hook, threads: o.threads)
            }
        }

        let training = o.trainingSnapshots.flatMap { snapshots in
            snapshots.count == 0 ? nil
                : DensityOverTraining.compute(snapshots: snapshots, binWidth: o.densityBinWidth,
                                              ultraLowThreshold: o.ultraLowThreshold, highFrequencyThreshold: o.highFrequencyThreshold)
        }

        var pruning: PruningResult? = nil
        if o.prune {
            let threshold = o.pruneThreshold ?? o.highFrequencyThreshold
            let densities = density.densities
            if densities.contains(where: { $0 > threshold }) {
                progress?("pruning the high-frequency features")
                pruning = try HighFrequencyPruning.measure(
                    sae: sae, model: model, densities: densities, threshold: threshold, contexts: contexts, range: range,
                    batchSize: o.batchSize, excludeFirstPosition: excludeFirst, baseline: stats.quality,
                    hook: hook, threads: o.threads)
            } else {
                pruning = PruningResult(threshold: threshold, removed: [], baseline: stats.quality, pruned: stats.quality)
            }
        }

        var promptView: PromptViewResult? = nil
        if let text = o.promptText {
            if let tokenizer {
                promptView = try PromptView.compute(sae: sae, model: model, tokenizer: tokenizer, text: text,
                                                    bos: contexts.bos, hook: hook, threads: o.threads)
            } else {
                skipped["promptView"] = "no tokenizer"
            }
        }

        // Feature cards.
        let cards = o.cardFeatures ?? chooseCardFeatures(stats.fireCounts, count: o.cardCount)
        progress?("feature cards for \(cards.count) features")
        var correlation = stats.neuronCorrelation
        if !correlateAll && o.cardFeatures == nil && !cards.isEmpty {
            var c2 = FeatureStatisticsCollector.Configuration()
            c2.excludeFirstPosition = excludeFirst
            c2.measureLoss = false
            c2.correlationFeatures = cards
            c2.topActivations = 1; c2.samples = 1; c2.histogramBins = 2
            c2.threads = o.threads
            let second = try FeatureStatisticsCollector(sae: sae, model: model, hook: hook, configuration: c2)
            try second.add(contexts: contexts, range: range, batchSize: o.batchSize)
            correlation = second.finish().neuronCorrelation
        }
        var logits: [Int: LogitWeightsResult] = [:]
        do {
            for r in try LogitWeights.measure(sae: sae, model: model, tokenizer: tokenizer, features: cards, k: o.logitTokens,
                                              hook: hook, threads: o.threads) { logits[r.feature] = r }
        } catch let e as AnalysisError {
            skipped["logitWeights"] = e.description
        }
        let meanActivation = stats.meanActivationWhenFiring
        let meanLoss = lossWhenFiring.meanLoss
        var features: [FeatureCard] = []
        for j in cards {
            var ctx = FeatureContexts.build(statistics: stats, feature: j, tokenizer: tokenizer, top: o.topContexts,
                                            bands: o.quantileBands, perBand: o.examplesPerBand,
                                            before: o.tokensBefore, after: o.tokensAfter)
            try FeatureContexts.addWindowActivations(&ctx, statistics: stats, sae: sae, model: model,
                                                     batchSize: o.batchSize, threads: o.threads)
            let downstream = o.downstreamContexts > 0 && stats.fireCounts[j] > 0
                ? try DownstreamEffect.measure(sae: sae, model: model, tokenizer: tokenizer, feature: j, statistics: stats,
                                               contexts: o.downstreamContexts, topTokens: o.logitTokens, threads: o.threads)
                : nil
            let neuron = correlation?.entry(feature: j)
            features.append(FeatureCard(
                feature: j, density: density.densities[j], meanActivation: meanActivation[j],
                maxActivation: stats.maxActivations[j], meanLossWhenFiring: meanLoss[j],
                fveTop1: sparsity.fveTop1[j], fveNext9: sparsity.fveNext9[j], decoderKurtosis: kurtosis.kurtosis[j],
                encoderDecoderCosine: cosine.cosines[j], bestNeuron: neuron.flatMap { $0.neuron >= 0 ? $0.neuron : nil },
                neuronCorrelation: neuron.flatMap { $0.neuron >= 0 ? $0.correlation : nil }, contexts: ctx,
                activationHistogram: stats.activationHistogram(j), logitWeights: logits[j], downstream: downstream))
        }

        let subject = AnalysisSubject(
            hook: hook, architecture: sae.architecture.rawValue, dIn: sae.dIn, dSae: sae.dSae, k: sae.k,
            saeContextSize: sae.metadata.contextSize, modelName: sae.metadata.modelName, contexts: stats.contexts,
            contextLength: contexts.length, tokens: stats.tokens, excludedFirstPosition: excludeFirst)
        let summary = AnalysisSummary(quality: stats.quality, dead: density.dead, ultraLow: density.ultraLow,
                                      highFrequency: density.highFrequency, ultraLowThreshold: o.ultraLowThreshold,
                                      highFrequencyThreshold: o.highFrequencyThreshold)
        return AnalysisResult(
            subject: subject, summary: summary, density: density, ultraLowCluster: cluster, lossWhenFiring: lossWhenFiring,
            decoderSparsity: sparsity, kurtosis: kurtosis, encoderDecoderCosine: cosine, nullSpace: nullSpace,
            positions: positions, neuronCorrelation: correlation, densityOverTraining: training, pruning: pruning,
            crossRun: crossRun, promptView: promptView, features: features, skipped: skipped)
    }

    /// `count` features that fired, evenly spaced over the list sorted by density (highest
    /// first; ties by index), so the cards span the density range.
    public static func chooseCardFeatures(_ fireCounts: [Int], count: Int) -> [Int] {
        let alive = fireCounts.indices.filter { fireCounts[$0] > 0 }
            .sorted { fireCounts[$0] > fireCounts[$1] || (fireCounts[$0] == fireCounts[$1] && $0 < $1) }
        guard count > 0, !alive.isEmpty else { return [] }
        if alive.count <= count { return alive }
        let picks = (0..<count).map { count == 1 ? 0 : $0 * (alive.count - 1) / (count - 1) }
        var seen = Set<Int>()
        return picks.map { alive[$0] }.filter { seen.insert($0).inserted }
    }

    /// The error for contexts that leave no position to count (one token each, and that one excluded).
    static func noPositions(contexts: TokenContexts, excludeFirstPosition: Bool) -> AnalysisError {
        .invalidArgument("no token positions to measure: contexts of \(contexts.length) token\(contexts.length == 1 ? "" : "s")"
                         + (excludeFirstPosition ? " with the first position left out" : "")
                         + "; use contexts of at least 2 tokens")
    }
}
