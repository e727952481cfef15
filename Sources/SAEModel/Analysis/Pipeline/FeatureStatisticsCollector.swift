import SAEKernels

/// Gathers, in one pass over a token budget, everything the per-feature analyses need:
/// fire counts (density), loss when firing, top activations (bounded min-heaps), a uniform
/// sample of activations (reservoirs), activation histograms, neuron correlation sums, and
/// reconstruction quality by position.
///
/// Per batch of contexts: one clean run of the model (capturing the hook, with per-token
/// losses), the sparse encoding and the reconstruction, and — when `measureLoss` — a
/// spliced and a zero-ablated run (see `SplicedBatch`). Per-feature state is updated
/// feature by feature from the codes grouped by feature (CSC), features split over
/// threads; every sum is in Double; results do not depend on the thread count.
///
/// Memory: `dSae * (topContexts + samples + histogramBins)` slots, plus `dSae * d_in`
/// Doubles for the correlation of all features (track a subset for wide SAEs), plus the
/// token ids seen.
package final class FeatureStatisticsCollector {
    /// What to gather.
    package struct Configuration: Sendable {
        /// Leave position 0 (BOS) out of every feature statistic and of the totals' L0 / MSE
        /// / explained variance.
        package var excludeFirstPosition: Bool = true
        /// Top activations kept per feature.
        package var topActivations: Int = 16
        /// Reservoir size per feature (for examples from lower quantiles).
        package var samples: Int = 32
        /// Bins of each feature's activation histogram (even).
        package var histogramBins: Int = 32
        /// Run the spliced and zero-ablated passes (loss recovered, loss when firing).
        package var measureLoss: Bool = true
        /// Features whose neuron correlation is tracked: nil all, `[]` none.
        package var correlationFeatures: [Int]? = nil
        package var seed: UInt64 = 0
        package var threads: Int = Parallel.defaultThreads
        /// The context length the SAE was trained on (for `PositionQualityResult`).
        package var saeContextSize: Int? = nil

        package init() {}
    }

    package let sae: SparseAutoencoder
    package let model: Transformer
    package let hook: String
    package let configuration: Configuration

    private var seq: Int?
    private var contextsSeen = 0
    private var tokensCounted = 0
    private var fireCounts: [Int]
    private var activationSums: [Double]
    private var maxActivations: [Float]
    private var lossSums: [Double]
    private var lossCounts: [Int]
    private var overallLossSum = 0.0
    private var overallLossCount = 0
    private var heaps: TopActivationHeaps
    private var reservoirs: ActivationReservoirs
    private var histograms: ActivationHistograms
    private var correlation: NeuronCorrelationAccumulator?
    private var positions: PositionAccumulator?
    private var tokenIds: [Int32] = []
    private var contextLabels: [Int] = []

    /// A collector for `sae` at `hook` (default: the SAE's `metadata.hookName`) of `model`.
    package init(sae: SparseAutoencoder, model: Transformer, hook: String? = nil,
                configuration: Configuration = Configuration()) throws {
        let hook = hook ?? sae.metadata.hookName
        guard let width = try model.hookWidth(hook) else {
            throw AnalysisError.unsupportedHook(hook: hook, measurement: "feature statistics",
                                                reason: "it is not a [token, width] activation")
        }
        guard width == sae.dIn else {
            throw AnalysisError.shapeMismatch("hook '\(hook)' has width \(width), the SAE's d_in is \(sae.dIn)")
        }
        let c = configuration
        guard c.topActivations >= 1, c.samples >= 1, c.histogramBins >= 2, c.histogramBins % 2 == 0, c.threads >= 1 else {
            throw AnalysisError.invalidArgument("topActivations, samples, threads must be >= 1 and histogramBins even >= 2")
        }
        self.sae = sae
        self.model = model
        self.hook = hook
        self.configuration = c
        let n = sae.dSae
        fireCounts = [Int](repeating: 0, count: n)
        activationSums = [Double](repeating: 0, count: n)
        maxActivations = [Float](repeating: 0, count: n)
        lossSums = activationSums
        lossCounts = fireCounts
        heaps = TopActivationHeaps(features: n, capacity: c.topActivations)
        reservoirs = ActivationReservoirs(features: n, capacity: c.samples, seed: c.seed)
        histograms = ActivationHistograms(features: n, bins: c.histogramBins)
        if c.correlationFeatures.map({ !$0.isEmpty }) ?? true {
            correlation = NeuronCorrelationAccumulator(dIn: sae.dIn, dSae: n, features: c.correlationFeatures)
        }
    }

    /// Adds a batch of contexts (`[batch, seq]`, the same `seq` for every batch).
    /// `contextLabels` names each context in the results (default: its index in order seen).
    package func add(_ tokens: TokenBatch, contextLabels labels: [Int]? = nil) throws {
        if let seq { precondition(tokens.seq == seq, "FeatureStatisticsCollector: contexts of \(tokens.seq) tokens after \(seq)") }
        precondition(labels == nil || labels!.count == tokens.batch, "FeatureStatisticsCollector: one label per context")
        let c = configuration
        let batch = try SplicedBatch.run(sae: sae, model: model, hook: hook, tokens: tokens,
                                         measureLoss: c.measureLoss, excludeFirstPosition: c.excludeFirstPosition,
                                         threads: c.threads)
        let seq = tokens.seq
        if self.seq == nil {
            self.seq = seq
            positions = PositionAccumulator(seq: seq, dIn: sae.dIn, excludeFirstPosition: c.excludeFirstPosition)
        }
        positions!.add(batch)
        let rows = batch.x.rows
        let counted = (0..<rows).map { !(c.excludeFirstPosition && $0 % seq == 0) }
        let byFeature = SparseCodesByFeature(batch.codes)
        correlation?.add(x: batch.x, codes: batch.codes, byFeature: byFeature, counted: counted, threads: c.threads)

        // Loss of the prediction made at each row (NaN at the last position of a context).
        var rowLoss = [Float](repeating: .nan, count: rows)
        if let loss = batch.cleanLoss, seq > 1 {
            for b in 0..<tokens.batch {
                for p in 0..<(seq - 1) {
                    rowLoss[b * seq + p] = loss[b, p]
                    if counted[b * seq + p] { overallLossSum += Double(loss[b, p]); overallLossCount += 1 }
                }
            }
        }
        tokensCounted += counted.reduce(0) { $0 + ($1 ? 1 : 0) }
        updateFeatures(batch.codes, byFeature, counted: counted, rowLoss: rowLoss, rowBase: contextsSeen * seq)
        tokenIds += tokens.ids
        contextLabels += labels ?? Array(contextsSeen..<(contextsSeen + tokens.batch))
        contextsSeen += tokens.batch
    }

    /// Adds contexts `range` of `contexts`, `batchSize` at a time (labels: context indices).
    package func add(contexts: TokenContexts, range: Range<Int>, batchSize: Int = 16) throws {
        precondition(batchSize > 0, "FeatureStatisticsCollector: batchSize must be positive")
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(range.upperBound, start + batchSize)
            let sequences = try (start..<end).map { try contexts.context($0) }
            try add(TokenBatch(sequences), contextLabels: Array(start..<end))
            start = end
        }
    }

    /// The statistics gathered so far.
    package func finish() -> FeatureStatistics {
        let seq = self.seq ?? 1
        let saeContext = configuration.saeContextSize ?? sae.metadata.contextSize
        let pos = positions ?? PositionAccumulator(seq: seq, dIn: sae.dIn, excludeFirstPosition: configuration.excludeFirstPosition)
        return FeatureStatistics(
            dSae: sae.dSae, dIn: sae.dIn, hook: hook, contextLength: seq,
            excludeFirstPosition: configuration.excludeFirstPosition, contexts: contextsSeen, tokens: tokensCounted,
            fireCounts: fireCounts, activationSums: activationSums, maxActivations: maxActivations,
            lossSums: lossSums, lossCounts: lossCounts, overallLossSum: overallLossSum, overallLossCount: overallLossCount,
            quality: pos.quality(), positions: pos.byPosition(saeContextSize: saeContext),
            neuronCorrelation: correlation?.result(), tokenIds: tokenIds, contextLabels: contextLabels,
            heaps: heaps, reservoirs: reservoirs, histograms: histograms)
    }

    /// Per feature (features split over threads), over its entries in counted rows with a
    /// nonzero activation: counts, sums, max, loss when firing, heap, reservoir, histogram.
    private func updateFeatures(_ codes: SparseCodes, _ byFeature: SparseCodesByFeature, counted: [Bool],
                                rowLoss: [Float], rowBase: Int) {
        let topCap = heaps.capacity, sampleCap = reservoirs.capacity, bins = histograms.bins
        let threads = codes.nonzeroCount < 4096 ? 1 : configuration.threads
        // Work on local copies of the structs (moved out, so no array is copied): the fields of
        // a local struct may be accessed side by side, those of a class property may not.
        var heaps = TopActivationHeaps(features: 0, capacity: 1)
        var reservoirs = ActivationReservoirs(features: 0, capacity: 1, seed: 0)
        var histograms = ActivationHistograms(features: 0, bins: 2)
        swap(&heaps, &self.heaps)
        swap(&reservoirs, &self.reservoirs)
        swap(&histograms, &self.histograms)
        defer {
            swap(&heaps, &self.heaps)
            swap(&reservoirs, &self.reservoirs)
            swap(&histograms, &self.histograms)
        }
        fireCounts.withUnsafeMutableBufferPointer { fire in activationSums.withUnsafeMutableBufferPointer { sums in
        maxActivations.withUnsafeMutableBufferPointer { maxes in lossSums.withUnsafeMutableBufferPointer { ls in
        lossCounts.withUnsafeMutableBufferPointer { lc in
        heaps.values.withUnsafeMutableBufferPointer { hv in heaps.rows.withUnsafeMutableBufferPointer { hr in
        heaps.count.withUnsafeMutableBufferPointer { hc in
        reservoirs.values.withUnsafeMutableBufferPointer { rv in reservoirs.rows.withUnsafeMutableBufferPointer { rr in
        reservoirs.seen.withUnsafeMutableBufferPointer { rs in reservoirs.state.withUnsafeMutableBufferPointer { rst in
        histograms.counts.withUnsafeMutableBufferPointer { hgc in histograms.upper.withUnsafeMutableBufferPointer { hgu in
        codes.values.withUnsafeBufferPointer { vals in
            Parallel.forRanges(codes.width, threads: threads) { range in
                for j in range {
                    for k in byFeature.starts[j]..<byFeature.starts[j + 1] {
                        let r = Int(byFeature.rowsOf[k])
                        guard counted[r] else { continue }
                        let v = vals[Int(byFeature.entryOf[k])]
                        guard v != 0 else { continue }
                        fire[j] += 1
                        sums[j] += Double(v)
                        if v > maxes[j] { maxes[j] = v }
                        let loss = rowLoss[r]
                        if !loss.isNaN { ls[j] += Double(loss); lc[j] += 1 }
                        let row = rowBase + r
                        TopActivationHeaps.offer(v, row: row, values: hv.baseAddress! + j * topCap,
                                                 rows: hr.baseAddress! + j * topCap, count: &hc[j], capacity: topCap)
                        ActivationReservoirs.offer(v, row: row, values: rv.baseAddress! + j * sampleCap,
                                                   rows: rr.baseAddress! + j * sampleCap, seen: &rs[j], state: &rst[j],
                                                   capacity: sampleCap)
                        ActivationHistograms.add(v, counts: hgc.baseAddress! + j * bins, upper: &hgu[j], bins: bins)
                    }
                }
            }
        }}}}}}}}}}}}}}}
    }
}
