extension Reference {
    /// Naive twin of `GEMM.multiply`: the triple loop, Float accumulation in k order,
    /// then `alpha * sum + beta * C` (C not read when beta == 0) and the epilogue.
    package static func gemm(
        _ opA: Transposition, _ opB: Transposition,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: GEMMEpilogue = .none
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let x = opA == .none ? a[i * lda + p] : a[p * lda + i]
                    let y = opB == .none ? b[p * ldb + j] : b[j * ldb + p]
                    sum += x * y
                }
                var v = alpha * sum
                if beta != 0 { v += beta * c[i * ldc + j] }
                if let bias = epilogue.columnBias { v += bias[j] }
                if let p = epilogue.preActivations { p[i * epilogue.preLeadingDimension + j] = v }
                if epilogue.relu && v < 0 { v = 0 }
                c[i * ldc + j] = v
            }
        }
    }
}
