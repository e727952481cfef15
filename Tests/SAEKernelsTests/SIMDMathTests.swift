import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest

/// Accuracy of the vectorised `exp`, `erf`, `tanh` against Double-precision libm, and
/// parity of the buffer entry points with their naive twins (libm Float functions).
final class SIMDMathTests: XCTestCase {

    /// Applies `f` to `xs` through the buffer entry point.
    private func apply(
        _ xs: [Float], _ f: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> [Float] {
        var out = [Float](repeating: .nan, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                if let xp = x.baseAddress, let yp = y.baseAddress { f(xp, yp, xs.count) }
            }
        }
        return out
    }

    /// Evenly spaced points on `[lo, hi]` plus random points, `n` of each.
    private func sweep(_ lo: Float, _ hi: Float, _ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var xs = (0..<n).map { lo + (hi - lo) * Float($0) / Float(n - 1) }
        xs += (0..<n).map { _ in rng.uniform(lo, hi) }
        return xs
    }

    /// Max ulp error of `got` against `want` in Double, with the worst input.
    private func maxUlp(_ xs: [Float], _ got: [Float], _ want: (Double) -> Double) -> (ulp: Double, at: Float) {
        var worst = (ulp: 0.0, at: Float(0))
        for i in xs.indices {
            let e = Closeness.ulpError(got[i], want(Double(xs[i])))
            if e > worst.ulp { worst = (e, xs[i]) }
        }
        return worst
    }

    // MARK: exp

    func testExpAccuracyVsDouble() {
        // Normal results: [ln FLT_MIN, ln FLT_MAX]. Tolerance: 1.5 ulp (measured 0.98).
        let xs = sweep(-87.33, 88.72, 1 << 19, seed: 1) + sweep(-1, 1, 1 << 16, seed: 2)
        let got = apply(xs) { SIMDMath.exp($0, $1, count: $2) }
        let e = maxUlp(xs, got, Foundation.exp)
        print("SIMDMath.exp max error \(e.ulp) ulp at x = \(e.at)")
        XCTAssertLessThanOrEqual(e.ulp, 1.5, "exp worst at x = \(e.at)")
    }

    func testExpSubnormalAndSpecialValues() {
        // Subnormal results: gradual underflow, error at most one subnormal spacing.
        let xs = sweep(-103.9, -87.34, 1 << 14, seed: 3)
        let got = apply(xs) { SIMDMath.exp($0, $1, count: $2) }
        for i in xs.indices {
            let want = Foundation.exp(Double(xs[i]))
            XCTAssertLessThanOrEqual(Swift.abs(Double(got[i]) - want), Double(Float.leastNonzeroMagnitude),
                                     "exp(\(xs[i])) = \(got[i]), want \(want)")
        }
        let special: [Float] = [0, -0, .infinity, -.infinity, .nan, 88.72283, 88.7229, 89, 1e30,
                                -103.98, -104, -1e30, 1]
        let out = apply(special) { SIMDMath.exp($0, $1, count: $2) }
        XCTAssertEqual(out[0], 1); XCTAssertEqual(out[1], 1)
        XCTAssertEqual(out[2], .infinity); XCTAssertEqual(out[3], 0)
        XCTAssertTrue(out[4].isNaN)
        XCTAssertTrue(out[5].isFinite, "exp(88.72283) = \(out[5]) should be finite")
        XCTAssertEqual(out[6], .infinity); XCTAssertEqual(out[7], .infinity); XCTAssertEqual(out[8], .infinity)
        XCTAssertEqual(out[9], 0); XCTAssertEqual(out[10], 0); XCTAssertEqual(out[11], 0)
        XCTAssertEqual(out[12], Float(M_E))
    }

    // MARK: erf

    func testErfAccuracyVsDouble() {
        // Tolerance: 1e-7 absolute and 2 ulp over [-6, 6] (measured 6.1e-8, 1.02 ulp), and
        // 2 ulp for tiny arguments.
        let xs = sweep(-6, 6, 1 << 19, seed: 4)
        let got = apply(xs) { SIMDMath.erf($0, $1, count: $2) }
        var maxAbs = 0.0, at: Float = 0
        for i in xs.indices {
            let e = Swift.abs(Double(got[i]) - Foundation.erf(Double(xs[i])))
            if e > maxAbs { maxAbs = e; at = xs[i] }
        }
        let u = maxUlp(xs, got, Foundation.erf)
        print("SIMDMath.erf max error \(maxAbs) abs at x = \(at); \(u.ulp) ulp at x = \(u.at)")
        XCTAssertLessThanOrEqual(maxAbs, 1e-7, "erf worst at x = \(at)")
        XCTAssertLessThanOrEqual(u.ulp, 2, "erf worst at x = \(u.at)")

        // Small arguments, relative: erf(x) ~ 2x / sqrt(pi).
        let tiny = (0..<2000).map { Float(Foundation.pow(10.0, -30.0 + 28.0 * Double($0) / 1999)) }
        let xsTiny = tiny + tiny.map { -$0 }
        let gotTiny = apply(xsTiny) { SIMDMath.erf($0, $1, count: $2) }
        let uTiny = maxUlp(xsTiny, gotTiny, Foundation.erf)
        print("SIMDMath.erf max error \(uTiny.ulp) ulp for 1e-30 <= |x| <= 0.01")
        XCTAssertLessThanOrEqual(uTiny.ulp, 2, "erf worst at x = \(uTiny.at)")

        let special: [Float] = [0, .infinity, -.infinity, 4, -4, 100]
        let out = apply(special) { SIMDMath.erf($0, $1, count: $2) }
        XCTAssertEqual(out, [0, 1, -1, 1, -1, 1])
        XCTAssertTrue(apply([.nan]) { SIMDMath.erf($0, $1, count: $2) }[0].isNaN)
    }

    // MARK: tanh

    func testTanhAccuracyVsDouble() {
        // Tolerance: 2 ulp over [-12, 12] and for tiny arguments (measured 1.28).
        let tiny = (0..<2000).map { Float(Foundation.pow(10.0, -30.0 + 29.8 * Double($0) / 1999)) }
        let xs = sweep(-12, 12, 1 << 19, seed: 5) + sweep(-1, 1, 1 << 16, seed: 6) + tiny + tiny.map { -$0 }
        let got = apply(xs) { SIMDMath.tanh($0, $1, count: $2) }
        let u = maxUlp(xs, got, Foundation.tanh)
        print("SIMDMath.tanh max error \(u.ulp) ulp at x = \(u.at)")
        XCTAssertLessThanOrEqual(u.ulp, 2, "tanh worst at x = \(u.at)")

        let special: [Float] = [0, .infinity, -.infinity, 1e30, -1e30, 9.1]
        let out = apply(special) { SIMDMath.tanh($0, $1, count: $2) }
        XCTAssertEqual(out, [0, 1, -1, 1, -1, 1])
        XCTAssertTrue(apply([.nan]) { SIMDMath.tanh($0, $1, count: $2) }[0].isNaN)
    }

    // MARK: buffers vs twins

    /// Every size, including partial tails: the buffer entry points agree with the libm
    /// twins within the accuracy above, and with the per-vector functions bitwise.
    func testBufferEntryPointsMatchTwinsForAllSizes() {
        var rng = SeededRandom(seed: 7)
        typealias BufferFunction = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
        let cases: [(String, BufferFunction, BufferFunction, (SIMD8<Float>) -> SIMD8<Float>, Double, Double)] = [
            ("exp", { SIMDMath.exp($0, $1, count: $2) }, { Reference.exp($0, $1, count: $2) },
             SIMDMath.exp, 2.5e-7, 0),
            ("erf", { SIMDMath.erf($0, $1, count: $2) }, { Reference.erf($0, $1, count: $2) },
             SIMDMath.erf, 2.5e-7, 1e-37),
            ("tanh", { SIMDMath.tanh($0, $1, count: $2) }, { Reference.tanh($0, $1, count: $2) },
             SIMDMath.tanh, 2.5e-7, 1e-30),
        ]
        for n in KernelCheck.sizes + [4099] {
            let xs = randomArray(n, &rng, scale: 3)
            for (name, fast, twin, vector, rtol, atol) in cases {
                let got = apply(xs, fast)
                assertClose(got, apply(xs, twin), atol: atol, rtol: rtol, "\(name) n=\(n)")
                // Per-vector function on zero-padded vectors gives the same bits.
                var perVector = [Float]()
                var i = 0
                while i < n {
                    var v = SIMD8<Float>()
                    for k in 0..<min(8, n - i) { v[k] = xs[i + k] }
                    let y = vector(v)
                    for k in 0..<min(8, n - i) { perVector.append(y[k]) }
                    i += 8
                }
                assertBitwiseEqual(got, perVector, "\(name) n=\(n) per-vector")
            }
        }
    }

    /// The twins are libm: within 1 ulp of Double math (glibc's `tanhf`: 2 ulp).
    func testTwinsVsDouble() {
        let xs = sweep(-10, 10, 1 << 14, seed: 8)
        let cases: [(String, (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, (Double) -> Double)] = [
            ("exp", { Reference.exp($0, $1, count: $2) }, Foundation.exp),
            ("erf", { Reference.erf($0, $1, count: $2) }, Foundation.erf),
            ("tanh", { Reference.tanh($0, $1, count: $2) }, Foundation.tanh),
        ]
        for (name, twin, double) in cases {
            let u = maxUlp(xs, apply(xs, twin), double)
            XCTAssertLessThanOrEqual(u.ulp, name == "tanh" ? 2 : 1, "twin \(name) worst at x = \(u.at)")
        }
    }
}
