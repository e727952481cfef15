import SAEKernels

/// Feature resampling: giving latents that stopped firing a new start.
enum Resampler {
    /// Re-initialises the given latents as at the start: a random unit decoder row, the
    /// encoder column equal to it, b_enc 0, Adam moments reset.
    static func reinitialize(_ latents: [Int], in p: inout TrainingParameters, rng: inout SeededRandom) {
        let dIn = p.dIn
        for j in latents {
            var row = (0..<dIn).map { _ in rng.normal() }
            let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { row = row.map { $0 / norm } }
            for i in 0..<dIn { p.wDec[j * dIn + i] = row[i]; p.wEncT[j * dIn + i] = row[i] }
            p.bEnc[j] = 0
        }
        p.resetMoments(of: latents)
    }

    /// Anthropic's resampling ("Towards Monosemanticity", 2023): for each latent, draw an input
    /// with probability proportional to the square of its loss (squared error plus L1 term),
    /// set the decoder row to that input normalised, the encoder column to it scaled to
    /// 0.2 x the mean encoder norm of the live latents, b_enc to 0; reset the Adam moments.
    static func anthropic(
        _ latents: [Int], in p: inout TrainingParameters, sample x: [Float], rows: Int, losses: [Double],
        alive: [Int], rng: inout SeededRandom
    ) {
        let dIn = p.dIn
        guard !latents.isEmpty, rows > 0 else { return }
        // Cumulative weights: loss^2.
        var cumulative = [Double](repeating: 0, count: rows)
        var total = 0.0
        for r in 0..<rows { total += losses[r] * losses[r]; cumulative[r] = total }
        var encoderNorm = 0.0
        for j in alive {
            var s = 0.0
            for i in 0..<dIn { s += Double(p.wEncT[j * dIn + i]) * Double(p.wEncT[j * dIn + i]) }
            encoderNorm += s.squareRoot()
        }
        encoderNorm = alive.isEmpty ? 1 : encoderNorm / Double(alive.count)
        for j in latents {
            var r = 0
            if total > 0 {
                let u = rng.uniformDouble() * total
                var lo = 0, hi = rows - 1
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] <= u { lo = mid + 1 } else { hi = mid } }
                r = lo
            } else {
                r = Int(rng.next() % UInt64(rows))
            }
            var norm = 0.0
            for i in 0..<dIn { norm += Double(x[r * dIn + i]) * Double(x[r * dIn + i]) }
            norm = norm.squareRoot()
            guard norm > 0 else { continue }
            let encScale = 0.2 * encoderNorm / norm
            for i in 0..<dIn {
                p.wDec[j * dIn + i] = Float(Double(x[r * dIn + i]) / norm)
                p.wEncT[j * dIn + i] = Float(Double(x[r * dIn + i]) * encScale)
            }
            p.bEnc[j] = 0
        }
        p.resetMoments(of: latents)
    }
}
