import SAEKernels

/// An SAE's weights in the layout the training step updates, with Adam's moments.
///
/// `wEncT` is W_enc stored transposed, `[dSae, dIn]`, so that the sparse backward updates
/// one contiguous row per active latent; `wDec` is `[dSae, dIn]` as in SAELens. Converted
/// to and from `SparseAutoencoder` (SAELens layout) by `init(_:)` and `autoencoder(...)`.
package struct TrainingParameters: Sendable, Equatable {
    package let dIn: Int
    package let dSae: Int
    package var wEncT: [Float]
    package var bEnc: [Float]
    package var wDec: [Float]
    package var bDec: [Float]

    /// Adam's first and second moments, same layout as the weights.
    package var moments: Moments

    package struct Moments: Sendable, Equatable {
        package var mEncT, vEncT, mBEnc, vBEnc, mDec, vDec, mBDec, vBDec: [Float]
        init(dIn: Int, dSae: Int) {
            let w = [Float](repeating: 0, count: dIn * dSae)
            mEncT = w; vEncT = w; mDec = w; vDec = w
            mBEnc = [Float](repeating: 0, count: dSae); vBEnc = mBEnc
            mBDec = [Float](repeating: 0, count: dIn); vBDec = mBDec
        }
    }

    /// Training parameters from an SAE (any layout conversion done here), moments zero.
    package init(_ sae: SparseAutoencoder) {
        dIn = sae.dIn; dSae = sae.dSae
        wEncT = sae.wEnc.transposed().values
        bEnc = sae.bEnc
        wDec = sae.wDec.values
        bDec = sae.bDec
        moments = Moments(dIn: dIn, dSae: dSae)
    }

    /// An empty stand-in with the same shape fields, to swap a trainer's parameters out
    /// for an in-place update without copying them.
    init(placeholderFor p: TrainingParameters) {
        dIn = p.dIn; dSae = p.dSae
        wEncT = []; bEnc = []; wDec = []; bDec = []
        moments = Moments(dIn: 0, dSae: 0)
    }

    /// Writes the weights back into `sae` (SAELens layout), keeping its other fields.
    package func write(into sae: inout SparseAutoencoder) {
        precondition(sae.dIn == dIn && sae.dSae == dSae, "TrainingParameters: shape mismatch")
        sae.wEnc = Matrix(rows: dSae, cols: dIn, values: wEncT).transposed()
        sae.bEnc = bEnc
        sae.wDec = Matrix(rows: dSae, cols: dIn, values: wDec)
        sae.bDec = bDec
    }

    /// Resets the Adam moments of the given latents (their W_enc columns, b_enc entries and
    /// W_dec rows), as feature resampling does.
    package mutating func resetMoments(of latents: [Int]) {
        for j in latents {
            for i in 0..<dIn {
                moments.mEncT[j * dIn + i] = 0; moments.vEncT[j * dIn + i] = 0
                moments.mDec[j * dIn + i] = 0; moments.vDec[j * dIn + i] = 0
            }
            moments.mBEnc[j] = 0; moments.vBEnc[j] = 0
        }
    }

    /// True when every weight is finite.
    package var allFinite: Bool {
        wEncT.allSatisfy(\.isFinite) && bEnc.allSatisfy(\.isFinite) && wDec.allSatisfy(\.isFinite) && bDec.allSatisfy(\.isFinite)
    }
}

/// Gradients in the layout of `TrainingParameters`.
struct TrainingGradients {
    var wEncT: [Float]
    var bEnc: [Float]
    var wDec: [Float]
    var bDec: [Float]

    init(dIn: Int, dSae: Int) {
        wEncT = [Float](repeating: 0, count: dIn * dSae)
        bEnc = [Float](repeating: 0, count: dSae)
        wDec = [Float](repeating: 0, count: dIn * dSae)
        bDec = [Float](repeating: 0, count: dIn)
    }

    /// Zeroes the gradients; `includingWeights: false` leaves the two weight matrices to a
    /// pass that overwrites them (the sparse backward).
    mutating func zero(includingWeights: Bool = true) {
        if includingWeights {
            wEncT.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            wDec.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        bEnc.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        bDec.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// The global L2 norm of all gradients (Double accumulation, fixed order).
    func globalNorm() -> Double {
        var s = 0.0
        for a in [wEncT, bEnc, wDec, bDec] {
            a.withUnsafeBufferPointer { p in
                var chunk = 0
                while chunk < p.count {
                    let end = min(p.count, chunk + 4096)
                    var f: Float = 0
                    for i in chunk..<end { f.addProduct(p[i], p[i]) }
                    s += Double(f)
                    chunk = end
                }
            }
        }
        return s.squareRoot()
    }

    mutating func scale(by factor: Float) {
        for i in wEncT.indices { wEncT[i] *= factor }
        for i in bEnc.indices { bEnc[i] *= factor }
        for i in wDec.indices { wDec[i] *= factor }
        for i in bDec.indices { bDec[i] *= factor }
    }
}
