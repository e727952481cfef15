/// Initial values of b_dec from a sample of activation rows.
enum DecoderBiasInit {
    /// The coordinate-wise mean.
    static func mean(_ x: [Float], rows: Int, dIn: Int) -> [Float] {
        var m = [Double](repeating: 0, count: dIn)
        for r in 0..<rows { for i in 0..<dIn { m[i] += Double(x[r * dIn + i]) } }
        return m.map { Float($0 / Double(max(1, rows))) }
    }

    /// The geometric median (the point minimising the sum of Euclidean distances), by
    /// Weiszfeld's iteration from the mean, in Double; stops when the step is below
    /// `tolerance` times the point's norm or after `maxIterations`.
    static func geometricMedian(_ x: [Float], rows: Int, dIn: Int, maxIterations: Int = 100, tolerance: Double = 1e-6) -> [Float] {
        var y = mean(x, rows: rows, dIn: dIn).map(Double.init)
        for _ in 0..<maxIterations {
            var num = [Double](repeating: 0, count: dIn), den = 0.0
            for r in 0..<rows {
                var d2 = 0.0
                for i in 0..<dIn { let t = Double(x[r * dIn + i]) - y[i]; d2 += t * t }
                let w = 1 / max(d2.squareRoot(), 1e-12)
                for i in 0..<dIn { num[i] += w * Double(x[r * dIn + i]) }
                den += w
            }
            var step = 0.0, norm = 0.0
            for i in 0..<dIn {
                let n = num[i] / den
                step += (n - y[i]) * (n - y[i]); norm += n * n
                y[i] = n
            }
            if step.squareRoot() <= tolerance * max(1, norm.squareRoot()) { break }
        }
        return y.map(Float.init)
    }
}
