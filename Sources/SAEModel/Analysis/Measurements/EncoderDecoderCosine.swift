import SAEKernels

/// The cosine between each feature's encoder column and its decoder row:
/// `cos_j = W_enc[:, j] · W_dec[j] / (||W_enc[:, j]|| ||W_dec[j]||)` (0 when either is zero),
/// with its median and a histogram over `[-1, 1]`.
public struct EncoderDecoderCosineResult: Codable, Sendable, Equatable {
    public var cosines: [Double]
    public var median: Double
    public var histogram: Histogram
}

public enum EncoderDecoderCosine {
    public static func measure(_ sae: SparseAutoencoder, bins: Int = 40) -> EncoderDecoderCosineResult {
        let (dIn, dSae) = (sae.dIn, sae.dSae)
        var dot = [Double](repeating: 0, count: dSae), ee = dot, dd = dot
        sae.wEnc.withUnsafeBufferPointer { e in sae.wDec.withUnsafeBufferPointer { d in
            // W_enc is [dIn, dSae]: walk it row by row (contiguous), accumulating per feature.
            for i in 0..<dIn {
                for j in 0..<dSae {
                    let a = Double(e[i * dSae + j]), b = Double(d[j * dIn + i])
                    dot[j] += a * b; ee[j] += a * a; dd[j] += b * b
                }
            }
        }}
        let cos = (0..<dSae).map { ee[$0] > 0 && dd[$0] > 0 ? dot[$0] / (ee[$0] * dd[$0]).squareRoot() : 0 }
        return EncoderDecoderCosineResult(cosines: cos, median: Quantiles.median(cos),
                                          histogram: Histogram(cos.map { min(1, max(-1, $0)) }, lower: -1, upper: 1, bins: bins))
    }
}
