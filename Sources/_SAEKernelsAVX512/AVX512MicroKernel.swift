// The AVX-512 GEMM micro-kernel. This module is compiled for Skylake-AVX512 on x86_64
// (zmm registers, 32 of them); SAEKernels calls into it only after checking at run time
// that the CPU has avx512f. It knows nothing of the GEMM driver beyond the packed layouts.

/// The 12x32 register-blocked micro-kernel: `acc = A_panel (12 x kc) * B_panel (kc x 32)`
/// in 24 sixteen-wide accumulators, then on the top-left `mr x nr` corner of C:
/// `v = alpha * acc + beta * C` (C not read when beta == 0), `+ bias[j]` if given,
/// `pre[i, j] = v` if given, `C[i, j] = relu ? max(v, 0) : v`.
///
/// `a` holds `kc` groups of 12 values (one per row), `b` holds `kc` groups of 32.
package func avx512GEMMMicroKernel12x32(
    kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, mr: Int, nr: Int,
    alpha: Float, beta: Float, bias: UnsafePointer<Float>?, relu: Bool,
    pre: UnsafeMutablePointer<Float>?, ldPre: Int,
    blockMax: UnsafeMutablePointer<Float>? = nil, ldBlockMax: Int = 0
) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var c60 = SIMD16<Float>(), c61 = SIMD16<Float>()
    var c70 = SIMD16<Float>(), c71 = SIMD16<Float>()
    var c80 = SIMD16<Float>(), c81 = SIMD16<Float>()
    var c90 = SIMD16<Float>(), c91 = SIMD16<Float>()
    var c100 = SIMD16<Float>(), c101 = SIMD16<Float>()
    var c110 = SIMD16<Float>(), c111 = SIMD16<Float>()
    var ap = a, bp = b
    for _ in 0..<kc {
        let b0 = load16(bp), b1 = load16(bp + 16)
        var x: SIMD16<Float>
        x = SIMD16<Float>(repeating: ap[0]); c00.addProduct(x, b0); c01.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[1]); c10.addProduct(x, b0); c11.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[2]); c20.addProduct(x, b0); c21.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[3]); c30.addProduct(x, b0); c31.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[4]); c40.addProduct(x, b0); c41.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[5]); c50.addProduct(x, b0); c51.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[6]); c60.addProduct(x, b0); c61.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[7]); c70.addProduct(x, b0); c71.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[8]); c80.addProduct(x, b0); c81.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[9]); c90.addProduct(x, b0); c91.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[10]); c100.addProduct(x, b0); c101.addProduct(x, b1)
        x = SIMD16<Float>(repeating: ap[11]); c110.addProduct(x, b0); c111.addProduct(x, b1)
        ap += 12; bp += 32
    }
    if mr == 12 && nr == 32 {
        let e = RowEpilogue(alpha: alpha, beta: beta, bias: bias, relu: relu, pre: pre, ldPre: ldPre,
                            blockMax: blockMax, ldBlockMax: ldBlockMax)
        e.store(c00, c01, c, 0, ldc)
        e.store(c10, c11, c, 1, ldc)
        e.store(c20, c21, c, 2, ldc)
        e.store(c30, c31, c, 3, ldc)
        e.store(c40, c41, c, 4, ldc)
        e.store(c50, c51, c, 5, ldc)
        e.store(c60, c61, c, 6, ldc)
        e.store(c70, c71, c, 7, ldc)
        e.store(c80, c81, c, 8, ldc)
        e.store(c90, c91, c, 9, ldc)
        e.store(c100, c101, c, 10, ldc)
        e.store(c110, c111, c, 11, ldc)
        return
    }
    // Edge tile: spill the accumulators, then store the valid corner element by element.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 384) { tmp in
        let t = tmp.baseAddress!
        store16(c00, t + 0); store16(c01, t + 16)
        store16(c10, t + 32); store16(c11, t + 48)
        store16(c20, t + 64); store16(c21, t + 80)
        store16(c30, t + 96); store16(c31, t + 112)
        store16(c40, t + 128); store16(c41, t + 144)
        store16(c50, t + 160); store16(c51, t + 176)
        store16(c60, t + 192); store16(c61, t + 208)
        store16(c70, t + 224); store16(c71, t + 240)
        store16(c80, t + 256); store16(c81, t + 272)
        store16(c90, t + 288); store16(c91, t + 304)
        store16(c100, t + 320); store16(c101, t + 336)
        store16(c110, t + 352); store16(c111, t + 368)
        for i in 0..<mr {
            let rowPtr = c + i * ldc
            var rowMax = -Float.infinity
            for j in 0..<nr {
                var v = alpha * t[i * 32 + j]
                if beta != 0 { v.addProduct(beta, rowPtr[j]) }
                if let bias { v += bias[j] }
                if let q = pre { q[i * ldPre + j] = v }
                if !(v <= rowMax) { rowMax = v }
                if relu && v < 0 { v = 0 }
                rowPtr[j] = v
            }
            if let m = blockMax { m[i * ldBlockMax] = rowMax }
        }
    }
}

/// The store of one full 32-wide tile row: `v = alpha * acc + beta * C`, `+ bias`, the
/// pre-activation copy, the row's block maximum, the ReLU, then C.
private struct RowEpilogue {
    let alpha: Float, beta: Float
    let bias: UnsafePointer<Float>?
    let relu: Bool
    let pre: UnsafeMutablePointer<Float>?
    let ldPre: Int
    let blockMax: UnsafeMutablePointer<Float>?
    let ldBlockMax: Int

    @_transparent
    func store(_ a0: SIMD16<Float>, _ a1: SIMD16<Float>, _ c: UnsafeMutablePointer<Float>, _ i: Int, _ ldc: Int) {
        let p = c + i * ldc
        var v0 = a0, v1 = a1
        if alpha != 1 { v0 *= alpha; v1 *= alpha }
        if beta == 1 {
            v0 += load16(p); v1 += load16(p + 16)
        } else if beta != 0 {
            v0.addProduct(SIMD16(repeating: beta), load16(p))
            v1.addProduct(SIMD16(repeating: beta), load16(p + 16))
        }
        if let b = bias { v0 += load16(b); v1 += load16(b + 16) }
        if let q = pre { store16(v0, q + i * ldPre); store16(v1, q + i * ldPre + 16) }
        if let m = blockMax {
            let h = v0.replacing(with: v1, where: v0 .< v1)
            let a = h.lowHalf.replacing(with: h.highHalf, where: h.lowHalf .< h.highHalf)
            let b = a.lowHalf.replacing(with: a.highHalf, where: a.lowHalf .< a.highHalf)
            let d = b.lowHalf.replacing(with: b.highHalf, where: b.lowHalf .< b.highHalf)
            m[i * ldBlockMax] = d[0] < d[1] ? d[1] : d[0]
        }
        if relu {
            let zero = SIMD16<Float>()
            v0 = v0.replacing(with: zero, where: v0 .< zero)
            v1 = v1.replacing(with: zero, where: v1 .< zero)
        }
        store16(v0, p); store16(v1, p + 16)
    }
}
