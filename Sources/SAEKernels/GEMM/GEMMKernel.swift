import _SAEKernelsAVX512

/// A GEMM micro-kernel and the blocking that feeds it (BLIS's five loops).
///
/// The micro-kernel computes an `mr x nr` tile of C in registers. `kc` rows of B (one
/// `kc x nr` micro-panel, kept in L1 across the IR loop) and an `mc x kc` block of A
/// (in L2) are packed; `nc` columns of B form the panel kept in L3.
package struct GEMMKernel: Sendable, CustomStringConvertible {
    package enum Kind: Sendable { case avx2x6x16, avx512x12x32 }
    package let kind: Kind
    package let mr: Int
    package let nr: Int
    package let mc: Int
    package let nc: Int
    /// The largest k block. A k that fits is taken whole (one pass over C); a larger
    /// one is cut into equal blocks of at most this size.
    package let kcMax: Int
    /// Loop order inside a block: true walks A panels outside and B panels inside (the
    /// `mr x kc` A micro-panel stays in L1 while an L2-sized B panel streams past it, as
    /// BLIS does for wide-vector kernels); false keeps a `kc x nr` B micro-panel in L1.
    package let panelOfAInL1: Bool

    /// Eight-wide (AVX2 + FMA, or NEON pairs elsewhere): 6x16 tile in 12 registers; the
    /// 16 x 512 B micro-panel (32 KiB) stays in L1, a 144 x 512 A block in L2.
    package static let simd8 = GEMMKernel(
        kind: .avx2x6x16, mr: 6, nr: 16, mc: 144, nc: 4080, kcMax: 512, panelOfAInL1: false)
    /// Sixteen-wide (AVX-512): 12x32 tile in 24 zmm registers; the 12 x 512 A micro-panel
    /// (24 KiB) stays in L1, a 512 x 480 B panel (960 KiB) in L2, a 1536 x 512 A block in L3.
    /// Chosen by sweeping kc, mc, nc at 4096x2048x2048 and 4096x512x16384.
    package static let simd16 = GEMMKernel(
        kind: .avx512x12x32, mr: 12, nr: 32, mc: 2052, nc: 480, kcMax: 512, panelOfAInL1: true)

    /// The widest kernel this CPU runs.
    package static let best: GEMMKernel = CPUFeatures.hasAVX512F ? simd16 : simd8

    /// Every kernel this CPU runs (the tests check each).
    package static var available: [GEMMKernel] { CPUFeatures.hasAVX512F ? [simd8, simd16] : [simd8] }

    package var description: String { kind == .avx2x6x16 ? "6x16 (8-wide)" : "12x32 (AVX-512)" }

    /// The k blocks for a given k: equal sizes, each at most `kcMax`.
    func kBlocks(_ k: Int) -> (count: Int, size: Int) {
        let count = max(1, (k + kcMax - 1) / kcMax)
        return (count, (k + count - 1) / count)
    }

    /// Runs the micro-kernel on one tile.
    @inline(__always)
    func run(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
             c: UnsafeMutablePointer<Float>, ldc: Int, mr rows: Int, nr cols: Int, store s: TileStore) {
        switch kind {
        case .avx2x6x16:
            gemmMicroKernel6x16(kc: kc, a: a, b: b, c: c, ldc: ldc, mr: rows, nr: cols, store: s)
        case .avx512x12x32:
            avx512GEMMMicroKernel12x32(
                kc: kc, a: a, b: b, c: c, ldc: ldc, mr: rows, nr: cols, alpha: s.alpha, beta: s.beta,
                bias: s.bias, relu: s.relu, pre: s.pre, ldPre: s.ldPre, blockMax: s.blockMax, ldBlockMax: s.ldBlockMax)
        }
    }
}
