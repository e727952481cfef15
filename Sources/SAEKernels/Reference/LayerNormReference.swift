extension Reference {
    /// Naive twin of `LayerNorm.forward`: per row, two passes in Double,
    /// `mean = sum(x) / d`, `var = sum((x - mean)^2) / d`, then
    /// `y = (x - mean) / sqrt(var + eps) * weight + bias`, rounded to Float once.
    /// `x`, `y`, `normalized`: `[rows, d]` row-major; `weight`, `bias`: `[d]` or nil;
    /// `mean`, `rstd`: `[rows]` or nil.
    package static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, d: Int,
        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float = 1e-5,
        output y: UnsafeMutablePointer<Float>,
        normalized: UnsafeMutablePointer<Float>? = nil,
        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil
    ) {
        for r in 0..<rows {
            let row = x + r * d
            var sum = 0.0
            for j in 0..<d { sum += Double(row[j]) }
            let mu = sum / Double(d)
            var squares = 0.0
            for j in 0..<d { squares += (Double(row[j]) - mu) * (Double(row[j]) - mu) }
            let inverseStd = 1 / (squares / Double(d) + Double(eps)).squareRoot()
            mean?[r] = Float(mu)
            rstd?[r] = Float(inverseStd)
            for j in 0..<d {
                let xhat = (Double(row[j]) - mu) * inverseStd
                normalized?[r * d + j] = Float(xhat)
                y[r * d + j] = Float(xhat * Double(weight?[j] ?? 1) + Double(bias?[j] ?? 0))
            }
        }
    }
}
