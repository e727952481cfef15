import XCTest
@testable import SAEKernels

/// The training step's elementwise passes equal their plain loops bitwise, for any
/// thread count, on widths around the vector width.
final class BatchElementwiseTests: XCTestCase {
    func testSubtractRowVector() {
        var rng = TestRNG(seed: 3)
        for (rows, d) in [(1, 1), (3, 7), (5, 8), (9, 17), (300, 130)] {
            let x = randomArray(rows * d, &rng), v = randomArray(d, &rng)
            var want = [Float](repeating: 0, count: rows * d)
            for r in 0..<rows { for i in 0..<d { want[r * d + i] = x[r * d + i] - v[i] } }
            for threads in [1, 2, 3] {
                var got = [Float](repeating: .nan, count: rows * d)
                got.withUnsafeMutableBufferPointer { g in
                    BatchElementwise.subtractRowVector(x, v, rows: rows, d: d, into: g.baseAddress!, threads: threads)
                }
                KernelCheck.assertBitwiseEqual(got, want, "rows=\(rows) d=\(d) threads=\(threads)")
            }
        }
    }

    func testScaledDifferenceAndColumnSums() {
        var rng = TestRNG(seed: 4)
        for (rows, d) in [(1, 1), (3, 7), (5, 8), (9, 17), (300, 130)] {
            let xHat = randomArray(rows * d, &rng), x = randomArray(rows * d, &rng), start = randomArray(d, &rng)
            let scale: Float = 2 / Float(rows)
            var want = [Float](repeating: 0, count: rows * d), wantSums = start
            for r in 0..<rows { for i in 0..<d { want[r * d + i] = scale * (xHat[r * d + i] - x[r * d + i]) } }
            for r in 0..<rows { for i in 0..<d { wantSums[i] += want[r * d + i] } }
            for threads in [1, 2, 3] {
                var got = [Float](repeating: .nan, count: rows * d), sums = start
                got.withUnsafeMutableBufferPointer { g in sums.withUnsafeMutableBufferPointer { s in
                    BatchElementwise.scaledDifference(xHat, minus: x, scale: scale, rows: rows, d: d, into: g.baseAddress!,
                                                      columnSums: s.baseAddress!, threads: threads)
                }}
                KernelCheck.assertBitwiseEqual(got, want, "g rows=\(rows) d=\(d) threads=\(threads)")
                KernelCheck.assertBitwiseEqual(sums, wantSums, "sums rows=\(rows) d=\(d) threads=\(threads)")
            }
        }
    }
}
