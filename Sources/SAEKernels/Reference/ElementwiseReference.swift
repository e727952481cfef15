extension Reference {
    /// Naive twin of `Elementwise.add`: `out[i] = a[i] + b[i]` for `i < count`.
    package static func add(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }

    /// Naive twin of `Elementwise.affine`: `out[r, j] = x[r, j] * weight[j] + bias[j]`,
    /// rounded once (a fused multiply-add); with a nil weight `x + bias`, with a nil bias
    /// `x * weight`, with neither `x` (so a `-0` stays `-0`). `[rows, d]` row-major.
    package static func affine(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        into out: UnsafeMutablePointer<Float>, rows: Int, d: Int
    ) {
        for r in 0..<rows {
            for j in 0..<d {
                let xv = x[r * d + j]
                if let weight, let bias {
                    out[r * d + j] = bias[j].addingProduct(xv, weight[j])
                } else if let weight {
                    out[r * d + j] = xv * weight[j]
                } else if let bias {
                    out[r * d + j] = xv + bias[j]
                } else {
                    out[r * d + j] = xv
                }
            }
        }
    }
}
