@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// Parity of `GEMM.multiply` (every micro-kernel this CPU runs) against `Reference.gemm`
/// and Double-precision math, on edge shapes around MR, NR, KC, MC and NC.
///
/// Tolerance: a k-term Float dot product is within `k * 2^-24 * sum|a_p b_p|` of the exact
/// value; each element is allowed `4 (k + 2) 2^-24 (|alpha| sum|a_p b_p| + |beta c|) + 1e-30`.
final class GEMMTests: XCTestCase {
    struct Problem {
        var opA: Transposition, opB: Transposition
        var m: Int, n: Int, k: Int
        var alpha: Float = 1, beta: Float = 0
        var padA = 0, padB = 0, padC = 0
        var lda: Int { (opA == .none ? k : m) + padA }
        var ldb: Int { (opB == .none ? n : k) + padB }
        var ldc: Int { n + padC }
        var aCount: Int { (opA == .none ? m : k) * lda }
        var bCount: Int { (opB == .none ? k : n) * ldb }
        var label: String { "\(opA)\(opB) m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) pads=\(padA),\(padB),\(padC)" }
    }

    struct Inputs { var a: [Float], b: [Float], c: [Float], bias: [Float] }

    func makeInputs(_ p: Problem, seed: UInt64) -> Inputs {
        var rng = SeededRandom(seed: seed)
        return Inputs(a: randomArray(p.aCount, &rng), b: randomArray(p.bCount, &rng),
                      c: randomArray(p.m * p.ldc, &rng), bias: randomArray(p.n, &rng))
    }

    /// Exact-ish result in Double and the per-element tolerance.
    func expected(_ p: Problem, _ x: Inputs, bias: Bool, relu: Bool) -> (want: [Double], tol: [Double], pre: [Double]) {
        var want = [Double](repeating: 0, count: p.m * p.ldc), tol = want, pre = want
        for i in 0..<p.m {
            for j in 0..<p.n {
                var s = 0.0, mag = 0.0
                for q in 0..<p.k {
                    let av = Double(p.opA == .none ? x.a[i * p.lda + q] : x.a[q * p.lda + i])
                    let bv = Double(p.opB == .none ? x.b[q * p.ldb + j] : x.b[j * p.ldb + q])
                    s += av * bv; mag += Swift.abs(av * bv)
                }
                let old = Double(x.c[i * p.ldc + j])
                var v = Double(p.alpha) * s + (p.beta == 0 ? 0 : Double(p.beta) * old)
                if bias { v += Double(x.bias[j]) }
                pre[i * p.ldc + j] = v
                if relu { v = max(v, 0) }
                want[i * p.ldc + j] = v
                tol[i * p.ldc + j] = 4 * Double(p.k + 2) * 0x1p-24
                    * (Double(p.alpha.magnitude) * mag + Double(p.beta.magnitude) * Swift.abs(old)
                       + (bias ? Swift.abs(Double(x.bias[j])) : 0)) + 1e-30
            }
            for j in p.n..<p.ldc { want[i * p.ldc + j] = Double(x.c[i * p.ldc + j]); tol[i * p.ldc + j] = 1e-30 }  // padding untouched
        }
        return (want, tol, pre)
    }

    func runFast(_ p: Problem, _ x: Inputs, kernel: GEMMKernel, threads: Int,
                 bias: Bool = false, relu: Bool = false, pre: Bool = false) -> (c: [Float], pre: [Float]) {
        var c = x.c
        var preOut = [Float](repeating: .nan, count: p.m * p.ldc)
        x.a.withUnsafeBufferPointer { a in x.b.withUnsafeBufferPointer { b in x.bias.withUnsafeBufferPointer { bi in
            c.withUnsafeMutableBufferPointer { cp in preOut.withUnsafeMutableBufferPointer { pp in
                let epi = GEMMEpilogue(columnBias: bias ? bi.baseAddress : nil, relu: relu,
                                       preActivations: pre ? pp.baseAddress : nil, preLeadingDimension: p.ldc)
                GEMM.multiply(p.opA, p.opB, m: p.m, n: p.n, k: p.k, alpha: p.alpha,
                              a: a.baseAddress!, lda: max(1, p.lda), b: b.baseAddress!, ldb: max(1, p.ldb),
                              beta: p.beta, c: cp.baseAddress!, ldc: max(1, p.ldc), epilogue: epi,
                              threads: threads, kernel: kernel)
            }}
        }}}
        return (c, preOut)
    }

    func check(_ p: Problem, kernel: GEMMKernel, threads: Int = 1, seed: UInt64 = 1,
               bias: Bool = false, relu: Bool = false, pre: Bool = false,
               file: StaticString = #filePath, line: UInt = #line) {
        let x = makeInputs(p, seed: seed)
        let (want, tol, wantPre) = expected(p, x, bias: bias, relu: relu)
        let got = runFast(p, x, kernel: kernel, threads: threads, bias: bias, relu: relu, pre: pre)
        assertClose(got.c, want, atol: { tol[$0] }, rtol: 0,
                    "\(kernel) \(p.label) bias=\(bias) relu=\(relu)", file: file, line: line)
        if pre {
            var gotPre: [Float] = [], wantP: [Double] = [], tolP: [Double] = []
            for i in 0..<p.m { for j in 0..<p.n {
                gotPre.append(got.pre[i * p.ldc + j]); wantP.append(wantPre[i * p.ldc + j]); tolP.append(tol[i * p.ldc + j])
            }}
            assertClose(gotPre, wantP, atol: { tolP[$0] }, rtol: 0,
                        "\(kernel) pre-activations \(p.label)", file: file, line: line)
        }
    }

    static let ops: [(Transposition, Transposition)] = [(.none, .none), (.none, .transposed),
                                                         (.transposed, .none), (.transposed, .transposed)]

    /// m and n around the register tile (MR +- 1, NR +- 1), all four transposes, small k.
    func testEdgeTilesAllTransposes() {
        for kernel in GEMMKernel.available {
            let ms = Set([1, kernel.mr - 1, kernel.mr, kernel.mr + 1, 2 * kernel.mr + 1, 13]).sorted()
            let ns = Set([1, kernel.nr - 1, kernel.nr, kernel.nr + 1, 2 * kernel.nr + 3, 37]).sorted()
            for (opA, opB) in Self.ops {
                for m in ms { for n in ns { for k in [1, 2, 7, 17] {
                    check(Problem(opA: opA, opB: opB, m: m, n: n, k: k), kernel: kernel, seed: UInt64(m * 1000 + n * 10 + k))
                }}}
            }
        }
    }

    /// k around the k block (KC +- 1, 2 KC + 1) and odd primes.
    func testKBlockEdges() {
        for kernel in GEMMKernel.available {
            for (opA, opB) in Self.ops {
                for k in [kernel.kcMax - 1, kernel.kcMax, kernel.kcMax + 1, 2 * kernel.kcMax + 1, 61, 257] {
                    check(Problem(opA: opA, opB: opB, m: kernel.mr + 1, n: kernel.nr + 3, k: k), kernel: kernel)
                }
            }
        }
    }

    /// m around MC and n around NC (the cache blocks), with several threads.
    func testCacheBlockEdges() {
        for kernel in GEMMKernel.available {
            for m in [kernel.mc - 1, kernel.mc + 1] {
                check(Problem(opA: .none, opB: .none, m: m, n: 19, k: 5), kernel: kernel, threads: 2)
            }
            for n in [kernel.nc - 1, kernel.nc + 1] {
                check(Problem(opA: .none, opB: .transposed, m: 7, n: n, k: 5), kernel: kernel, threads: 2)
            }
        }
    }

    func testAlphaBetaAndLeadingDimensions() {
        for kernel in GEMMKernel.available {
            for (alpha, beta) in [(Float(1), Float(1)), (-2, 0.5), (0.25, 0), (1, -1)] {
                for (opA, opB) in Self.ops {
                    var p = Problem(opA: opA, opB: opB, m: 23, n: 41, k: 29, alpha: alpha, beta: beta)
                    p.padA = 3; p.padB = 5; p.padC = 2
                    check(p, kernel: kernel)
                    // Several k blocks: the beta path must apply once, later blocks accumulate.
                    p.k = 2 * kernel.kcMax + 3
                    check(p, kernel: kernel)
                }
            }
        }
    }

    /// beta == 0 must not read C: NaN there must not leak into the result.
    func testBetaZeroIgnoresNaNInC() {
        for kernel in GEMMKernel.available {
            let p = Problem(opA: .none, opB: .none, m: 13, n: 35, k: 9)
            var x = makeInputs(p, seed: 9)
            x.c = [Float](repeating: .nan, count: x.c.count)
            let got = runFast(p, x, kernel: kernel, threads: 1)
            XCTAssertFalse(got.c.contains { $0.isNaN }, "\(kernel): NaN from C leaked through beta = 0")
        }
    }

    /// The fused encoder epilogue: column bias, pre-activation copy, ReLU.
    func testEpilogueBiasReLUPre() {
        for kernel in GEMMKernel.available {
            for (opA, opB) in Self.ops {
                for (m, n, k) in [(kernel.mr + 1, kernel.nr - 1, 33), (29, 67, kernel.kcMax + 1), (1, 1, 1)] {
                    let p = Problem(opA: opA, opB: opB, m: m, n: n, k: k)
                    check(p, kernel: kernel, bias: true, relu: true, pre: true)
                    check(p, kernel: kernel, bias: true, relu: false)
                    check(p, kernel: kernel, bias: false, relu: true)
                }
            }
        }
    }

    /// Row block maxima: for each row, the max of each aligned nr-wide column block of the
    /// pre-ReLU result, exactly (they are the stored values' maxima), edge blocks included.
    func testRowBlockMaximaEpilogue() {
        for kernel in GEMMKernel.available {
            for (m, n, k) in [(kernel.mr + 1, 3 * kernel.nr + 5, 33), (1, kernel.nr - 1, 7), (29, 2 * kernel.nr, kernel.kcMax + 1), (5, 40, 0)] {
                for (opA, opB) in Self.ops {
                    let p = Problem(opA: opA, opB: opB, m: m, n: n, k: k)
                    let x = makeInputs(p, seed: UInt64(m * 7 + n))
                    let blocks = (n + kernel.nr - 1) / kernel.nr
                    var c = x.c, pre = [Float](repeating: 0, count: m * n), maxima = [Float](repeating: .nan, count: m * (blocks + 1))
                    x.a.withUnsafeBufferPointer { a in x.b.withUnsafeBufferPointer { b in x.bias.withUnsafeBufferPointer { bi in
                        c.withUnsafeMutableBufferPointer { cp in pre.withUnsafeMutableBufferPointer { pp in maxima.withUnsafeMutableBufferPointer { mp in
                            GEMM.multiply(opA, opB, m: m, n: n, k: k, alpha: 1, a: a.baseAddress!, lda: max(1, p.lda), b: b.baseAddress!,
                                          ldb: max(1, p.ldb), beta: 0, c: cp.baseAddress!, ldc: n,
                                          epilogue: GEMMEpilogue(columnBias: bi.baseAddress, relu: true, preActivations: pp.baseAddress,
                                                                 preLeadingDimension: n, rowBlockMaxima: mp.baseAddress,
                                                                 rowBlockMaximaLeadingDimension: blocks + 1),
                                          threads: 2, kernel: kernel)
                        }}}
                    }}}
                    for i in 0..<m {
                        for q in 0..<blocks {
                            let want = pre[(i * n + q * kernel.nr)..<(i * n + min(n, (q + 1) * kernel.nr))].max()!
                            XCTAssertEqual(maxima[i * (blocks + 1) + q], want, "\(kernel) \(p.label) row \(i) block \(q)")
                        }
                        XCTAssertTrue(maxima[i * (blocks + 1) + blocks].isNaN, "wrote past the blocks")
                    }
                }
            }
        }
    }

    /// k == 0: C = beta * C, then the epilogue.
    func testEmptyK() {
        for kernel in GEMMKernel.available {
            check(Problem(opA: .none, opB: .none, m: 5, n: 9, k: 0, beta: 0.5), kernel: kernel, bias: true, relu: true)
            check(Problem(opA: .transposed, opB: .none, m: 5, n: 9, k: 0, beta: 0), kernel: kernel)
        }
    }

    /// Same bits for 1, 2 and 3 threads, on shapes that split along m and along n.
    func testBitwiseIdenticalAcrossThreadCounts() {
        for kernel in GEMMKernel.available {
            for (m, n, k) in [(203, 301, 131), (13, 2000, 150)] {
                for (opA, opB) in Self.ops {
                    let p = Problem(opA: opA, opB: opB, m: m, n: n, k: k, beta: 0.5)
                    let x = makeInputs(p, seed: 42)
                    let one = runFast(p, x, kernel: kernel, threads: 1, bias: true, relu: true).c
                    for t in [2, 3] {
                        let many = runFast(p, x, kernel: kernel, threads: t, bias: true, relu: true).c
                        assertBitwiseEqual(many, one, "\(kernel) \(p.label) threads=\(t)")
                    }
                }
            }
        }
    }

    /// A larger multithreaded product against the naive twin.
    func testLargeMultithreadedAgainstReference() {
        for kernel in GEMMKernel.available {
            for (opA, opB) in Self.ops {
                let p = Problem(opA: opA, opB: opB, m: 97, n: 211, k: 600, alpha: 1, beta: 1)
                check(p, kernel: kernel, threads: 2, seed: 5)
            }
        }
    }

    /// The naive twin against Double math.
    func testReferenceAgainstDouble() {
        for (opA, opB) in Self.ops {
            for (m, n, k) in [(1, 1, 1), (7, 5, 3), (4, 9, 0), (17, 13, 33)] {
                let p = Problem(opA: opA, opB: opB, m: m, n: n, k: k, alpha: 0.5, beta: 2, padA: 1, padB: 2, padC: 1)
                let x = makeInputs(p, seed: 3)
                let (want, tol, _) = expected(p, x, bias: true, relu: true)
                var c = x.c
                x.a.withUnsafeBufferPointer { a in x.b.withUnsafeBufferPointer { b in x.bias.withUnsafeBufferPointer { bi in
                    c.withUnsafeMutableBufferPointer { cp in
                        Reference.gemm(opA, opB, m: m, n: n, k: k, alpha: p.alpha, a: a.baseAddress!, lda: p.lda,
                                       b: b.baseAddress!, ldb: p.ldb, beta: p.beta, c: cp.baseAddress!, ldc: p.ldc,
                                       epilogue: GEMMEpilogue(columnBias: bi.baseAddress, relu: true))
                    }
                }}}
                assertClose(c, want, atol: { tol[$0] }, rtol: 0, "Reference.gemm \(p.label)")
            }
        }
    }

    /// The kernel this machine uses is the widest it supports.
    func testBestKernelIsWidestAvailable() {
        XCTAssertEqual(GEMMKernel.best.nr, GEMMKernel.available.map(\.nr).max())
    }
}
