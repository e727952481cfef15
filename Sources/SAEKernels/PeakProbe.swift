import _SAEKernelsAVX512

/// The sustainable fused multiply-add throughput of one core, measured: independent FMA
/// chains held in registers with the widest vectors this CPU runs (no memory traffic).
/// `sae-bench` reports each kernel's GFLOP/s as a fraction of this times the thread count.
package enum FMAPeakProbe {
    /// Flops in one probe round of the widest kernel.
    package static var flopsPerIteration: Int { CPUFeatures.hasAVX512F ? 24 * 16 * 2 : 12 * 8 * 2 }

    /// Runs `iterations` rounds; the result only keeps the work alive.
    package static func run(iterations: Int) -> Float {
        CPUFeatures.hasAVX512F ? avx512FMAPeakProbe(iterations: iterations) : simd8Probe(iterations)
    }

    private static func simd8Probe(_ iterations: Int) -> Float {
        var c0 = SIMD8<Float>(repeating: 1), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0
        var c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0
        let x = SIMD8<Float>(repeating: 0.999999)
        for _ in 0..<iterations {
            c0.addProduct(c0, x); c1.addProduct(c1, x); c2.addProduct(c2, x); c3.addProduct(c3, x)
            c4.addProduct(c4, x); c5.addProduct(c5, x); c6.addProduct(c6, x); c7.addProduct(c7, x)
            c8.addProduct(c8, x); c9.addProduct(c9, x); c10.addProduct(c10, x); c11.addProduct(c11, x)
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).sum()
    }
}
