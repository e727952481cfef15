import Foundation

extension Reference {
    /// Naive twin of `GELU.forward`: the textbook formulas in Float with libm, as PyTorch
    /// writes them: `.exact` `0.5 x (1 + erff(x / sqrt(2)))`, `.tanh`
    /// `0.5 x (1 + tanhf(sqrt(2/pi) (x + 0.044715 x^3)))`.
    package static func gelu(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        variant: GELU.Variant = .exact
    ) {
        let k = Float((2 / Double.pi).squareRoot())
        for i in 0..<count {
            let v = x[i]
            switch variant {
            case .exact: y[i] = 0.5 * v * (1 + erff(v / Float(2).squareRoot()))
            case .tanh: y[i] = 0.5 * v * (1 + tanhf(k * (v + 0.044715 * v * v * v)))
            }
        }
    }

    /// Naive twin of `GELU.backward`: `dx = dy * gelu'(x)` with
    /// `.exact` `gelu'(x) = 0.5 (1 + erf(x / sqrt(2))) + x e^(-x^2/2) / sqrt(2 pi)` and
    /// `.tanh` `gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)`,
    /// `t = tanh(sqrt(2/pi) (x + 0.044715 x^3))`.
    package static func geluBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        count: Int, variant: GELU.Variant = .exact
    ) {
        let k = Float((2 / Double.pi).squareRoot())
        let invSqrt2Pi = Float(1 / (2 * Double.pi).squareRoot())
        for i in 0..<count {
            let v = x[i]
            let g: Float
            switch variant {
            case .exact:
                g = 0.5 * (1 + erff(v / Float(2).squareRoot())) + v * expf(-0.5 * v * v) * invSqrt2Pi
            case .tanh:
                let t = tanhf(k * (v + 0.044715 * v * v * v))
                g = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v)
            }
            dx[i] = dy[i] * g
        }
    }
}
