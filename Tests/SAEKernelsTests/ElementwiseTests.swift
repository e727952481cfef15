@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// The forward pass's elementwise passes (`Elementwise`) equal their naive twins bitwise,
/// for any thread count, on lengths around the vector width and past the threading
/// threshold (2^16 elements).
final class ElementwiseTests: XCTestCase {
    func testAddEqualsTwin() {
        var rng = SeededRandom(seed: 11)
        for n in KernelCheck.sizes + [1 << 16, (1 << 16) + 9] {
            var a = randomArray(n, &rng), b = randomArray(n, &rng)
            if n > 3 { a[1] = -0; b[1] = -0; a[2] = .infinity; b[3] = .nan }
            var want = [Float](repeating: 7, count: n)
            want.withUnsafeMutableBufferPointer { Reference.add(a, b, into: $0.baseAddress!, count: n) }
            for threads in [1, 2, 3] {
                var got = [Float](repeating: 7, count: n)
                got.withUnsafeMutableBufferPointer { Elementwise.add(a, b, into: $0.baseAddress!, count: n, threads: threads) }
                assertBitwiseEqual(got, want, "n=\(n) threads=\(threads)")
                // In place (out == a), as the residual stream adds.
                var inPlace = a
                inPlace.withUnsafeMutableBufferPointer { Elementwise.add($0.baseAddress!, b, into: $0.baseAddress!, count: n, threads: threads) }
                assertBitwiseEqual(inPlace, want, "in place n=\(n) threads=\(threads)")
            }
        }
    }

    func testAffineEqualsTwinWithAndWithoutWeightAndBias() {
        var rng = SeededRandom(seed: 12)
        for (rows, d) in [(1, 1), (3, 7), (5, 17), (2, 1 << 15 + 3)] {
            var x = randomArray(rows * d, &rng)
            x[0] = -0
            let weight = randomArray(d, &rng), bias = randomArray(d, &rng)
            for (w, b) in [(weight, bias), (weight, nil), (nil, bias), (nil, nil)] as [([Float]?, [Float]?)] {
                let what = "rows=\(rows) d=\(d) weight=\(w != nil) bias=\(b != nil)"
                func run(threads: Int?) -> [Float] {
                    var out = [Float](repeating: .nan, count: rows * d)
                    out.withUnsafeMutableBufferPointer { o in
                        withOptionalPointer(w) { wp in withOptionalPointer(b) { bp in
                            if let threads {
                                Elementwise.affine(x, weight: wp, bias: bp, into: o.baseAddress!, rows: rows, d: d, threads: threads)
                            } else {
                                Reference.affine(x, weight: wp, bias: bp, into: o.baseAddress!, rows: rows, d: d)
                            }
                        }}
                    }
                    return out
                }
                let want = run(threads: nil)
                for threads in [1, 2, 3] { assertBitwiseEqual(run(threads: threads), want, what + " threads=\(threads)") }
                // The twin against the formula, in Double (a fused multiply-add rounds once).
                let exact = (0..<(rows * d)).map { e -> Double in
                    let j = e % d
                    return Double(x[e]) * Double(w?[j] ?? 1) + Double(b?[j] ?? 0)
                }
                assertClose(want, exact, atol: 0, rtol: 0x1p-23, what + " twin vs Double")
            }
        }
    }

    /// `body` gets the array's base address, or nil for a nil array.
    private func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let a else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
