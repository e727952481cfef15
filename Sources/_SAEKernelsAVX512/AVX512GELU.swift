// The exact GELU sixteen lanes at a time, for the GEMM's tile stage and the flat pass.
// exp16 and erf16 perform, lane by lane, the same IEEE operations in the same order as
// SAEKernels' eight-wide `SIMDMath.expKernel` and `SIMDMath.erfKernel` (same constants,
// same fused multiply-adds), so both widths give the same bits for every element.

@_transparent
private func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var xc = x.replacing(with: 89, where: x .> 89)
    xc = xc.replacing(with: -104, where: xc .< -104)
    let magic = SIMD16<Float>(repeating: 12_582_912)
    let t = magic.addingProduct(xc, SIMD16(repeating: 1.442_695_040_888_963_4))
    let n = t - magic
    var r = xc.addingProduct(n, SIMD16(repeating: -0.693_359_375))
    r.addProduct(n, SIMD16(repeating: 2.121_944_4e-4))
    var p = SIMD16<Float>(repeating: 1.987_569_150_0e-4)
    p = SIMD16(repeating: 1.398_199_950_7e-3).addingProduct(p, r)
    p = SIMD16(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
    p = SIMD16(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
    p = SIMD16(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
    p = SIMD16(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
    var y = r.addingProduct(p, r * r) + 1
    let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
    let n1 = ni &>> 1
    let n2 = ni &- n1
    let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD16<Float>.self)
    let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: SIMD16<Float>.self)
    y = (y * s1) * s2
    return y.replacing(with: x, where: x .!= x)
}

@_transparent
private func erf16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let signBits = unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x8000_0000
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    let t = x * x
    var p = SIMD16<Float>(repeating: 7.962679229e-05)
    p = SIMD16(repeating: -8.042697445e-04).addingProduct(p, t)
    p = SIMD16(repeating: 5.191889126e-03).addingProduct(p, t)
    p = SIMD16(repeating: -2.685557865e-02).addingProduct(p, t)
    p = SIMD16(repeating: 1.128362417e-01).addingProduct(p, t)
    p = SIMD16(repeating: -3.761262894e-01).addingProduct(p, t)
    p = SIMD16(repeating: 1.283791661e-01).addingProduct(p, t)
    let small = x.addingProduct(x, p)
    let u = ax.replacing(with: 3.92, where: ax .> 3.92) - 0.921875
    var q = SIMD16<Float>(repeating: 1.346007480e-06)
    q = SIMD16(repeating: -3.046868733e-05).addingProduct(q, u)
    q = SIMD16(repeating: 3.212649317e-04).addingProduct(q, u)
    q = SIMD16(repeating: -2.164305653e-03).addingProduct(q, u)
    q = SIMD16(repeating: 1.084666234e-02).addingProduct(q, u)
    q = SIMD16(repeating: -4.480373859e-02).addingProduct(q, u)
    q = SIMD16(repeating: -8.330009580e-01).addingProduct(q, u)
    q = SIMD16(repeating: -2.508010387e+00).addingProduct(q, u)
    q = SIMD16(repeating: -1.648561954e+00).addingProduct(q, u)
    let large = 1 - exp16(q)
    let largeSigned = unsafeBitCast(unsafeBitCast(large, to: SIMD16<UInt32>.self) | signBits, to: SIMD16<Float>.self)
    let y = largeSigned.replacing(with: small, where: ax .< 0.921875)
    return y.replacing(with: x, where: x .!= x)
}

/// In place, `c[i * ld + j] = 0.5 x (1 + erf(x / sqrt(2)))` for rows `0..<rows` and the
/// columns `0..<cols / 16 * 16`; returns that column count (the caller finishes the rest
/// eight-wide).
package func avx512GELUExactRows(_ c: UnsafeMutablePointer<Float>, ld: Int, rows: Int, cols: Int) -> Int {
    let full = cols / 16 * 16
    for i in 0..<rows {
        let p = c + i * ld
        var j = 0
        while j < full {
            let x = load16(p + j)
            let h = x * 0.5
            let y = h.addingProduct(h, erf16(x * 0.707_106_781_186_547_524))
            store16(y, p + j)
            j += 16
        }
    }
    return full
}
