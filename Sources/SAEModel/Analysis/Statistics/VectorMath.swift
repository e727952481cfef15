import Foundation
import SAEKernels

/// Small Double-precision helpers on Float vectors for the weight analyses.
enum VectorMath {
    /// `Σ a_i b_i` in Double.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    /// `a · b / (||a|| ||b||)`; 0 when either is the zero vector.
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "cosine: lengths \(a.count) and \(b.count)")
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<a.count {
            let x = Double(a[i]), y = Double(b[i])
            ab += x * y; aa += x * x; bb += y * y
        }
        return aa > 0 && bb > 0 ? ab / (aa * bb).squareRoot() : 0
    }

    /// Column `j` of a row-major `rows x cols` matrix.
    static func column(_ m: Matrix, _ j: Int) -> [Float] {
        m.withUnsafeBufferPointer { p in (0..<m.rows).map { p[$0 * m.cols + j] } }
    }

    /// The rows of `m` scaled to unit norm (zero rows stay zero), as a new matrix.
    static func unitRows(_ m: Matrix) -> Matrix {
        var out = m
        let cols = m.cols
        out.withUnsafeMutableBufferPointer { p in
            for r in 0..<m.rows {
                var ss = 0.0
                for c in 0..<cols { let v = Double(p[r * cols + c]); ss += v * v }
                let s = ss > 0 ? Float(1 / ss.squareRoot()) : 0
                for c in 0..<cols { p[r * cols + c] *= s }
            }
        }
        return out
    }
}
