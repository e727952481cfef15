extension Reference {
    /// Naive twin of `Encoder.forward`: `pre = (x - b_dec) W_enc + b_enc`, `f = ReLU(pre)`;
    /// `W_enc` is `dIn x dSae` (`.none`) or `dSae x dIn` (`.transposed`).
    package static func encoder(
        x: UnsafePointer<Float>, batch: Int, dIn: Int, dSae: Int,
        wEnc: UnsafePointer<Float>, layout: Transposition, bEnc: UnsafePointer<Float>,
        bDec: UnsafePointer<Float>?, features: UnsafeMutablePointer<Float>,
        pre: UnsafeMutablePointer<Float>? = nil, relu: Bool = true
    ) {
        for r in 0..<batch {
            for j in 0..<dSae {
                var s: Float = 0
                for i in 0..<dIn {
                    let xc = x[r * dIn + i] - (bDec?[i] ?? 0)
                    let w = layout == .none ? wEnc[i * dSae + j] : wEnc[j * dIn + i]
                    s += xc * w
                }
                s += bEnc[j]
                pre?[r * dSae + j] = s
                features[r * dSae + j] = relu ? max(s, 0) : s
            }
        }
    }

    /// Naive twin of `SparseDecode.decode`: `out[r] = bias + sum_e values[e] W[indices[e]]`.
    package static func sparseDecode(_ codes: SparseCodes, weights: UnsafePointer<Float>, d: Int,
                                    bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>) {
        for r in 0..<codes.rows {
            for i in 0..<d { out[r * d + i] = bias?[i] ?? 0 }
            for e in codes.offsets[r]..<codes.offsets[r + 1] {
                let j = Int(codes.indices[e])
                for i in 0..<d { out[r * d + i] += codes.values[e] * weights[j * d + i] }
            }
        }
    }

    /// Naive twin of `SparseBackward.codeGradients`: `g[e] = G[r] . W[j]`.
    package static func codeGradients(_ codes: SparseCodes, outputGradient g: UnsafePointer<Float>,
                                     weights: UnsafePointer<Float>, d: Int, into grad: UnsafeMutablePointer<Float>) {
        for r in 0..<codes.rows {
            for e in codes.offsets[r]..<codes.offsets[r + 1] {
                let j = Int(codes.indices[e])
                var s: Float = 0
                for i in 0..<d { s += g[r * d + i] * weights[j * d + i] }
                grad[e] = s
            }
        }
    }

    /// Naive twin of `SparseBackward.accumulateWeightGradients`, walking the codes row by row:
    /// `gradW[j] += c[e] X[r]`, `gradBias[j] += c[e]` for each entry `e = (r, j)`.
    package static func accumulateWeightGradients(
        _ codes: SparseCodes, coefficients c: UnsafePointer<Float>, inputs x: UnsafePointer<Float>, d: Int,
        gradWeights: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?
    ) {
        for r in 0..<codes.rows {
            for e in codes.offsets[r]..<codes.offsets[r + 1] {
                let j = Int(codes.indices[e])
                for i in 0..<d { gradWeights[j * d + i] += c[e] * x[r * d + i] }
                gradBias?[j] += c[e]
            }
        }
    }
}
