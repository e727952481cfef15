import SAEKernels

/// The geometry of the ultra-low density cluster: do its features share one direction, and
/// do they fire together?
///
/// With `C` the cluster's features (`0 < density < ultraLowThreshold`), `e_j` feature `j`'s
/// encoder column `W_enc[:, j]` and `d_j` its decoder row `W_dec[j]`, unit-normalized:
/// - mean encoder direction `ē = Σ_{j∈C} e_j / ||Σ_{j∈C} e_j||`; `encoderCosines[i] = e_{C_i} · ē`;
///   `encoderFractionAbove` = fraction of `C` with cosine > `cosineThreshold` (0.95);
/// - the same for the decoder rows;
/// - `largestCoFiringFraction = max_t #{j ∈ C : f_j(t) != 0} / |C|` over the tokens of the
///   budget, and `coFiringToken` the token id at such a token.
public struct UltraLowClusterResult: Codable, Sendable, Equatable {
    public var features: [Int]
    public var cosineThreshold: Double
    public var encoderCosines: [Double]
    public var decoderCosines: [Double]
    public var encoderFractionAbove: Double
    public var decoderFractionAbove: Double
    /// nil when the firing tokens were not available.
    public var largestCoFiringFraction: Double?
    public var coFiringToken: Int32?
}

public enum UltraLowClusterGeometry {
    /// The direction part, with co-firing given as the firing rows of each cluster feature
    /// (`firingRows[i]`: rows where `features[i]` fires, any row numbering) and the token at
    /// each row.
    public static func measure(sae: SparseAutoencoder, features: [Int], cosineThreshold: Double = 0.95,
                               firingRows: [[Int]]? = nil, tokenAtRow: ((Int) -> Int32)? = nil) -> UltraLowClusterResult {
        precondition(features.allSatisfy { $0 >= 0 && $0 < sae.dSae }, "UltraLowClusterGeometry: feature outside 0..<\(sae.dSae)")
        let enc = features.map { VectorMath.column(sae.wEnc, $0) }
        let dec = features.map { sae.wDec.row($0) }
        let (ec, ef) = cosinesWithMean(enc, threshold: cosineThreshold)
        let (dc, df) = cosinesWithMean(dec, threshold: cosineThreshold)
        var fraction: Double? = nil, token: Int32? = nil
        if let firingRows, !features.isEmpty {
            precondition(firingRows.count == features.count, "UltraLowClusterGeometry: one row list per feature")
            var counts: [Int: Int] = [:]
            for rows in firingRows { for r in Set(rows) { counts[r, default: 0] += 1 } }
            if let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) {
                fraction = Double(best.value) / Double(features.count)
                token = tokenAtRow?(best.key)
            } else {
                fraction = 0
            }
        }
        return UltraLowClusterResult(features: features, cosineThreshold: cosineThreshold, encoderCosines: ec,
                                     decoderCosines: dc, encoderFractionAbove: ef, decoderFractionAbove: df,
                                     largestCoFiringFraction: fraction, coFiringToken: token)
    }

    /// From a collector's pass. Co-firing is exact when every cluster feature fired at most
    /// `stats.topCapacity` times (its heap then holds all its firings); otherwise it is left
    /// nil (use `measure(..., firingRows:)` with a dedicated pass).
    package static func measure(sae: SparseAutoencoder, statistics stats: FeatureStatistics,
                               density: FeatureDensityResult, cosineThreshold: Double = 0.95) -> UltraLowClusterResult {
        let features = density.ultraLowFeatures
        let complete = features.allSatisfy { stats.fireCounts[$0] <= stats.topCapacity }
        let rows: [[Int]]? = complete ? features.map { stats.topRows($0) } : nil
        return measure(sae: sae, features: features, cosineThreshold: cosineThreshold, firingRows: rows,
                       tokenAtRow: { stats.tokenIds[$0] })
    }

    /// Cosine of each vector with the normalized mean of the unit vectors, and the fraction
    /// above `threshold` (NaN for an empty list).
    static func cosinesWithMean(_ vectors: [[Float]], threshold: Double) -> ([Double], Double) {
        guard let n = vectors.first?.count else { return ([], .nan) }
        var mean = [Double](repeating: 0, count: n)
        for v in vectors {
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            guard norm > 0 else { continue }
            for i in 0..<n { mean[i] += Double(v[i]) / norm }
        }
        let meanF = mean.map { Float($0) }
        let cos = vectors.map { VectorMath.cosine($0, meanF) }
        return (cos, Double(cos.filter { $0 > threshold }.count) / Double(cos.count))
    }
}

extension UltraLowClusterGeometry {
    /// `max_t #{j ∈ features : f_j(t) != 0} / |features|` over contexts `range` (position 0
    /// left out when `excludeFirstPosition`), and the token id where it is reached: a pass
    /// that runs the model to the hook and encodes, for clusters whose features fired too
    /// often for the collector's heaps to hold all their firings.
    public static func coFiring(sae: SparseAutoencoder, model: Transformer, contexts: TokenContexts, range: Range<Int>,
                                features: [Int], excludeFirstPosition: Bool = true, batchSize: Int = 16,
                                hook: String? = nil, threads: Int = Parallel.defaultThreads) throws -> (fraction: Double, token: Int32?) {
        guard !features.isEmpty else { return (.nan, nil) }
        let hook = hook ?? sae.metadata.hookName
        var member = [Bool](repeating: false, count: sae.dSae)
        for j in features { member[j] = true }
        var best = 0, bestToken: Int32? = nil
        var start = range.lowerBound
        while start < range.upperBound {
            let seqs = try (start..<min(range.upperBound, start + batchSize)).map { try contexts.context($0) }
            let tokens = TokenBatch(seqs)
            let x = try model.run(tokens, capture: [hook], threads: threads).activations[hook]!
            let codes = sae.encodeSparse(x, threads: threads)
            for r in 0..<codes.rows where !(excludeFirstPosition && r % tokens.seq == 0) {
                var n = 0
                for e in codes.offsets[r]..<codes.offsets[r + 1] where codes.values[e] != 0 && member[Int(codes.indices[e])] { n += 1 }
                if n > best { best = n; bestToken = tokens.ids[r] }
            }
            start += seqs.count
        }
        return (Double(best) / Double(features.count), bestToken)
    }
}
