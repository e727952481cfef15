import SAEKernels

/// The AuxK auxiliary loss (Gao et al., "Scaling and evaluating sparse autoencoders"):
/// reconstruct the detached residual `e = x - x_hat` from the `kAux` largest pre-activations
/// among dead latents, `e_hat = sum_j ReLU(pre_j) W_dec[j]` (no bias), and add
/// `coefficient * sum_r ||e_hat_r - e_r||^2 / sum_r ||e_r - mean(e)||^2`. Its gradients reach
/// only the dead latents' encoder columns, decoder rows and biases, and b_dec through the
/// input centring; it gives dead latents a signal to revive.
enum AuxK {
    /// Adds the AuxK gradients to `grads` and returns the loss term.
    static func addGradients(
        _ p: TrainingParameters, x: UnsafePointer<Float>, xc: [Float], xHat: [Float], rows: Int, dead: [Int32],
        kAux: Int, coefficient: Float, grads: inout TrainingGradients, threads t: Int
    ) -> Double {
        let dIn = p.dIn
        let k = min(kAux, dead.count)
        guard k > 0 else { return 0 }
        // The dead latents' encoder rows and biases.
        var wD = [Float](repeating: 0, count: dead.count * dIn)
        var bD = [Float](repeating: 0, count: dead.count)
        for (l, j) in dead.enumerated() {
            for i in 0..<dIn { wD[l * dIn + i] = p.wEncT[Int(j) * dIn + i] }
            bD[l] = p.bEnc[Int(j)]
        }
        let local = xc.withUnsafeBufferPointer { xp in wD.withUnsafeBufferPointer { w in bD.withUnsafeBufferPointer { b in
            Encoder.forwardTopK(x: xp.baseAddress!, batch: rows, dIn: dIn, dSae: dead.count, wEnc: w.baseAddress!,
                                layout: .transposed, bEnc: b.baseAddress!, bDec: nil, k: k, threads: t)
        }}}
        let codes = SparseCodes(rows: rows, width: p.dSae, offsets: local.offsets,
                                indices: local.indices.map { dead[Int($0)] }, values: local.values)
        // Residual and its variance.
        var e = [Float](repeating: 0, count: rows * dIn)
        var mean = [Double](repeating: 0, count: dIn)
        for r in 0..<rows { for i in 0..<dIn {
            let v = x[r * dIn + i] - xHat[r * dIn + i]
            e[r * dIn + i] = v; mean[i] += Double(v)
        }}
        for i in 0..<dIn { mean[i] /= Double(rows) }
        var denominator = 0.0
        for r in 0..<rows { for i in 0..<dIn { let d = Double(e[r * dIn + i]) - mean[i]; denominator += d * d } }
        guard denominator > 0 else { return 0 }
        var eHat = [Float](repeating: 0, count: rows * dIn)
        p.wDec.withUnsafeBufferPointer { wd in eHat.withUnsafeMutableBufferPointer { out in
            SparseDecode.decode(codes, weights: wd.baseAddress!, d: dIn, bias: nil, out: out.baseAddress!, threads: t)
        }}
        var numerator = 0.0
        var g = [Float](repeating: 0, count: rows * dIn)
        let scale = Float(2 * Double(coefficient) / denominator)
        for n in 0..<(rows * dIn) {
            let diff = eHat[n] - e[n]
            numerator += Double(diff) * Double(diff)
            g[n] = scale * diff
        }
        // Decoder rows, then through the codes to the encoder.
        let byFeature = SparseCodesByFeature(codes)
        codes.values.withUnsafeBufferPointer { a in g.withUnsafeBufferPointer { gp in grads.wDec.withUnsafeMutableBufferPointer { gw in
            SparseBackward.accumulateWeightGradients(codes, byFeature: byFeature, coefficients: a.baseAddress!, inputs: gp.baseAddress!,
                                                     d: dIn, gradWeights: gw.baseAddress!, gradBias: nil, threads: t)
        }}}
        var dpre = [Float](repeating: 0, count: codes.nonzeroCount)
        g.withUnsafeBufferPointer { gp in p.wDec.withUnsafeBufferPointer { wd in dpre.withUnsafeMutableBufferPointer { dp in
            SparseBackward.codeGradients(codes, outputGradient: gp.baseAddress!, weights: wd.baseAddress!, d: dIn, into: dp.baseAddress!, threads: t)
        }}}
        for e in 0..<dpre.count where codes.values[e] <= 0 { dpre[e] = 0 }
        TrainingStep.encoderBackward(p, codes: codes, byFeature: byFeature, dpre: dpre, xc: xc, grads: &grads, threads: t)
        return Double(coefficient) * numerator / denominator
    }
}
