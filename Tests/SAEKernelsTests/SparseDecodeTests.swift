@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// `SparseDecode.decode` against `Reference.sparseDecode` and Double math. Tolerance per
/// element: `4 (entries + 2) 2^-24 (|bias| + sum_e |v_e w_e|)`.
final class SparseDecodeTests: XCTestCase {
    func exact(_ codes: SparseCodes, _ w: [Float], _ d: Int, _ bias: [Float]?) -> ([Double], [Double]) {
        var out = [Double](repeating: 0, count: codes.rows * d), tol = out
        for r in 0..<codes.rows { for i in 0..<d {
            var s = Double(bias?[i] ?? 0), mag = Swift.abs(s)
            let entries = codes.offsets[r]..<codes.offsets[r + 1]
            for e in entries {
                let t = Double(codes.values[e]) * Double(w[Int(codes.indices[e]) * d + i])
                s += t; mag += Swift.abs(t)
            }
            out[r * d + i] = s
            tol[r * d + i] = 4 * Double(entries.count + 2) * 0x1p-24 * mag + 1e-30
        }}
        return (out, tol)
    }

    func decode(_ codes: SparseCodes, _ w: [Float], _ d: Int, _ bias: [Float]?, threads: Int, reference: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: codes.rows * d)
        let b = bias ?? []
        w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in b.withUnsafeBufferPointer { bp in
            let biasPtr = bias == nil ? nil : bp.baseAddress
            if reference {
                Reference.sparseDecode(codes, weights: wp.baseAddress!, d: d, bias: biasPtr, out: op.baseAddress!)
            } else {
                SparseDecode.decode(codes, weights: wp.baseAddress!, d: d, bias: biasPtr, out: op.baseAddress!, threads: threads)
            }
        }}}
        return out
    }

    func testMatchesDoubleAndReferenceOnSweep() {
        var rng = SeededRandom(seed: 21)
        for d in [1, 7, 8, 9, 15, 16, 17, 64, 129] {
            for maxPerRow in [0, 1, 3, 4, 5, 9, 40] {
                let width = 50
                let codes = randomCodes(rows: 23, width: width, maxPerRow: maxPerRow, &rng)
                let w = randomArray(width * d, &rng)
                let bias: [Float]? = maxPerRow % 2 == 0 ? randomArray(d, &rng) : nil
                let (want, tol) = exact(codes, w, d, bias)
                let label = "d=\(d) maxPerRow=\(maxPerRow) bias=\(bias != nil)"
                assertClose(decode(codes, w, d, bias, threads: 2), want, atol: { tol[$0] }, rtol: 0, "fast \(label)")
                assertClose(decode(codes, w, d, bias, threads: 1, reference: true), want, atol: { tol[$0] }, rtol: 0, "reference \(label)")
            }
        }
    }

    func testSameBitsForAnyThreadCount() {
        var rng = SeededRandom(seed: 22)
        let d = 67, width = 300
        let codes = randomCodes(rows: 700, width: width, maxPerRow: 33, &rng)
        let w = randomArray(width * d, &rng), bias = randomArray(d, &rng)
        let one = decode(codes, w, d, bias, threads: 1)
        for t in [2, 3] { assertBitwiseEqual(decode(codes, w, d, bias, threads: t), one, "threads=\(t)") }
    }

    /// The dense path (GEMM of the dense codes with W) gives the same decode.
    func testEqualsDenseGEMM() {
        var rng = SeededRandom(seed: 23)
        let d = 40, width = 90, rows = 31
        let codes = randomCodes(rows: rows, width: width, maxPerRow: 12, &rng)
        let w = randomArray(width * d, &rng)
        let (want, tol) = exact(codes, w, d, nil)
        var dense = codes.dense()
        var out = [Float](repeating: 0, count: rows * d)
        dense.withUnsafeMutableBufferPointer { fp in w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
            GEMM.multiply(.none, .none, m: rows, n: d, k: width, a: fp.baseAddress!, lda: width, b: wp.baseAddress!, ldb: d,
                          c: op.baseAddress!, ldc: d)
        }}}
        assertClose(out, want, atol: { tol[$0] }, rtol: 0, "dense GEMM decode")
        assertClose(decode(codes, w, d, nil, threads: 2), out.map(Double.init), atol: { tol[$0] * 2 }, rtol: 0, "sparse vs dense")
    }
}
