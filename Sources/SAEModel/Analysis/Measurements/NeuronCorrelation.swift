import SAEKernels

/// For each feature, the input coordinate (the MLP neuron, for an SAE on
/// `blocks.L.mlp.hook_post`) whose value is most correlated with the feature's activation
/// over tokens, and that correlation.
///
/// Pearson correlation over the `n` tokens counted, feature activation `f` (0 where the
/// feature does not fire) and neuron value `x_i`:
/// `r_i = (n Σ f x_i - Σ f Σ x_i) / sqrt((n Σ f² - (Σ f)²) (n Σ x_i² - (Σ x_i)²))`;
/// the neuron reported is `argmax_i r_i` (NaN, and neuron -1, when the feature never fired
/// or has no variance).
public struct NeuronCorrelationResult: Codable, Sendable, Equatable {
    /// Tokens the sums ran over.
    public var tokens: Int
    /// The features measured (all of them, or a chosen subset).
    public var features: [Int]
    /// `bestNeuron[i]`: the neuron most correlated with `features[i]` (-1 if undefined).
    public var bestNeuron: [Int]
    /// `correlation[i]`: that Pearson correlation (NaN if undefined).
    public var correlation: [Float]

    /// The entry of feature `j`, if measured.
    public func entry(feature j: Int) -> (neuron: Int, correlation: Float)? {
        guard let i = features.firstIndex(of: j) else { return nil }
        return (bestNeuron[i], correlation[i])
    }
}

/// The streaming sums behind `NeuronCorrelationResult`, in Double: `Σ x_i`, `Σ x_i²` per
/// neuron, `Σ f`, `Σ f²` per tracked feature, and `Σ f x_i` per (tracked feature, neuron) —
/// the last only over the tokens where the feature fires (elsewhere `f = 0`), so a batch
/// costs (active entries x d_in), like a sparse decode. Tracked features are updated on
/// separate threads.
package struct NeuronCorrelationAccumulator: Sendable {
    package let dIn: Int
    package let dSae: Int
    /// The tracked features, increasing.
    package let features: [Int]
    /// `slot[j]`: position of feature `j` in `features`, or -1.
    let slot: [Int]
    package private(set) var tokens = 0
    var sumX: [Double]
    var sumXX: [Double]
    var sumF: [Double]
    var sumFF: [Double]
    var sumFX: [Double]

    /// Tracks `features` (all of `0..<dSae` when nil).
    package init(dIn: Int, dSae: Int, features: [Int]? = nil) {
        self.dIn = dIn
        self.dSae = dSae
        let list = (features.map { Array(Set($0)).sorted() } ?? Array(0..<dSae))
        precondition(list.allSatisfy { $0 >= 0 && $0 < dSae }, "NeuronCorrelationAccumulator: a feature is outside 0..<\(dSae)")
        self.features = list
        var slot = [Int](repeating: -1, count: dSae)
        for (i, j) in list.enumerated() { slot[j] = i }
        self.slot = slot
        sumX = [Double](repeating: 0, count: dIn)
        sumXX = sumX
        sumF = [Double](repeating: 0, count: list.count)
        sumFF = sumF
        sumFX = [Double](repeating: 0, count: list.count * dIn)
    }

    /// Adds the rows of `x` (`[rows, dIn]`) with `counted[r]` true and their codes.
    package mutating func add(x: Matrix, codes: SparseCodes, counted: [Bool], threads: Int = Parallel.defaultThreads) {
        add(x: x, codes: codes, byFeature: SparseCodesByFeature(codes), counted: counted, threads: threads)
    }

    mutating func add(x: Matrix, codes: SparseCodes, byFeature: SparseCodesByFeature, counted: [Bool], threads: Int) {
        precondition(x.cols == dIn && codes.rows == x.rows && counted.count == x.rows && codes.width == dSae,
                     "NeuronCorrelationAccumulator.add: shapes do not match")
        let d = dIn
        x.withUnsafeBufferPointer { xp in
            for r in 0..<x.rows where counted[r] {
                let row = xp.baseAddress! + r * d
                for i in 0..<d { let v = Double(row[i]); sumX[i] += v; sumXX[i] += v * v }
                tokens += 1
            }
        }
        let tracked = features
        x.withUnsafeBufferPointer { xp in codes.values.withUnsafeBufferPointer { vals in
            sumF.withUnsafeMutableBufferPointer { sf in sumFF.withUnsafeMutableBufferPointer { sff in
                sumFX.withUnsafeMutableBufferPointer { sfx in
                    let xb = xp.baseAddress!, sfb = sf.baseAddress!, sffb = sff.baseAddress!, sfxb = sfx.baseAddress!
                    let vb = vals.baseAddress
                    Parallel.forRanges(tracked.count, threads: threads) { range in
                        for s in range {
                            let j = tracked[s]
                            let acc = sfxb + s * d
                            for k in byFeature.starts[j]..<byFeature.starts[j + 1] {
                                let r = Int(byFeature.rowsOf[k])
                                guard counted[r] else { continue }
                                let f = vb![Int(byFeature.entryOf[k])]
                                if f == 0 { continue }
                                let fd = Double(f)
                                sfb[s] += fd
                                sffb[s] += fd * fd
                                let row = xb + r * d
                                for i in 0..<d { acc[i] += fd * Double(row[i]) }
                            }
                        }
                    }
                }
            }}
        }}
    }

    /// The best-correlated neuron of each tracked feature.
    package func result() -> NeuronCorrelationResult {
        let n = Double(tokens)
        var best = [Int](repeating: -1, count: features.count)
        var corr = [Float](repeating: .nan, count: features.count)
        let varX = (0..<dIn).map { n * sumXX[$0] - sumX[$0] * sumX[$0] }
        for s in 0..<features.count {
            let varF = n * sumFF[s] - sumF[s] * sumF[s]
            guard varF > 0 else { continue }
            var bestR = -Double.infinity
            for i in 0..<dIn where varX[i] > 0 {
                let r = (n * sumFX[s * dIn + i] - sumF[s] * sumX[i]) / (varF * varX[i]).squareRoot()
                if r > bestR { bestR = r; best[s] = i }
            }
            if best[s] >= 0 { corr[s] = Float(bestR) }
        }
        return NeuronCorrelationResult(tokens: tokens, features: features, bestNeuron: best, correlation: corr)
    }
}
