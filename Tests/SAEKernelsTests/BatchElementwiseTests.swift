@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// The training step's elementwise passes equal their naive twins (`Reference`) bitwise,
/// for any thread count, on widths around the vector width.
final class BatchElementwiseTests: XCTestCase {
    func testSubtractRowVector() {
        var rng = SeededRandom(seed: 3)
        for (rows, d) in [(1, 1), (3, 7), (5, 8), (9, 17), (300, 130), (3, 1024), (4, 2 * 1024 + 13), (33, 4100)] {  // the last three cross `BatchElementwise.columnChunk`
            let x = randomArray(rows * d, &rng), v = randomArray(d, &rng)
            var want = [Float](repeating: .nan, count: rows * d)
            want.withUnsafeMutableBufferPointer { w in
                Reference.subtractRowVector(x, v, rows: rows, d: d, into: w.baseAddress!)
            }
            for threads in [1, 2, 3] {
                var got = [Float](repeating: .nan, count: rows * d)
                got.withUnsafeMutableBufferPointer { g in
                    BatchElementwise.subtractRowVector(x, v, rows: rows, d: d, into: g.baseAddress!, threads: threads)
                }
                assertBitwiseEqual(got, want, "rows=\(rows) d=\(d) threads=\(threads)")
            }
        }
    }

    func testScaledDifferenceAndColumnSums() {
        var rng = SeededRandom(seed: 4)
        for (rows, d) in [(1, 1), (3, 7), (5, 8), (9, 17), (300, 130), (3, 1024), (4, 2 * 1024 + 13), (33, 4100)] {  // the last three cross `BatchElementwise.columnChunk`
            let xHat = randomArray(rows * d, &rng), x = randomArray(rows * d, &rng), start = randomArray(d, &rng)
            let scale: Float = 2 / Float(rows)
            var want = [Float](repeating: .nan, count: rows * d), wantSums = start, wantColumnSums = start
            want.withUnsafeMutableBufferPointer { w in wantSums.withUnsafeMutableBufferPointer { s in
                Reference.scaledDifference(xHat, minus: x, scale: scale, rows: rows, d: d, into: w.baseAddress!,
                                           columnSums: s.baseAddress!)
            }}
            wantColumnSums.withUnsafeMutableBufferPointer { s in
                Reference.columnSums(want, rows: rows, d: d, into: s.baseAddress!)
            }
            assertBitwiseEqual(wantColumnSums, wantSums, "the twins' column sums rows=\(rows) d=\(d)")
            for threads in [1, 2, 3] {
                var got = [Float](repeating: .nan, count: rows * d), sums = start
                got.withUnsafeMutableBufferPointer { g in sums.withUnsafeMutableBufferPointer { s in
                    BatchElementwise.scaledDifference(xHat, minus: x, scale: scale, rows: rows, d: d, into: g.baseAddress!,
                                                      columnSums: s.baseAddress!, threads: threads)
                }}
                assertBitwiseEqual(got, want, "g rows=\(rows) d=\(d) threads=\(threads)")
                assertBitwiseEqual(sums, wantSums, "sums rows=\(rows) d=\(d) threads=\(threads)")
                var plainSums = start
                plainSums.withUnsafeMutableBufferPointer { s in
                    BatchElementwise.columnSums(want, rows: rows, d: d, into: s.baseAddress!, threads: threads)
                }
                assertBitwiseEqual(plainSums, wantSums, "columnSums rows=\(rows) d=\(d) threads=\(threads)")
            }
        }
    }
}
