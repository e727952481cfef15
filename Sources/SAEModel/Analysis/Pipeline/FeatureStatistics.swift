import SAEKernels

/// One firing of a feature: its activation, the context and the position in it.
package struct FeatureActivationEvent: Codable, Sendable, Equatable {
    package var activation: Float
    /// The context's label (see `FeatureStatisticsCollector.add(_:contextLabels:)`).
    package var context: Int
    package var position: Int
}

/// What one pass of `FeatureStatisticsCollector` over a token budget gathered.
///
/// Counts and sums cover the `tokens` counted (every position, or all but position 0 when
/// `excludeFirstPosition`); for feature `j`:
/// - `fireCounts[j] = #{t : f_j(t) != 0}`, `density(j) = fireCounts[j] / tokens`;
/// - `activationSums[j] = Σ_t f_j(t)`, `maxActivations[j] = max_t f_j(t)`;
/// - `lossSums[j]`, `lossCounts[j]`: the model's next-token loss summed over the counted
///   tokens where `j` fires that have a next token (the loss at position `p` is that of
///   predicting token `p + 1`; the last position has none); `overallLossSum` /
///   `overallLossCount` the same over every counted token with a next token.
package struct FeatureStatistics: Sendable {
    package let dSae: Int
    package let dIn: Int
    package let hook: String
    package let contextLength: Int
    package let excludeFirstPosition: Bool
    /// Contexts seen.
    package let contexts: Int
    /// Tokens counted.
    package let tokens: Int
    package let fireCounts: [Int]
    package let activationSums: [Double]
    package let maxActivations: [Float]
    package let lossSums: [Double]
    package let lossCounts: [Int]
    package let overallLossSum: Double
    package let overallLossCount: Int
    /// Reconstruction quality over the same tokens (losses when they were measured).
    package let quality: ReconstructionQuality
    /// The same by position.
    package let positions: PositionQualityResult
    /// Best-correlated neurons, when tracked.
    package let neuronCorrelation: NeuronCorrelationResult?
    /// Every context's token ids, `contexts * contextLength`, in order seen.
    package let tokenIds: [Int32]
    /// The label of each context seen.
    package let contextLabels: [Int]

    let heaps: TopActivationHeaps
    let reservoirs: ActivationReservoirs
    let histograms: ActivationHistograms

    /// `fireCounts[j] / tokens`.
    package var densities: [Double] { fireCounts.map { tokens > 0 ? Double($0) / Double(tokens) : .nan } }

    /// `lossSums[j] / lossCounts[j]` (NaN for a feature that never fired where a loss exists).
    package var meanLossWhenFiring: [Double] {
        (0..<dSae).map { lossCounts[$0] > 0 ? lossSums[$0] / Double(lossCounts[$0]) : .nan }
    }

    /// `overallLossSum / overallLossCount`.
    package var overallMeanLoss: Double { overallLossCount > 0 ? overallLossSum / Double(overallLossCount) : .nan }

    /// `activationSums[j] / fireCounts[j]`: the mean activation when firing (NaN if never).
    package var meanActivationWhenFiring: [Double] {
        (0..<dSae).map { fireCounts[$0] > 0 ? activationSums[$0] / Double(fireCounts[$0]) : .nan }
    }

    /// Capacity of the per-feature top-activation heaps.
    package var topCapacity: Int { heaps.capacity }

    /// Feature `j`'s largest activations (at most `topCapacity`), largest first.
    package func topActivations(_ j: Int) -> [FeatureActivationEvent] { heaps.sorted(j).map(event) }

    /// A uniform sample of feature `j`'s firings (reservoir), largest first.
    package func sampledActivations(_ j: Int) -> [FeatureActivationEvent] { reservoirs.sorted(j).map(event) }

    /// Feature `j`'s histogram of activations over `[0, upper]`, `upper` a power of two
    /// above its largest activation (see `ActivationHistograms`).
    package func activationHistogram(_ j: Int) -> Histogram { histograms.histogram(j) }

    /// The token ids of the `i`-th context seen.
    package func tokens(ofContextAt i: Int) -> ArraySlice<Int32> {
        tokenIds[(i * contextLength)..<((i + 1) * contextLength)]
    }

    /// The index (in order seen) of the context with label `label`.
    package func contextIndex(ofLabel label: Int) -> Int? { contextLabels.firstIndex(of: label) }

    private func event(_ e: (value: Float, row: Int)) -> FeatureActivationEvent {
        FeatureActivationEvent(activation: e.value, context: contextLabels[e.row / contextLength],
                               position: e.row % contextLength)
    }

    /// The rows (`context index * contextLength + position`) of feature `j`'s top heap.
    func topRows(_ j: Int) -> [Int] { heaps.sorted(j).map(\.row) }
}
