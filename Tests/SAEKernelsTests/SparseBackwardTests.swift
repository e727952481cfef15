import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// The sparse backward kernels against their naive twins, Double math, and the dense GEMM
/// formulation (`dW = F^T G`, `dF = G W^T` restricted to the active entries).
final class SparseBackwardTests: XCTestCase {
    func testCodeGradientsMatchDoubleAndReference() {
        var rng = SeededRandom(seed: 31)
        for d in [1, 7, 8, 9, 16, 17, 33, 130] {
            let width = 40, rows = 19
            let codes = randomCodes(rows: rows, width: width, maxPerRow: 9, &rng)
            let g = randomArray(rows * d, &rng), w = randomArray(width * d, &rng)
            var want = [Double](), tol = [Double]()
            for r in 0..<rows { for e in codes.offsets[r]..<codes.offsets[r + 1] {
                var s = 0.0, mag = 0.0
                for i in 0..<d {
                    let t = Double(g[r * d + i]) * Double(w[Int(codes.indices[e]) * d + i]); s += t; mag += Swift.abs(t)
                }
                want.append(s); tol.append(4 * Double(d + 2) * 0x1p-24 * mag + 1e-30)
            }}
            var fast = [Float](repeating: .nan, count: codes.nonzeroCount), ref = fast
            g.withUnsafeBufferPointer { gp in w.withUnsafeBufferPointer { wp in
                fast.withUnsafeMutableBufferPointer { SparseBackward.codeGradients(codes, outputGradient: gp.baseAddress!, weights: wp.baseAddress!, d: d, into: $0.baseAddress!, threads: 2) }
                ref.withUnsafeMutableBufferPointer { Reference.codeGradients(codes, outputGradient: gp.baseAddress!, weights: wp.baseAddress!, d: d, into: $0.baseAddress!) }
            }}
            assertClose(fast, want, atol: { tol[$0] }, rtol: 0, "fast d=\(d)")
            assertClose(ref, want, atol: { tol[$0] }, rtol: 0, "reference d=\(d)")
        }
    }

    func accumulate(_ codes: SparseCodes, _ c: [Float], _ x: [Float], d: Int, start: [Float], startBias: [Float],
                    threads: Int, reference: Bool = false) -> ([Float], [Float]) {
        var gw = start, gb = startBias
        let byFeature = SparseCodesByFeature(codes)
        c.withUnsafeBufferPointer { cp in x.withUnsafeBufferPointer { xp in
            gw.withUnsafeMutableBufferPointer { wp in gb.withUnsafeMutableBufferPointer { bp in
                if reference {
                    Reference.accumulateWeightGradients(codes, coefficients: cp.baseAddress!, inputs: xp.baseAddress!, d: d,
                                                        gradWeights: wp.baseAddress!, gradBias: bp.baseAddress!)
                } else {
                    SparseBackward.accumulateWeightGradients(codes, byFeature: byFeature, coefficients: cp.baseAddress!,
                                                             inputs: xp.baseAddress!, d: d, gradWeights: wp.baseAddress!,
                                                             gradBias: bp.baseAddress!, threads: threads)
                }
            }}
        }}
        return (gw, gb)
    }

    func testWeightGradientsMatchDoubleAndReference() {
        var rng = SeededRandom(seed: 32)
        for d in [1, 7, 8, 9, 16, 17, 65] {
            for maxPerRow in [0, 1, 6, 30] {
                let width = 37, rows = 29
                let codes = randomCodes(rows: rows, width: width, maxPerRow: maxPerRow, &rng)
                let c = randomArray(codes.nonzeroCount, &rng), x = randomArray(rows * d, &rng)
                let start = randomArray(width * d, &rng), startBias = randomArray(width, &rng)
                var want = start.map(Double.init), mag = start.map { Swift.abs(Double($0)) }
                var wantBias = startBias.map(Double.init), magBias = startBias.map { Swift.abs(Double($0)) }
                var count = [Int](repeating: 0, count: width)
                for r in 0..<rows { for e in codes.offsets[r]..<codes.offsets[r + 1] {
                    let j = Int(codes.indices[e]); count[j] += 1
                    for i in 0..<d { let t = Double(c[e]) * Double(x[r * d + i]); want[j * d + i] += t; mag[j * d + i] += Swift.abs(t) }
                    wantBias[j] += Double(c[e]); magBias[j] += Swift.abs(Double(c[e]))
                }}
                let tol = (0..<width * d).map { 4 * Double(count[$0 / d] + 2) * 0x1p-24 * mag[$0] + 1e-30 }
                let tolB = (0..<width).map { 4 * Double(count[$0] + 2) * 0x1p-24 * magBias[$0] + 1e-30 }
                for reference in [false, true] {
                    let (gw, gb) = accumulate(codes, c, x, d: d, start: start, startBias: startBias, threads: 3, reference: reference)
                    assertClose(gw, want, atol: { tol[$0] }, rtol: 0, "weights d=\(d) per=\(maxPerRow) ref=\(reference)")
                    assertClose(gb, wantBias, atol: { tolB[$0] }, rtol: 0, "bias d=\(d) per=\(maxPerRow) ref=\(reference)")
                }
            }
        }
    }

    /// Same bits for any thread count, including a feature that fires on every row.
    func testSameBitsForAnyThreadCount() {
        var rng = SeededRandom(seed: 33)
        let d = 35, width = 200, rows = 900
        var codes = randomCodes(rows: rows, width: width, maxPerRow: 20, &rng)
        // Make latent 7 fire everywhere it is absent: rebuild rows with it appended.
        var offsets = [0], indices: [Int32] = [], values: [Float] = []
        for r in 0..<rows {
            let row = codes.offsets[r]..<codes.offsets[r + 1]
            indices += codes.indices[row]; values += codes.values[row]
            if !codes.indices[row].contains(7) { indices.append(7); values.append(0.5) }
            offsets.append(indices.count)
        }
        codes = SparseCodes(rows: rows, width: width, offsets: offsets, indices: indices, values: values)
        let c = randomArray(codes.nonzeroCount, &rng), x = randomArray(rows * d, &rng)
        let zero = [Float](repeating: 0, count: width * d), zeroB = [Float](repeating: 0, count: width)
        let one = accumulate(codes, c, x, d: d, start: zero, startBias: zeroB, threads: 1)
        for t in [2, 3, 5] {
            let many = accumulate(codes, c, x, d: d, start: zero, startBias: zeroB, threads: t)
            assertBitwiseEqual(many.0, one.0, "weights threads=\(t)")
            assertBitwiseEqual(many.1, one.1, "bias threads=\(t)")
        }
    }

    /// Sparse decoder gradient equals the dense `F^T G` GEMM.
    func testDecoderGradientEqualsDenseGEMM() {
        var rng = SeededRandom(seed: 34)
        let d = 24, width = 64, rows = 45
        let codes = randomCodes(rows: rows, width: width, maxPerRow: 10, &rng)
        let g = randomArray(rows * d, &rng)
        let (sparse, _) = accumulate(codes, codes.values, g, d: d, start: [Float](repeating: 0, count: width * d),
                                     startBias: [Float](repeating: 0, count: width), threads: 2)
        var dense = [Float](repeating: 0, count: width * d)
        let f = codes.dense()
        f.withUnsafeBufferPointer { fp in g.withUnsafeBufferPointer { gp in dense.withUnsafeMutableBufferPointer { dp in
            GEMM.multiply(.transposed, .none, m: width, n: d, k: rows, a: fp.baseAddress!, lda: width,
                          b: gp.baseAddress!, ldb: d, c: dp.baseAddress!, ldc: d)
        }}}
        assertClose(sparse, dense, atol: 1e-5, rtol: 1e-5, "sparse vs dense decoder gradient")
    }

    func testByFeatureIndexGroupsEntries() {
        var rng = SeededRandom(seed: 35)
        let codes = randomCodes(rows: 50, width: 20, maxPerRow: 8, &rng)
        let idx = SparseCodesByFeature(codes)
        XCTAssertEqual(idx.starts.count, 21)
        XCTAssertEqual(idx.starts.last, codes.nonzeroCount)
        for j in 0..<20 {
            let span = idx.starts[j]..<idx.starts[j + 1]
            let rowsOf = Array(idx.rowsOf[span])
            XCTAssertEqual(rowsOf, rowsOf.sorted(), "rows of latent \(j) not increasing")
            for p in span { XCTAssertEqual(Int(codes.indices[Int(idx.entryOf[p])]), j) }
        }
    }

    /// The fused decode's `x_hat`, `G` and `dpre` equal `decode`, `scaledDifference` and
    /// `codeGradients` followed by the ReLU gate; `columnSums` equals `scaledDifference`'s
    /// sums; `weightGradientRows` and `featureSums` equal two `accumulateWeightGradients`
    /// into zeroed gradients; `firingRowsCombination` equals the plain Double loop. All
    /// bitwise, for any thread count.
    func testFusedStepKernelsEqualTheSeparateKernels() {
        var rng = SeededRandom(seed: 34)
        for (d, width) in [(1, 29), (8, 29), (9, 29), (33, 29), (9, 600), (64, 3000)] {
            for maxPerRow in [0, 1, 7] {
                let rows = 21
                var codes = randomCodes(rows: rows, width: width, maxPerRow: maxPerRow, &rng)
                // Some entries with f = 0 (the gate passes nothing for them).
                var values = codes.values
                for e in stride(from: 0, to: values.count, by: 3) { values[e] = 0 }
                codes = SparseCodes(rows: rows, width: width, offsets: codes.offsets, indices: codes.indices, values: values)
                let byFeature = SparseCodesByFeature(codes)
                let x = randomArray(rows * d, &rng), xc = randomArray(rows * d, &rng), w = randomArray(width * d, &rng)
                let bias = randomArray(d, &rng), we = randomArray(width * d, &rng)
                let l1: Float = 0.125, scale: Float = 2 / Float(rows)
                // The separate kernels.
                var wantXHat = [Float](repeating: 0, count: rows * d), wantG = wantXHat
                let sumsStart = randomArray(d, &rng)
                var wantSums = sumsStart
                var wantDpre = [Float](repeating: 0, count: codes.nonzeroCount)
                w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in x.withUnsafeBufferPointer { xp in
                    wantXHat.withUnsafeMutableBufferPointer { xh in wantG.withUnsafeMutableBufferPointer { gp in
                        wantSums.withUnsafeMutableBufferPointer { sp in wantDpre.withUnsafeMutableBufferPointer { dp in
                            SparseDecode.decode(codes, weights: wp.baseAddress!, d: d, bias: bp.baseAddress!, out: xh.baseAddress!, threads: 1)
                            BatchElementwise.scaledDifference(xh.baseAddress!, minus: xp.baseAddress!, scale: scale, rows: rows, d: d,
                                                              into: gp.baseAddress!, columnSums: sp.baseAddress!, threads: 1)
                            SparseBackward.codeGradients(codes, outputGradient: gp.baseAddress!, weights: wp.baseAddress!, d: d,
                                                         into: dp.baseAddress!, threads: 1)
                        }}
                    }}
                }}}
                for e in wantDpre.indices { wantDpre[e] = values[e] > 0 ? wantDpre[e] + l1 : 0 }
                let zeros = [Float](repeating: 0, count: width * d), biasStart = randomArray(width, &rng)
                let (wantDec, _) = accumulate(codes, values, wantG, d: d, start: zeros, startBias: biasStart, threads: 1)
                let (wantEnc, wantBias) = accumulate(codes, wantDpre, xc, d: d, start: zeros, startBias: biasStart, threads: 1)
                let coefficients = randomArray(width, &rng)
                // Per block of latentBlock latents a Double partial from zero, then the partials in order.
                var wantShift = [Double](repeating: 0.5, count: d)
                for b in stride(from: 0, to: width, by: SparseBackward.latentBlock) {
                    var partial = [Double](repeating: 0, count: d)
                    for j in b..<min(width, b + SparseBackward.latentBlock) where byFeature.starts[j] != byFeature.starts[j + 1] {
                        for i in 0..<d { partial[i] += Double(coefficients[j] * we[j * d + i]) }
                    }
                    for i in 0..<d { wantShift[i] += partial[i] }
                }
                for threads in [1, 2, 3] {
                    let what = "d=\(d) maxPerRow=\(maxPerRow) threads=\(threads)"
                    var xHat = [Float](repeating: .nan, count: rows * d), g = xHat, sums = sumsStart
                    var dpre = [Float](repeating: .nan, count: codes.nonzeroCount)
                    w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in x.withUnsafeBufferPointer { xp in
                        xHat.withUnsafeMutableBufferPointer { xh in g.withUnsafeMutableBufferPointer { gp in
                            dpre.withUnsafeMutableBufferPointer { dp in
                                SparseDecode.decodeWithGradients(codes, weights: wp.baseAddress!, d: d, bias: bp.baseAddress!,
                                                                 inputs: xp.baseAddress!, scale: scale, l1: l1, out: xh.baseAddress!,
                                                                 outputGradient: gp.baseAddress!, codeGradients: dp.baseAddress!,
                                                                 threads: threads)
                            }
                        }}
                    }}}
                    g.withUnsafeBufferPointer { gp in sums.withUnsafeMutableBufferPointer { sp in
                        BatchElementwise.columnSums(gp.baseAddress!, rows: rows, d: d, into: sp.baseAddress!, threads: threads)
                    }}
                    assertBitwiseEqual(xHat, wantXHat, "x_hat " + what)
                    assertBitwiseEqual(g, wantG, "G " + what)
                    assertBitwiseEqual(sums, wantSums, "column sums " + what)
                    assertBitwiseEqual(dpre, wantDpre, "dpre " + what)

                    var gd = [Float](repeating: .nan, count: width * d), ge = gd, biasSums = biasStart
                    var visits = [Int](repeating: 0, count: width)
                    // Which thread part visited each block (a block belongs to one part).
                    var blockParts = [Set<Int>](repeating: [], count: (width + SparseBackward.latentBlock - 1) / SparseBackward.latentBlock)
                    let lock = NSLock()
                    wantG.withUnsafeBufferPointer { gp in xc.withUnsafeBufferPointer { xp in wantDpre.withUnsafeBufferPointer { dp in
                        gd.withUnsafeMutableBufferPointer { gdp in ge.withUnsafeMutableBufferPointer { gep in
                            visits.withUnsafeMutableBufferPointer { vp in
                                SparseBackward.weightGradientRows(codes, byFeature: byFeature, outputGradient: gp.baseAddress!,
                                                                  inputs: xp.baseAddress!, codeGradients: dp.baseAddress!, d: d,
                                                                  threads: threads) { j, rowDec, rowEnc in
                                    vp[j] += 1
                                    lock.lock(); blockParts[j / SparseBackward.latentBlock].insert(Thread.current.hash); lock.unlock()
                                    (gdp.baseAddress! + j * d).update(from: rowDec, count: d)
                                    (gep.baseAddress! + j * d).update(from: rowEnc, count: d)
                                    // The rows are the caller's to overwrite.
                                    rowDec.update(repeating: .nan, count: d)
                                    rowEnc.update(repeating: .nan, count: d)
                                }
                            }
                        }}
                        biasSums.withUnsafeMutableBufferPointer { bp in
                            SparseBackward.featureSums(byFeature: byFeature, values: dp.baseAddress!, into: bp.baseAddress!)
                        }
                    }}}
                    XCTAssertEqual(visits, [Int](repeating: 1, count: width), "every latent once " + what)
                    XCTAssertTrue(blockParts.allSatisfy { $0.count <= 1 }, "a latent block split between threads " + what)
                    assertBitwiseEqual(gd, wantDec, "dW_dec " + what)
                    assertBitwiseEqual(ge, wantEnc, "dW_enc " + what)
                    assertBitwiseEqual(biasSums, wantBias, "b_enc sums " + what)

                    var shift = [Double](repeating: 0.5, count: d)
                    coefficients.withUnsafeBufferPointer { cp in we.withUnsafeBufferPointer { wp in shift.withUnsafeMutableBufferPointer { sp in
                        SparseBackward.firingRowsCombination(byFeature: byFeature, coefficients: cp.baseAddress!, weights: wp.baseAddress!,
                                                             d: d, into: sp.baseAddress!, threads: threads)
                    }}}
                    XCTAssertEqual(shift.map(\.bitPattern), wantShift.map(\.bitPattern), "shift " + what)
                }
            }
        }
    }
}
