import SAEKernels

/// The sums behind `PositionQualityResult` and `ReconstructionQuality`, per position of
/// `seq`-token contexts, in Double.
struct PositionAccumulator: Sendable {
    let seq: Int
    let dIn: Int
    /// Position 0 is left out of the totals' `l0`, `mse` and explained variance, and the
    /// prediction made there out of their losses (`ExcludedPositions.bos`).
    let excludeFirstPosition: Bool
    private(set) var contexts = 0
    var squaredError: [Double]
    var squaredX: [Double]
    /// `[seq, dIn]`: `Σ x` at each position.
    var sumX: [Double]
    var nonzeros: [Int]
    var cleanLoss: [Double]
    var splicedLoss: [Double]
    var zeroLoss: [Double]
    var lossRows = 0

    init(seq: Int, dIn: Int, excludeFirstPosition: Bool) {
        self.seq = seq
        self.dIn = dIn
        self.excludeFirstPosition = excludeFirstPosition
        squaredError = [Double](repeating: 0, count: seq)
        squaredX = squaredError
        sumX = [Double](repeating: 0, count: seq * dIn)
        nonzeros = [Int](repeating: 0, count: seq)
        cleanLoss = [Double](repeating: 0, count: max(0, seq - 1))
        splicedLoss = cleanLoss
        zeroLoss = cleanLoss
    }

    mutating func add(_ b: SplicedBatch) {
        precondition(b.tokens.seq == seq && b.x.cols == dIn, "PositionAccumulator: batch of another shape")
        let rows = b.x.rows
        b.x.withUnsafeBufferPointer { xp in b.reconstruction.withUnsafeBufferPointer { hp in
            for r in 0..<rows {
                let p = r % seq
                let x = xp.baseAddress! + r * dIn, h = hp.baseAddress! + r * dIn
                var se = 0.0, sq = 0.0
                for i in 0..<dIn {
                    let v = Double(x[i]), e = v - Double(h[i])
                    se += e * e
                    sq += v * v
                    sumX[p * dIn + i] += v
                }
                squaredError[p] += se
                squaredX[p] += sq
                for e in b.codes.offsets[r]..<b.codes.offsets[r + 1] where b.codes.values[e] != 0 { nonzeros[p] += 1 }
            }
        }}
        if let c = b.cleanLoss, let s = b.splicedLoss, let z = b.zeroLoss, seq > 1 {
            for bi in 0..<b.tokens.batch {
                for p in 0..<(seq - 1) {
                    cleanLoss[p] += Double(c[bi, p])
                    splicedLoss[p] += Double(s[bi, p])
                    zeroLoss[p] += Double(z[bi, p])
                }
            }
            lossRows += b.tokens.batch
        }
        contexts += b.tokens.batch
    }

    /// `1 - SSE / Σ ||x - mean||²` from the sums over `n` rows; NaN when the rows do not vary
    /// (the centred sum is below `1e-9` of `Σ ||x||²`, e.g. BOS at position 0).
    private func explained(_ se: Double, _ sq: Double, _ sums: ArraySlice<Double>, _ n: Int) -> Double {
        guard n > 0 else { return .nan }
        var centred = sq
        for s in sums { centred -= s * s / Double(n) }
        return centred > 1e-9 * sq ? 1 - se / centred : .nan
    }

    var positions: Range<Int> { (excludeFirstPosition ? min(1, seq) : 0)..<seq }

    func quality() -> ReconstructionQuality {
        let counted = positions
        let n = contexts * counted.count
        var se = 0.0, sq = 0.0, nz = 0
        var sums = [Double](repeating: 0, count: dIn)
        for p in counted {
            se += squaredError[p]; sq += squaredX[p]; nz += nonzeros[p]
            for i in 0..<dIn { sums[i] += sumX[p * dIn + i] }
        }
        // The predictions made at the counted positions (the last position predicts nothing).
        let predictedPositions = counted.lowerBound..<max(counted.lowerBound, seq - 1)
        let predicted = lossRows * predictedPositions.count
        let total = { (a: [Double]) in predicted > 0 ? predictedPositions.reduce(0.0) { $0 + a[$1] } / Double(predicted) : Double.nan }
        return ReconstructionQuality(
            tokens: n, l0: n > 0 ? Double(nz) / Double(n) : .nan, mse: n > 0 ? se / Double(n * dIn) : .nan,
            explainedVariance: explained(se, sq, sums[...], n), predictedTokens: predicted,
            cleanLoss: total(cleanLoss), splicedLoss: total(splicedLoss), zeroAblationLoss: total(zeroLoss))
    }

    func byPosition(saeContextSize: Int) -> PositionQualityResult {
        let n = Double(contexts)
        let lossN = Double(lossRows)
        let mean = { (a: [Double]) in a.map { lossRows > 0 ? $0 / lossN : Double.nan } }
        let (c, s, z) = (mean(cleanLoss), mean(splicedLoss), mean(zeroLoss))
        return PositionQualityResult(
            contexts: contexts, contextLength: seq, saeContextSize: saeContextSize,
            beyondTrainingContextFrom: seq > saeContextSize ? saeContextSize : nil,
            mse: (0..<seq).map { squaredError[$0] / (n * Double(dIn)) },
            explainedVariance: (0..<seq).map { explained(squaredError[$0], squaredX[$0], sumX[($0 * dIn)..<(($0 + 1) * dIn)], contexts) },
            l0: (0..<seq).map { Double(nonzeros[$0]) / n },
            cleanLoss: c, splicedLoss: s, zeroAblationLoss: z,
            lossRecovered: (0..<c.count).map { (z[$0] - s[$0]) / (z[$0] - c[$0]) })
    }
}
