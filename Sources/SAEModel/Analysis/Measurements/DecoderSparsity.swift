import SAEKernels

/// How sparse each decoder row is in the neuron (input) basis.
///
/// For feature `j` with decoder row `d = W_dec[j]` and its squared entries sorted
/// `d²_(1) >= d²_(2) >= ...`:
/// - `fveTop1_j = d²_(1) / ||d||²` (the fraction of the squared norm in the largest entry);
/// - `fveNext9_j = (d²_(2) + ... + d²_(10)) / ||d||²`.
/// Groups: one-sparse when `fveTop1 > 0.35` and `fveNext9 < 0.1`; dense when
/// `fveTop1 + fveNext9 < 0.35`; the rest otherwise (zero rows: NaN, counted in the rest).
/// Percentages are of all features.
public struct DecoderSparsityResult: Codable, Sendable, Equatable {
    public enum Group: String, Codable, Sendable { case oneSparse = "one-sparse", dense, rest }

    public var fveTop1: [Double]
    public var fveNext9: [Double]
    public var groups: [Group]
    public var oneSparsePercent: Double
    public var densePercent: Double
    public var restPercent: Double
}

public enum DecoderSparsity {
    public static let oneSparseTop1 = 0.35
    public static let oneSparseNext9 = 0.1
    public static let denseTop10 = 0.35

    /// The group of a feature with these fractions.
    public static func group(fveTop1: Double, fveNext9: Double) -> DecoderSparsityResult.Group {
        if fveTop1 > oneSparseTop1 && fveNext9 < oneSparseNext9 { return .oneSparse }
        if fveTop1 + fveNext9 < denseTop10 { return .dense }
        return .rest
    }

    /// `(fveTop1, fveNext9)` of one row (NaN for a zero row).
    public static func fractions(_ row: UnsafeBufferPointer<Float>) -> (top1: Double, next9: Double) {
        var top = [Double](repeating: 0, count: min(10, row.count))  // descending
        var total = 0.0
        for v in row {
            let s = Double(v) * Double(v)
            total += s
            guard let last = top.last, s > last else { continue }
            var i = top.count - 1
            while i > 0 && top[i - 1] < s { top[i] = top[i - 1]; i -= 1 }
            top[i] = s
        }
        guard total > 0 else { return (.nan, .nan) }
        return (top[0] / total, top.dropFirst().reduce(0, +) / total)
    }

    public static func measure(_ sae: SparseAutoencoder) -> DecoderSparsityResult {
        measure(decoder: sae.wDec)
    }

    /// For the rows of `decoder` (`[dSae, dIn]`).
    public static func measure(decoder: Matrix) -> DecoderSparsityResult {
        var top1 = [Double](repeating: 0, count: decoder.rows), next9 = top1
        decoder.withUnsafeBufferPointer { w in
            for j in 0..<decoder.rows {
                let f = fractions(UnsafeBufferPointer(rebasing: w[(j * decoder.cols)..<((j + 1) * decoder.cols)]))
                top1[j] = f.top1; next9[j] = f.next9
            }
        }
        let groups = (0..<decoder.rows).map { group(fveTop1: top1[$0], fveNext9: next9[$0]) }
        let pct = { (g: DecoderSparsityResult.Group) in
            decoder.rows == 0 ? 0 : 100 * Double(groups.filter { $0 == g }.count) / Double(decoder.rows)
        }
        return DecoderSparsityResult(fveTop1: top1, fveNext9: next9, groups: groups, oneSparsePercent: pct(.oneSparse),
                                     densePercent: pct(.dense), restPercent: pct(.rest))
    }
}
