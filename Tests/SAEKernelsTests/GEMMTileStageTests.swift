@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// The tile-level GEMM epilogue stages: the streaming row top-k (`rowTopK`) against
/// `TopK.select` on the dense product, and the fused GELU against a GEMM then
/// `GELU.forward`. Both must match bitwise, for every kernel, edge shapes, ties, several
/// k blocks and thread counts.
final class GEMMTileStageTests: XCTestCase {
    typealias Problem = GEMMTests.Problem

    /// Random inputs; with `coarse`, small integers, so that products tie often.
    func inputs(_ p: Problem, seed: UInt64, coarse: Bool = false) -> GEMMTests.Inputs {
        var rng = SeededRandom(seed: seed)
        func array(_ n: Int) -> [Float] {
            (0..<n).map { _ in coarse ? Float(rng.int(below: 5)) - 2 : rng.uniform(-1, 1) }
        }
        return GEMMTests.Inputs(a: array(p.aCount), b: array(p.bCount), c: array(p.m * p.ldc), bias: array(p.n))
    }

    /// `C` (with bias) computed plainly by the same kernel, for reference.
    func dense(_ p: Problem, _ x: GEMMTests.Inputs, kernel: GEMMKernel, bias: Bool) -> [Float] {
        var c = x.c
        x.a.withUnsafeBufferPointer { a in x.b.withUnsafeBufferPointer { b in x.bias.withUnsafeBufferPointer { bi in
            c.withUnsafeMutableBufferPointer { cp in
                GEMM.multiply(p.opA, p.opB, m: p.m, n: p.n, k: p.k, alpha: p.alpha, a: a.baseAddress!, lda: max(1, p.lda),
                              b: b.baseAddress!, ldb: max(1, p.ldb), beta: p.beta, c: cp.baseAddress!, ldc: max(1, p.ldc),
                              epilogue: GEMMEpilogue(columnBias: bias ? bi.baseAddress : nil), threads: 1, kernel: kernel)
            }
        }}}
        return c
    }

    func streamedTopK(_ p: Problem, _ x: GEMMTests.Inputs, kernel: GEMMKernel, k: Int, threads: Int,
                      candidates: TopKCandidates? = nil) -> (indices: [Int32], values: [Float]) {
        let cands = candidates ?? TopKCandidates(rows: p.m, width: p.n, k: k)
        var c = x.c
        var indices = [Int32](repeating: -1, count: p.m * k), values = [Float](repeating: .nan, count: p.m * k)
        x.a.withUnsafeBufferPointer { a in x.b.withUnsafeBufferPointer { b in x.bias.withUnsafeBufferPointer { bi in
            c.withUnsafeMutableBufferPointer { cp in
                GEMM.multiply(p.opA, p.opB, m: p.m, n: p.n, k: p.k, alpha: p.alpha, a: a.baseAddress!, lda: max(1, p.lda),
                              b: b.baseAddress!, ldb: max(1, p.ldb), beta: p.beta, c: cp.baseAddress!, ldc: max(1, p.ldc),
                              epilogue: GEMMEpilogue(columnBias: bi.baseAddress, rowTopK: cands), threads: threads, kernel: kernel)
            }
        }}}
        indices.withUnsafeMutableBufferPointer { ip in values.withUnsafeMutableBufferPointer { vp in
            cands.finish(rows: p.m, relu: false, indices: ip.baseAddress!, values: vp.baseAddress!, threads: threads)
        }}
        return (indices, values)
    }

    func expectedTopK(_ c: [Float], _ p: Problem, k: Int) -> (indices: [Int32], values: [Float]) {
        var indices = [Int32](repeating: 0, count: p.m * k), values = [Float](repeating: 0, count: p.m * k)
        c.withUnsafeBufferPointer { cp in indices.withUnsafeMutableBufferPointer { ip in values.withUnsafeMutableBufferPointer { vp in
            TopK.select(cp.baseAddress!, rows: p.m, n: p.n, ld: p.ldc, k: k, indices: ip.baseAddress!, values: vp.baseAddress!, threads: 1)
        }}}
        // The streamed selection returns a zero as +0.
        return (indices, values.map { $0 == 0 ? 0 : $0 })
    }

    func checkTopK(_ p: Problem, kernel: GEMMKernel, k: Int, seed: UInt64, coarse: Bool = false,
                   file: StaticString = #filePath, line: UInt = #line) {
        let x = inputs(p, seed: seed, coarse: coarse)
        let want = expectedTopK(dense(p, x, kernel: kernel, bias: true), p, k: k)
        for threads in [1, 2, 3] {
            let got = streamedTopK(p, x, kernel: kernel, k: k, threads: threads)
            XCTAssertEqual(got.indices, want.indices, "\(kernel) \(p.label) k=\(k) threads=\(threads) coarse=\(coarse)",
                           file: file, line: line)
            assertBitwiseEqual(got.values, want.values, "\(kernel) \(p.label) k=\(k) threads=\(threads)",
                               file: file, line: line)
        }
    }

    /// Edge shapes around MR and NR, rows longer than the candidate capacity (so compaction
    /// runs several times), k = 1 and k = n, all transposes.
    func testRowTopKMatchesDenseSelection() {
        for kernel in GEMMKernel.available {
            for (opA, opB) in GEMMTests.ops {
                for (m, n, k, topK) in [(kernel.mr + 1, 3 * kernel.nr - 1, 17, 5), (kernel.mr - 1, 40 * kernel.nr + 3, 9, 32),
                                        (1, 7, 3, 7), (2 * kernel.mr, 900, 24, 1), (25, 2000, 16, 100)] {
                    checkTopK(Problem(opA: opA, opB: opB, m: m, n: n, k: k), kernel: kernel, k: topK,
                              seed: UInt64(m * 31 + n))
                }
            }
        }
    }

    /// Many equal values: ties must go to the lower index, as in `TopK.select`.
    func testRowTopKTiesGoToTheLowerIndex() {
        for kernel in GEMMKernel.available {
            checkTopK(Problem(opA: .none, opB: .none, m: 30, n: 1500, k: 3), kernel: kernel, k: 40, seed: 5, coarse: true)
            checkTopK(Problem(opA: .none, opB: .transposed, m: 7, n: 333, k: 2), kernel: kernel, k: 300, seed: 6, coarse: true)
        }
    }

    /// Several k blocks (C holds partial sums between them), beta != 0 (C is read), k == 0,
    /// alpha, padded leading dimensions.
    func testRowTopKThroughC() {
        for kernel in GEMMKernel.available {
            checkTopK(Problem(opA: .none, opB: .transposed, m: 19, n: 300, k: 2 * kernel.kcMax + 3), kernel: kernel, k: 12, seed: 8)
            checkTopK(Problem(opA: .none, opB: .none, m: 13, n: 250, k: 20, alpha: 0.5, beta: 0.75, padA: 1, padB: 2, padC: 3),
                      kernel: kernel, k: 10, seed: 9)
            checkTopK(Problem(opA: .none, opB: .none, m: 6, n: 70, k: 0, beta: 1), kernel: kernel, k: 4, seed: 10)
        }
    }

    /// One candidate store reused for products of fewer rows (the encoder's last chunk):
    /// each GEMM starts afresh.
    func testRowTopKReusedCandidates() {
        let kernel = GEMMKernel.best
        let candidates = TopKCandidates(rows: 40, width: 500, k: 8)
        for (m, seed) in [(40, 1), (11, 2), (40, 3)] {
            let p = Problem(opA: .none, opB: .none, m: m, n: 500, k: 30)
            let x = inputs(p, seed: UInt64(seed))
            let want = expectedTopK(dense(p, x, kernel: kernel, bias: true), p, k: 8)
            let got = streamedTopK(p, x, kernel: kernel, k: 8, threads: 2, candidates: candidates)
            XCTAssertEqual(got.indices, want.indices, "m=\(m)")
            assertBitwiseEqual(got.values, want.values, "m=\(m)")
        }
    }

    /// The keys order values like `<` with ties to the lower index, and decode exactly.
    func testCandidateKeysOrderAndRoundTrip() {
        let values: [Float] = [-.infinity, -3.5, -1, -.leastNonzeroMagnitude, 0, .leastNonzeroMagnitude, 1e-20, 2, .greatestFiniteMagnitude, .infinity]
        for (a, u) in values.enumerated() {
            for j in [0, 5, 1 << 30] {
                let key = TopKCandidates.key(u, j)
                XCTAssertEqual(TopKCandidates.value(key), u)
                XCTAssertEqual(TopKCandidates.index(key), Int32(j))
                for (b, v) in values.enumerated() {
                    XCTAssertEqual(key > TopKCandidates.key(v, j + 1), a >= b, "\(u) at \(j) vs \(v) at \(j + 1)")
                }
            }
        }
        // -0 ties with +0 (and decodes as +0).
        XCTAssertTrue(TopKCandidates.key(-0.0, 3) > TopKCandidates.key(0, 4))
        XCTAssertEqual(TopKCandidates.value(TopKCandidates.key(-0.0, 3)).sign, .plus)
    }

    /// The GELU stage equals the GEMM then `GELU.forward`, bitwise; the pre-activation copy
    /// holds the GEMM result.
    func testGELUEpilogueMatchesSeparatePass() {
        for kernel in GEMMKernel.available {
            for variant in [GELU.Variant.exact, .tanh] {
                for (m, n, k) in [(kernel.mr + 1, 2 * kernel.nr + 3, 37), (3, 5, kernel.kcMax + 2), (4, 9, 0)] {
                    let p = Problem(opA: .none, opB: .none, m: m, n: n, k: k, beta: k == 0 ? 1 : 0)
                    let x = inputs(p, seed: UInt64(m + n))
                    var want = dense(p, x, kernel: kernel, bias: true)
                    let pre = want
                    want.withUnsafeMutableBufferPointer { GELU.forward($0.baseAddress!, $0.baseAddress!, count: $0.count, variant: variant, threads: 1) }
                    for threads in [1, 2] {
                        var c = x.c, gotPre = [Float](repeating: .nan, count: m * n)
                        x.a.withUnsafeBufferPointer { a in x.b.withUnsafeBufferPointer { b in x.bias.withUnsafeBufferPointer { bi in
                            c.withUnsafeMutableBufferPointer { cp in gotPre.withUnsafeMutableBufferPointer { pp in
                                GEMM.multiply(.none, .none, m: m, n: n, k: k, alpha: 1, a: a.baseAddress!, lda: max(1, p.lda),
                                              b: b.baseAddress!, ldb: max(1, p.ldb), beta: p.beta, c: cp.baseAddress!, ldc: n,
                                              epilogue: GEMMEpilogue(columnBias: bi.baseAddress, preActivations: pp.baseAddress,
                                                                     preLeadingDimension: n, gelu: variant),
                                              threads: threads, kernel: kernel)
                            }}
                        }}}
                        assertBitwiseEqual(c, want, "\(kernel) \(variant) m=\(m) n=\(n) k=\(k) threads=\(threads)")
                        if k > 0 {
                            assertBitwiseEqual(gotPre, pre, "\(kernel) pre \(variant) m=\(m) n=\(n) k=\(k)")
                        }
                    }
                }
            }
        }
    }
}
