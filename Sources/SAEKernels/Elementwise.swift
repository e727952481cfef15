/// Elementwise passes of the transformer forward pass (the residual adds, the embedding
/// sum and the LayerNorm scale), split over threads only when large enough to pay for it.
/// Naive twins: `Reference.add`, `Reference.affine`.
package enum Elementwise {
    /// `out[i] = a[i] + b[i]` (`out` may equal `a` or `b`).
    package static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                            count: Int, threads: Int) {
        let parts = count >= 1 << 16 ? threads : 1
        Parallel.forRanges(count, threads: parts, granule: 64) { range in
            for i in range { out[i] = a[i] + b[i] }
        }
    }

    /// `out[r, j] = x[r, j] * weight[j] + bias[j]` (fused multiply-add, as `LayerNorm`
    /// scales; a nil weight or bias is left out). `[rows, d]` row-major.
    package static func affine(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                               into out: UnsafeMutablePointer<Float>, rows: Int, d: Int, threads: Int) {
        Parallel.forRanges(rows, threads: rows * d >= 1 << 16 ? threads : 1) { range in
            for r in range {
                let xr = x + r * d, o = out + r * d
                for j in 0..<d {
                    switch (weight, bias) {
                    case let (w?, b?): o[j] = b[j].addingProduct(xr[j], w[j])
                    case let (w?, nil): o[j] = xr[j] * w[j]
                    case let (nil, b?): o[j] = xr[j] + b[j]
                    case (nil, nil): o[j] = xr[j]
                    }
                }
            }
        }
    }
}
