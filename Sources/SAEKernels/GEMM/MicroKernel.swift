/// How the micro-kernel writes its tile: `C = alpha * acc + beta * C`, then (after the
/// last k block only) the epilogue.
struct TileStore {
    var alpha: Float
    /// The factor on the old C; 0 means C is not read (it may hold garbage or NaN).
    var beta: Float
    /// Column bias at the tile's first column, or nil.
    var bias: UnsafePointer<Float>?
    var relu: Bool
    /// Pre-activation output at the tile's origin, or nil.
    var pre: UnsafeMutablePointer<Float>?
    var ldPre: Int
    /// This tile's entry of the row block maxima (one per tile row), or nil.
    var blockMax: UnsafeMutablePointer<Float>? = nil
    var ldBlockMax: Int = 0
}

/// Finishes one row of a full-width tile: scale, add beta*C, bias, pre, ReLU, store.
@inline(__always)
private func storeRow(
    _ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ c: UnsafeMutablePointer<Float>,
    _ s: TileStore, _ pre: UnsafeMutablePointer<Float>?, _ blockMax: UnsafeMutablePointer<Float>?
) {
    var v0 = a0, v1 = a1
    if s.alpha != 1 { v0 *= s.alpha; v1 *= s.alpha }
    if s.beta == 1 {
        v0 += SIMDMath.load(c); v1 += SIMDMath.load(c + 8)
    } else if s.beta != 0 {
        v0.addProduct(SIMD8(repeating: s.beta), SIMDMath.load(c))
        v1.addProduct(SIMD8(repeating: s.beta), SIMDMath.load(c + 8))
    }
    if let b = s.bias { v0 += SIMDMath.load(b); v1 += SIMDMath.load(b + 8) }
    if let p = pre { SIMDMath.store(v0, p); SIMDMath.store(v1, p + 8) }
    if let m = blockMax {
        let h = v0.replacing(with: v1, where: v0 .< v1)
        let q = h.lowHalf.replacing(with: h.highHalf, where: h.lowHalf .< h.highHalf)
        let r = q.lowHalf.replacing(with: q.highHalf, where: q.lowHalf .< q.highHalf)
        m.pointee = r[0] < r[1] ? r[1] : r[0]
    }
    if s.relu {
        let z = SIMD8<Float>()
        v0 = v0.replacing(with: z, where: v0 .< z)
        v1 = v1.replacing(with: z, where: v1 .< z)
    }
    SIMDMath.store(v0, c); SIMDMath.store(v1, c + 8)
}

/// The 6x16 register-blocked micro-kernel: `acc = A_panel (6 x kc) * B_panel (kc x 16)`
/// with twelve eight-wide accumulators and one `vfmadd` per accumulator per k, then
/// the tile store on the top-left `mr x nr` corner of C (`mr <= 6`, `nr <= 16`).
///
/// `a` is a packed A panel (`kc` groups of 6), `b` a packed B panel (`kc` groups of 16).
func gemmMicroKernel6x16(
    kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, mr: Int, nr: Int, store s: TileStore
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var ap = a, bp = b
    for _ in 0..<kc {
        let b0 = SIMDMath.load(bp), b1 = SIMDMath.load(bp + 8)
        var x = SIMD8<Float>(repeating: ap[0])
        c00.addProduct(x, b0); c01.addProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[1])
        c10.addProduct(x, b0); c11.addProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[2])
        c20.addProduct(x, b0); c21.addProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[3])
        c30.addProduct(x, b0); c31.addProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[4])
        c40.addProduct(x, b0); c41.addProduct(x, b1)
        x = SIMD8<Float>(repeating: ap[5])
        c50.addProduct(x, b0); c51.addProduct(x, b1)
        ap += 6; bp += 16
    }
    if mr == 6 && nr == 16 {
        let ld = s.ldPre, lm = s.ldBlockMax
        storeRow(c00, c01, c, s, s.pre, s.blockMax)
        storeRow(c10, c11, c + ldc, s, s.pre.map { $0 + ld }, s.blockMax.map { $0 + lm })
        storeRow(c20, c21, c + 2 * ldc, s, s.pre.map { $0 + 2 * ld }, s.blockMax.map { $0 + 2 * lm })
        storeRow(c30, c31, c + 3 * ldc, s, s.pre.map { $0 + 3 * ld }, s.blockMax.map { $0 + 3 * lm })
        storeRow(c40, c41, c + 4 * ldc, s, s.pre.map { $0 + 4 * ld }, s.blockMax.map { $0 + 4 * lm })
        storeRow(c50, c51, c + 5 * ldc, s, s.pre.map { $0 + 5 * ld }, s.blockMax.map { $0 + 5 * lm })
        return
    }
    // Edge tile: spill the accumulators, then store the valid corner element by element.
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 96) { tmp in
        let t = tmp.baseAddress!
        SIMDMath.store(c00, t); SIMDMath.store(c01, t + 8); SIMDMath.store(c10, t + 16); SIMDMath.store(c11, t + 24)
        SIMDMath.store(c20, t + 32); SIMDMath.store(c21, t + 40); SIMDMath.store(c30, t + 48); SIMDMath.store(c31, t + 56)
        SIMDMath.store(c40, t + 64); SIMDMath.store(c41, t + 72); SIMDMath.store(c50, t + 80); SIMDMath.store(c51, t + 88)
        for i in 0..<mr {
            let row = c + i * ldc
            var blockMax = -Float.infinity
            for j in 0..<nr {
                var v = s.alpha * t[i * 16 + j]
                if s.beta != 0 { v.addProduct(s.beta, row[j]) }
                if let bias = s.bias { v += bias[j] }
                if let p = s.pre { p[i * s.ldPre + j] = v }
                if !(v <= blockMax) { blockMax = v }
                if s.relu && v < 0 { v = 0 }
                row[j] = v
            }
            if let m = s.blockMax { m[i * s.ldBlockMax] = blockMax }
        }
    }
}
