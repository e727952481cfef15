/// A `[rows, cols]` grid of per-token values (row = context, column = position), row-major.
public struct TokenGrid: Codable, Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "TokenGrid: \(values.count) values for [\(rows), \(cols)]")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    public subscript(row: Int, col: Int) -> Float { values[row * cols + col] }

    /// The mean of all values, accumulated in Double (0 when empty).
    public var mean: Double {
        values.isEmpty ? 0 : values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    }

    /// The mean of columns `first..<cols` of every row, accumulated in Double (0 when empty).
    public func mean(fromColumn first: Int) -> Double {
        precondition(first >= 0, "TokenGrid.mean: negative column \(first)")
        guard first > 0 else { return mean }
        var sum = 0.0, n = 0
        for r in 0..<rows {
            for c in first..<max(first, cols) { sum += Double(values[r * cols + c]); n += 1 }
        }
        return n == 0 ? 0 : sum / Double(n)
    }
}

/// Downstream loss of a model when a hook's activations are replaced: by a reconstruction
/// (e.g. an SAE's), by zeros, by their mean. See `ModelLoss.evaluate`.
///
/// Losses are next-token cross-entropies averaged over every predicted token
/// (`contexts * (contextLength - 1)`, less the predictions made at the excluded positions),
/// accumulated in Double.
public struct ModelLossResult: Codable, Sendable, Equatable {
    /// The hook spliced, e.g. `blocks.0.mlp.hook_post`.
    public var hook: String
    public var contexts: Int
    public var contextLength: Int
    /// The positions left out of the means and not spliced (`ExcludedPositions`).
    public var excludedPositions: ExcludedPositions
    /// Predicted tokens per loss: `contexts * (contextLength - 1)`, less one per context
    /// when position 0 is excluded.
    public var tokens: Int
    /// `L_clean`: the unmodified model.
    public var cleanLoss: Double
    /// `L_spliced`: the hook replaced by the reconstruction.
    public var splicedLoss: Double
    /// `L_zero`: the hook set to 0.
    public var zeroAblationLoss: Double
    /// `L_mean`: every row of the hook set to the hook's mean over all evaluated tokens.
    public var meanAblationLoss: Double
    /// `(L_zero - L_spliced) / (L_zero - L_clean)`: 1 when the reconstruction is perfect,
    /// 0 when it is as bad as zero ablation.
    public var lossRecovered: Double
    /// `(L_mean - L_spliced) / (L_mean - L_clean)`.
    public var lossRecoveredVsMeanAblation: Double
    /// Mean over every counted position (`contexts * contextLength`, less the excluded) of
    /// `KL(p_clean || p_spliced) = sum_v p_clean(v) log(p_clean(v) / p_spliced(v))`, the
    /// next-token distributions of the clean and the spliced run (nats).
    public var klDivergence: Double
    /// Per-token cross-entropies, `[contexts, contextLength - 1]`: entry `[c, i]` is the loss
    /// of token `i + 1` of context `c` given tokens `0...i`.
    public var cleanLossPerToken: TokenGrid
    public var splicedLossPerToken: TokenGrid
    public var zeroAblationLossPerToken: TokenGrid
    public var meanAblationLossPerToken: TokenGrid
    /// `[contexts, contextLength]`: KL at each position.
    public var klPerToken: TokenGrid
}
