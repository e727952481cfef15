@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// The fused encoder against `Reference.encoder` and Double math. Tolerance per element:
/// `4 (dIn + 3) 2^-24 (sum_i |x_i - b_i| |w_i| + |b_enc|)` (Float dot-product bound).
final class EncoderTests: XCTestCase {
    struct Case {
        var batch: Int, dIn: Int, dSae: Int, layout: Transposition, centred: Bool
        var x: [Float], w: [Float], bEnc: [Float], bDec: [Float]
        init(batch: Int, dIn: Int, dSae: Int, layout: Transposition, centred: Bool, seed: UInt64) {
            self.batch = batch; self.dIn = dIn; self.dSae = dSae; self.layout = layout; self.centred = centred
            var rng = SeededRandom(seed: seed)
            x = randomArray(batch * dIn, &rng); w = randomArray(dIn * dSae, &rng, scale: 0.3)
            bEnc = randomArray(dSae, &rng, scale: 0.5); bDec = randomArray(dIn, &rng, scale: 0.5)
        }
        /// Double pre-activations and their tolerances.
        func exact() -> (pre: [Double], tol: [Double]) {
            var pre = [Double](repeating: 0, count: batch * dSae), tol = pre
            for r in 0..<batch { for j in 0..<dSae {
                var s = 0.0, mag = 0.0
                for i in 0..<dIn {
                    let xc = Double(x[r * dIn + i]) - (centred ? Double(bDec[i]) : 0)
                    let wv = Double(layout == .none ? w[i * dSae + j] : w[j * dIn + i])
                    s += xc * wv; mag += Swift.abs(xc * wv)
                }
                pre[r * dSae + j] = s + Double(bEnc[j])
                tol[r * dSae + j] = 4 * Double(dIn + 3) * 0x1p-24 * (mag + Swift.abs(Double(bEnc[j]))) + 1e-30
            }}
            return (pre, tol)
        }
        func withPointers<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?) -> R) -> R {
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in bEnc.withUnsafeBufferPointer { be in
                bDec.withUnsafeBufferPointer { bd in
                    body(xp.baseAddress!, wp.baseAddress!, be.baseAddress!, centred ? bd.baseAddress! : nil)
                }
            }}}
        }
    }

    func testDenseForwardAndPreAgainstDoubleAndReference() {
        for layout in [Transposition.none, .transposed] {
            for (batch, dIn, dSae) in [(1, 1, 1), (7, 13, 33), (13, 64, 97), (25, 129, 50)] {
                for centred in [true, false] {
                    let c = Case(batch: batch, dIn: dIn, dSae: dSae, layout: layout, centred: centred, seed: UInt64(batch + dSae))
                    let (pre, tol) = c.exact()
                    var f = [Float](repeating: .nan, count: batch * dSae), p = f, rf = f, rp = f
                    c.withPointers { x, w, be, bd in
                        f.withUnsafeMutableBufferPointer { fp in p.withUnsafeMutableBufferPointer { pp in
                            Encoder.forward(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: w, layout: layout, bEnc: be,
                                            bDec: bd, features: fp.baseAddress!, pre: pp.baseAddress!, threads: 2)
                        }}
                        rf.withUnsafeMutableBufferPointer { fp in rp.withUnsafeMutableBufferPointer { pp in
                            Reference.encoder(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: w, layout: layout, bEnc: be,
                                              bDec: bd, features: fp.baseAddress!, pre: pp.baseAddress!)
                        }}
                    }
                    let label = "layout=\(layout) \(batch)x\(dIn)x\(dSae) centred=\(centred)"
                    assertClose(p, pre, atol: { tol[$0] }, rtol: 0, "pre \(label)")
                    assertClose(f, pre.map { max($0, 0) }, atol: { tol[$0] }, rtol: 0, "features \(label)")
                    assertClose(rp, pre, atol: { tol[$0] }, rtol: 0, "reference pre \(label)")
                    assertClose(rf, pre.map { max($0, 0) }, atol: { tol[$0] }, rtol: 0, "reference features \(label)")
                }
            }
        }
    }

    /// TopK codes: each row's k entries are a valid top-k of the exact pre-activations (every
    /// kept value >= every dropped one, up to the tolerance), values are ReLU(pre), ordered by
    /// decreasing value. Wide enough (d_sae 131072, the widest the issue names) that the batch spans several chunks.
    func testTopKCodesAreTheTopKAcrossChunks() {
        for layout in [Transposition.none, .transposed] {
            let batch = 600, dIn = 4, dSae = 131072, k = 33
            XCTAssertLessThan(Encoder.chunkRows(dSae: dSae), batch, "the test must cross chunks")
            let c = Case(batch: batch, dIn: dIn, dSae: dSae, layout: layout, centred: true, seed: 77)
            let (pre, tol) = c.exact()
            let codes = c.withPointers { x, w, be, bd in
                Encoder.forwardTopK(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: w, layout: layout, bEnc: be, bDec: bd, k: k, threads: 2)
            }
            XCTAssertEqual(codes.offsets, (0...batch).map { $0 * k })
            for r in 0..<batch {
                let kept = Set(codes.indices[r * k ..< (r + 1) * k].map(Int.init))
                XCTAssertEqual(kept.count, k, "row \(r): duplicate indices")
                let minKept = kept.map { pre[r * dSae + $0] - tol[r * dSae + $0] }.min()!
                var maxDropped = -Double.infinity
                for j in 0..<dSae where !kept.contains(j) { maxDropped = max(maxDropped, pre[r * dSae + j] - tol[r * dSae + j]) }
                XCTAssertLessThanOrEqual(maxDropped, minKept + 2 * tol[r * dSae], "row \(r): a dropped latent beats a kept one")
                for e in r * k ..< (r + 1) * k {
                    let j = Int(codes.indices[e])
                    XCTAssertEqual(Double(codes.values[e]), max(pre[r * dSae + j], 0), accuracy: tol[r * dSae + j], "row \(r) latent \(j)")
                    if e > r * k { XCTAssertGreaterThanOrEqual(codes.values[e - 1], codes.values[e]) }
                }
            }
        }
    }

    /// ReLU codes collected sparsely equal the dense ReLU output, across chunks.
    func testSparseReLUCodesEqualDenseOutput() {
        let batch = 601, dIn = 4, dSae = 131072
        let c = Case(batch: batch, dIn: dIn, dSae: dSae, layout: .none, centred: true, seed: 78)
        var dense = [Float](repeating: 0, count: batch * dSae)
        let codes = c.withPointers { x, w, be, bd -> SparseCodes in
            dense.withUnsafeMutableBufferPointer { fp in
                Encoder.forward(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: w, layout: .none, bEnc: be, bDec: bd,
                                features: fp.baseAddress!, threads: 2)
            }
            return Encoder.forwardSparse(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: w, layout: .none, bEnc: be, bDec: bd, threads: 2)
        }
        XCTAssertEqual(codes.rows, batch)
        XCTAssertEqual(codes.nonzeroCount, dense.filter { $0 != 0 }.count)
        assertBitwiseEqual(codes.dense().values, dense, "sparse vs dense ReLU codes")
        for r in 0..<batch {
            let row = codes.indices[codes.offsets[r] ..< codes.offsets[r + 1]]
            XCTAssertEqual(Array(row), row.sorted(), "row \(r) not in feature order")
        }
    }

    func testNonzerosOfDenseMatrix() {
        var rng = SeededRandom(seed: 79)
        for (rows, width) in [(0, 5), (1, 1), (3, 7), (17, 9), (40, 1021)] {
            let m = (0..<rows * width).map { _ in rng.uniform() < 0.3 ? rng.uniform(0.1, 1) : 0 }
            let codes = m.withUnsafeBufferPointer { SparseCodes.nonzeros(of: $0.baseAddress!, rows: rows, width: width, threads: 3) }
            XCTAssertEqual(codes.dense().values, m, "\(rows)x\(width)")
            XCTAssertEqual(codes.nonzeroCount, m.filter { $0 != 0 }.count)
        }
    }
}
