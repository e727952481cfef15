extension Reference {
    /// Naive twin of `Reductions.rowL2Norms`: `norms[r] = sqrt(sum_j x[r, j]^2)`, summed in
    /// Double; `x` is `[rows, d]` row-major.
    package static func rowL2Norms(_ x: UnsafePointer<Float>, rows: Int, d: Int, norms: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var s = 0.0
            for j in 0..<d { s += Double(x[r * d + j]) * Double(x[r * d + j]) }
            norms[r] = Float(s.squareRoot())
        }
    }

    /// Naive twin of `Reductions.rowL0`: `counts[r] = #{ j : x[r, j] != 0 }`.
    package static func rowL0(_ x: UnsafePointer<Float>, rows: Int, n: Int, counts: UnsafeMutablePointer<Int>) {
        for r in 0..<rows {
            var c = 0
            for j in 0..<n where x[r * n + j] != 0 { c += 1 }
            counts[r] = c
        }
    }

    /// Naive twin of `Reductions.rowL1`: `sums[r] = sum_j |x[r, j]|`, summed in Double.
    package static func rowL1(_ x: UnsafePointer<Float>, rows: Int, n: Int, sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            var s = 0.0
            for j in 0..<n { s += Double(x[r * n + j].magnitude) }
            sums[r] = Float(s)
        }
    }

    /// Naive twin of the dense `Reductions.addFireCounts`: `counts[j] += #{ r : x[r, j] != 0 }`.
    package static func addFireCounts(_ x: UnsafePointer<Float>, rows: Int, n: Int, counts: UnsafeMutablePointer<Int>) {
        for r in 0..<rows {
            for j in 0..<n where x[r * n + j] != 0 { counts[j] += 1 }
        }
    }

    /// Naive twin of the CSR `Reductions.addFireCounts`: `counts[indices[k]] += 1` for every
    /// listed entry `k` (rows `rowOffsets[r]..<rowOffsets[r + 1]`) with a nonzero value.
    package static func addFireCounts(
        indices: UnsafePointer<Int32>, values: UnsafePointer<Float>?, rowOffsets: UnsafePointer<Int>,
        rows: Int, features: Int, counts: UnsafeMutablePointer<Int>
    ) {
        for r in 0..<rows {
            for k in rowOffsets[r]..<rowOffsets[r + 1] where (values?[k] ?? 1) != 0 {
                counts[Int(indices[k])] += 1
            }
        }
    }

    /// Naive twin of `Reductions.reconstructionStatistics`: the sums of
    /// `ReconstructionStatistics` by plain Double loops over `x`, `xHat` (`[rows, d]`).
    package static func reconstructionStatistics(
        _ x: UnsafePointer<Float>, _ xHat: UnsafePointer<Float>, rows: Int, d: Int
    ) -> ReconstructionStatistics {
        var s = ReconstructionStatistics(d: d)
        s.rows = rows
        for r in 0..<rows {
            for j in 0..<d {
                let a = Double(x[r * d + j]), e = a - Double(xHat[r * d + j])
                s.sumSquaredError += e * e
                s.sumSquaredX += a * a
                s.sumX[j] += a
            }
        }
        return s
    }
}
