import Foundation

extension Reference {
    /// Naive twin of `SIMDMath.exp(_:_:count:)`: `y[i] = expf(x[i])` (libm), element by element.
    package static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = expf(x[i]) }
    }

    /// Naive twin of `SIMDMath.erf(_:_:count:)`: `y[i] = erff(x[i])` (libm).
    package static func erf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = erff(x[i]) }
    }

    /// Naive twin of `SIMDMath.tanh(_:_:count:)`: `y[i] = tanhf(x[i])` (libm).
    package static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = tanhf(x[i]) }
    }
}
