import Foundation

extension Reference {
    /// Naive twin of `Adam.step`, the PyTorch formulas element by element in Float:
    /// `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
    /// `p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`; the Double
    /// hyper-parameters `b1`, `1 - b1`, `b2`, `1 - b2`, `eps`, `lr / (1 - b1^t)` and
    /// `sqrt(1 - b2^t)` are each rounded to Float once. Flat buffers of `count` Floats.
    package static func adamStep(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
        count: Int, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, step t: Int
    ) {
        let stepSize = Float(learningRate / (1 - Foundation.pow(beta1, Double(t))))
        let bc2Sqrt = Float((1 - Foundation.pow(beta2, Double(t))).squareRoot())
        let b1 = Float(beta1), c1 = Float(1 - beta1), b2 = Float(beta2), c2 = Float(1 - beta2)
        let eps = Float(epsilon)
        for i in 0..<count {
            m[i] = b1 * m[i] + c1 * g[i]
            v[i] = b2 * v[i] + c2 * g[i] * g[i]
            p[i] -= stepSize * (m[i] / (v[i].squareRoot() / bc2Sqrt + eps))
        }
    }

    /// Naive twin of `Adam.projectGradientOrthogonal`: per row of the `[rows, d]` row-major
    /// `w` and `g`, dot products in Double, `g -= (g . w) / (w . w) * w`; zero rows skipped.
    package static func projectGradientOrthogonal(
        _ w: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, rows: Int, d: Int
    ) {
        for r in 0..<rows {
            var gw = 0.0, ww = 0.0
            for j in 0..<d {
                gw += Double(g[r * d + j]) * Double(w[r * d + j])
                ww += Double(w[r * d + j]) * Double(w[r * d + j])
            }
            if ww == 0 { continue }
            for j in 0..<d { g[r * d + j] = Float(Double(g[r * d + j]) - gw / ww * Double(w[r * d + j])) }
        }
    }

    /// Naive twin of `Adam.normalizeRows`: per row of the `[rows, d]` row-major `w`, the
    /// norm in Double, `w /= ||w||`; zero rows skipped.
    package static func normalizeRows(_ w: UnsafeMutablePointer<Float>, rows: Int, d: Int) {
        for r in 0..<rows {
            var ww = 0.0
            for j in 0..<d { ww += Double(w[r * d + j]) * Double(w[r * d + j]) }
            if ww == 0 { continue }
            let norm = ww.squareRoot()
            for j in 0..<d { w[r * d + j] = Float(Double(w[r * d + j]) / norm) }
        }
    }
}
