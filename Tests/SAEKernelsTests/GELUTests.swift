import Foundation
@testable import SAEKernels
import SAETestAssertions
import SAETestSupport
import XCTest
import _SAEKernelsAVX512

/// `GELU.forward` / `GELU.backward` against the naive twins and Double-precision math.
///
/// Tolerances, per element: `|got - want| <= xtol |x| + rtol |want| + 1e-30`. The `xtol |x|`
/// term covers the `1 + erf` cancellation of the exact GELU for negative `x`, present in
/// the twin and in PyTorch too.
final class GELUTests: XCTestCase {
    private let variants: [GELU.Variant] = [.exact, .tanh]
    private let k = (2 / Double.pi).squareRoot()

    private func geluDouble(_ x: Double, _ v: GELU.Variant) -> Double {
        switch v {
        case .exact: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        case .tanh: return 0.5 * x * (1 + Foundation.tanh(k * (x + 0.044715 * x * x * x)))
        }
    }

    private func geluDerivativeDouble(_ x: Double, _ v: GELU.Variant) -> Double {
        switch v {
        case .exact:
            return 0.5 * (1 + Foundation.erf(x / 2.0.squareRoot()))
                + x * Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        case .tanh:
            let t = Foundation.tanh(k * (x + 0.044715 * x * x * x))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        }
    }

    private func forward(_ x: [Float], _ v: GELU.Variant, threads: Int = 1, twin: Bool = false) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                guard let xb = xp.baseAddress, let yb = yp.baseAddress else { return }
                if twin { Reference.gelu(xb, yb, count: x.count, variant: v) }
                else { GELU.forward(xb, yb, count: x.count, variant: v, threads: threads) }
            }
        }
        return y
    }

    private func backward(
        _ x: [Float], _ dy: [Float], _ v: GELU.Variant, threads: Int = 1, twin: Bool = false
    ) -> [Float] {
        var dx = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    guard let xb = xp.baseAddress, let dyb = dyp.baseAddress, let dxb = dxp.baseAddress
                    else { return }
                    if twin { Reference.geluBackward(xb, dyb, dxb, count: x.count, variant: v) }
                    else { GELU.backward(xb, dyb, dxb, count: x.count, variant: v, threads: threads) }
                }
            }
        }
        return dx
    }

    /// Inputs: normal with scale 3 plus a fixed set of edge values, `n` in all.
    private func inputs(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        var x = randomArray(n, &rng, scale: 3)
        let edges: [Float] = [0, -0.0, 1e-30, -1e-30, 5.5, -5.5, 8, -8, 12, -12, 30, -30]
        for (i, e) in edges.enumerated() where i < n { x[(i * 7919) % n] = e }
        return x
    }

    func testForwardMatchesTwinAndDouble() {
        for n in KernelCheck.sizes + [40_000] {
            let x = inputs(n, seed: UInt64(n) + 1)
            for v in variants {
                let fast = forward(x, v, threads: 2), twin = forward(x, v, twin: true)
                let exact = x.map { geluDouble(Double($0), v) }
                // Fast vs Double: the tanh variant has no cancellation (xtol only for u's rounding).
                let xtolFast = v == .exact ? 6e-8 : 2e-8, rtolFast = v == .exact ? 2e-7 : 4e-7
                assertClose(fast, exact, atol: { xtolFast * Double(Swift.abs(x[$0])) + 1e-30 },
                            rtol: rtolFast, "fast \(v) vs Double, n=\(n)")
                assertClose(twin, exact, atol: { 1e-7 * Double(Swift.abs(x[$0])) + 1e-30 },
                            rtol: 2e-7, "twin \(v) vs Double, n=\(n)")
                assertClose(fast, twin.map(Double.init),
                            atol: { 1.2e-7 * Double(Swift.abs(x[$0])) + 1e-30 },
                            rtol: 3e-7, "fast \(v) vs twin, n=\(n)")
            }
        }
    }

    func testBackwardMatchesTwinAndDouble() {
        for n in KernelCheck.sizes + [40_000] {
            let x = inputs(n, seed: UInt64(n) + 100)
            var rng = SeededRandom(seed: UInt64(n) + 200)
            let dy = randomArray(n, &rng)
            for v in variants {
                let fast = backward(x, dy, v, threads: 2), twin = backward(x, dy, v, twin: true)
                let exact = x.indices.map { Double(dy[$0]) * geluDerivativeDouble(Double(x[$0]), v) }
                // gelu'(x) is O(1): absolute error scaled by |dy| (1 + |x|).
                let tol: (Int) -> Double = { Double(Swift.abs(dy[$0])) * (1 + Double(Swift.abs(x[$0]))) }
                assertClose(fast, exact, atol: { 8e-8 * tol($0) + 1e-30 },
                            rtol: 1.5e-7, "fast \(v)' vs Double, n=\(n)")
                assertClose(twin, exact, atol: { 1e-7 * tol($0) + 1e-30 },
                            rtol: 2e-7, "twin \(v)' vs Double, n=\(n)")
                assertClose(fast, twin.map(Double.init), atol: { 1.5e-7 * tol($0) + 1e-30 },
                            rtol: 2.5e-7, "fast \(v)' vs twin, n=\(n)")
            }
        }
    }

    /// The Double derivative used above is the derivative of the Double forward.
    func testDerivativeFormulaMatchesFiniteDifferences() {
        for v in variants {
            for x in stride(from: -6.0, through: 6.0, by: 0.37) {
                let h = 1e-5
                let fd = (geluDouble(x + h, v) - geluDouble(x - h, v)) / (2 * h)
                XCTAssertEqual(geluDerivativeDouble(x, v), fd, accuracy: 1e-8, "\(v) at x = \(x)")
            }
        }
    }

    /// Sizes above the threading threshold: threads 1, 2, 3 give the same bits, and
    /// in-place calls (`y == x`, `dx == dy`) give the same bits as out-of-place ones.
    func testThreadCountsAndInPlaceAreBitwiseIdentical() {
        let n = 100_003
        let x = inputs(n, seed: 42)
        var rng = SeededRandom(seed: 43)
        let dy = randomArray(n, &rng)
        for v in variants {
            let y1 = forward(x, v, threads: 1), d1 = backward(x, dy, v, threads: 1)
            for t in [2, 3] {
                assertBitwiseEqual(forward(x, v, threads: t), y1, "\(v) forward threads=\(t)")
                assertBitwiseEqual(backward(x, dy, v, threads: t), d1, "\(v) backward threads=\(t)")
            }
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { p in
                GELU.forward(p.baseAddress!, p.baseAddress!, count: n, variant: v, threads: 3)
            }
            assertBitwiseEqual(inPlace, y1, "\(v) forward in place")
            var dInPlace = dy
            x.withUnsafeBufferPointer { xp in
                dInPlace.withUnsafeMutableBufferPointer { p in
                    GELU.backward(xp.baseAddress!, p.baseAddress!, p.baseAddress!, count: n, variant: v, threads: 2)
                }
            }
            assertBitwiseEqual(dInPlace, d1, "\(v) backward in place")
        }
    }

    /// Large magnitudes: no NaN, gelu(x) -> x or 0, gelu'(x) -> 1 or 0.
    func testLargeMagnitudes() {
        let x: [Float] = [1e4, -1e4, 1e20, -1e20, 1e38, -1e38, 100, -100]
        let ones = [Float](repeating: 1, count: x.count)
        for v in variants {
            let y = forward(x, v), d = backward(x, ones, v)
            for i in x.indices {
                XCTAssertEqual(y[i], x[i] > 0 ? x[i] : 0, "\(v) gelu(\(x[i])) = \(y[i])")
                XCTAssertEqual(d[i], x[i] > 0 ? 1 : 0, "\(v) gelu'(\(x[i])) = \(d[i])")
            }
        }
    }

    /// The sixteen-wide exact GELU (AVX-512) gives the eight-wide kernel's bits on every
    /// input: a sweep over [-12, 12], tiny, huge, infinite and NaN values.
    func testSixteenWideExactGELUMatchesEightWide() throws {
        guard CPUFeatures.hasAVX512F else { throw XCTSkip("no AVX-512 on this CPU") }
        var x: [Float] = (0..<48_000).map { Float($0 - 24_000) / 2000 }
        x += [0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1e-30, -1e-30, 3.8, -3.8, 3.92, -3.92,
              0.921875, -0.921875, 89, -104, 1e30, -1e30, .infinity, -.infinity, .nan, .greatestFiniteMagnitude]
        while x.count % 16 != 0 { x.append(0.5) }
        var eight = x, sixteen = x
        eight.withUnsafeMutableBufferPointer { GELU.exactForwardRange8($0.baseAddress!, $0.baseAddress!, $0.count) }
        sixteen.withUnsafeMutableBufferPointer {
            XCTAssertEqual(avx512GELUExactRows($0.baseAddress!, ld: $0.count, rows: 1, cols: $0.count), $0.count)
        }
        for i in 0..<x.count {
            XCTAssertTrue(eight[i].bitPattern == sixteen[i].bitPattern || (eight[i].isNaN && sixteen[i].isNaN),
                          "gelu(\(x[i])): \(eight[i]) vs \(sixteen[i])")
        }
    }
}
