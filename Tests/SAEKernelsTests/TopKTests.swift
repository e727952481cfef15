@testable import SAEKernels
import SAETestSupport
import XCTest

/// `TopK.select` against `Reference.topK` (exact: selection is order-only, so results must be
/// identical bit for bit), on widths around the 8-wide scan, k at 0, 1, edge and 256.
final class TopKTests: XCTestCase {
    func run(_ x: [Float], rows: Int, n: Int, k: Int, relu: Bool, threads: Int) -> ([Int32], [Float]) {
        var idx = [Int32](repeating: -1, count: rows * k), val = [Float](repeating: .nan, count: rows * k)
        x.withUnsafeBufferPointer { xp in idx.withUnsafeMutableBufferPointer { ip in val.withUnsafeMutableBufferPointer { vp in
            TopK.select(xp.baseAddress!, rows: rows, n: n, k: k, relu: relu, indices: ip.baseAddress!,
                        values: vp.baseAddress!, threads: threads)
        }}}
        return (idx, val)
    }

    func reference(_ x: [Float], rows: Int, n: Int, k: Int, relu: Bool) -> ([Int32], [Float]) {
        var idx = [Int32](repeating: -1, count: rows * k), val = [Float](repeating: .nan, count: rows * k)
        x.withUnsafeBufferPointer { xp in idx.withUnsafeMutableBufferPointer { ip in val.withUnsafeMutableBufferPointer { vp in
            Reference.topK(xp.baseAddress!, rows: rows, n: n, k: k, relu: relu, indices: ip.baseAddress!, values: vp.baseAddress!)
        }}}
        return (idx, val)
    }

    func testMatchesReferenceOnSweep() {
        var rng = SeededRandom(seed: 11)
        for n in [1, 7, 8, 9, 15, 16, 17, 31, 127, 1021] {
            for k in Set([0, 1, min(n, 7), min(n, 8), min(n, 9), n / 2, n]).sorted() {
                let rows = 5
                let x = randomArray(rows * n, &rng)
                for relu in [false, true] {
                    let got = run(x, rows: rows, n: n, k: k, relu: relu, threads: 2)
                    let want = reference(x, rows: rows, n: n, k: k, relu: relu)
                    XCTAssertEqual(got.0, want.0, "indices n=\(n) k=\(k) relu=\(relu)")
                    XCTAssertEqual(got.1, want.1, "values n=\(n) k=\(k) relu=\(relu)")
                }
            }
        }
    }

    /// Ties must resolve to the lower index, as in the reference.
    func testTiesPreferLowerIndex() {
        let n = 40
        var x = [Float](repeating: 1, count: n)
        x[3] = 2; x[30] = 2; x[39] = 0.5
        let got = run(x, rows: 1, n: n, k: 5, relu: false, threads: 1)
        XCTAssertEqual(got.0, [3, 30, 0, 1, 2])
        XCTAssertEqual(got.1, [2, 2, 1, 1, 1])
    }

    /// Large k and a wide row (d_sae sized), sorted rows (worst case for the heap), many
    /// threads: identical to the reference.
    func testLargeKWideRowsAndAdversarialOrder() {
        var rng = SeededRandom(seed: 12)
        let n = 20011, rows = 3, k = 256
        var x = randomArray(rows * n, &rng)
        for j in 0..<n { x[n + j] = Float(j) * 1e-3 }  // increasing: every value enters the heap
        for j in 0..<n { x[2 * n + j] = -Float(j) }     // decreasing: none after the first k
        let got = run(x, rows: rows, n: n, k: k, relu: true, threads: 3)
        let want = reference(x, rows: rows, n: n, k: k, relu: true)
        XCTAssertEqual(got.0, want.0)
        XCTAssertEqual(got.1, want.1)
    }

    func testSameResultForAnyThreadCount() {
        var rng = SeededRandom(seed: 13)
        let rows = 300, n = 517, k = 32
        let x = randomArray(rows * n, &rng)
        let one = run(x, rows: rows, n: n, k: k, relu: false, threads: 1)
        for t in [2, 3, 7] {
            let many = run(x, rows: rows, n: n, k: k, relu: false, threads: t)
            XCTAssertEqual(many.0, one.0, "threads=\(t)")
            XCTAssertEqual(many.1, one.1, "threads=\(t)")
        }
    }
}
