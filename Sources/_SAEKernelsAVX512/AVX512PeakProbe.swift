/// Runs `iterations` rounds of 24 independent 16-wide FMAs (768 flops a round) held in
/// registers: the machine's sustainable FMA throughput on one core, for reporting % of peak.
package func avx512FMAPeakProbe(iterations: Int) -> Float {
    var acc = [SIMD16<Float>](repeating: SIMD16(repeating: 1), count: 24)
    return acc.withUnsafeMutableBufferPointer { a in
        var c0 = a[0], c1 = a[1], c2 = a[2], c3 = a[3], c4 = a[4], c5 = a[5], c6 = a[6], c7 = a[7]
        var c8 = a[8], c9 = a[9], c10 = a[10], c11 = a[11], c12 = a[12], c13 = a[13], c14 = a[14], c15 = a[15]
        var c16 = a[16], c17 = a[17], c18 = a[18], c19 = a[19], c20 = a[20], c21 = a[21], c22 = a[22], c23 = a[23]
        let x = SIMD16<Float>(repeating: 0.999999), y = SIMD16<Float>(repeating: 1e-7)
        for _ in 0..<iterations {
            c0.addProduct(c0, x); c1.addProduct(c1, x); c2.addProduct(c2, x); c3.addProduct(c3, x)
            c4.addProduct(c4, x); c5.addProduct(c5, x); c6.addProduct(c6, x); c7.addProduct(c7, x)
            c8.addProduct(c8, x); c9.addProduct(c9, x); c10.addProduct(c10, x); c11.addProduct(c11, x)
            c12.addProduct(c12, y); c13.addProduct(c13, y); c14.addProduct(c14, y); c15.addProduct(c15, y)
            c16.addProduct(c16, y); c17.addProduct(c17, y); c18.addProduct(c18, y); c19.addProduct(c19, y)
            c20.addProduct(c20, y); c21.addProduct(c21, y); c22.addProduct(c22, y); c23.addProduct(c23, y)
        }
        let s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11
            + c12 + c13 + c14 + c15 + c16 + c17 + c18 + c19 + c20 + c21 + c22 + c23
        return s.sum()
    }
}
