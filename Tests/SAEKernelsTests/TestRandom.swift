import Foundation
import XCTest

/// A tiny deterministic generator for tests (SplitMix64): same seed, same stream, on
/// every platform and thread count.
struct TestRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 24 random bits.
    mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in `[lo, hi)`.
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * unit() }

    /// A random integer in `0..<bound`.
    mutating func int(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }

    /// Standard normal (Box-Muller on Double, rounded to Float).
    mutating func normal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

/// `n` independent normal samples times `scale`.
func randomArray(_ n: Int, _ rng: inout TestRNG, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in rng.normal() * scale }
}

// MARK: - Comparison helpers shared by the kernel parity tests


/// Assertions that compare kernel outputs element by element and, on failure, report the
/// worst element and point at the calling test line.
enum KernelCheck {
    /// The sizes every elementwise or row kernel is swept over.
    static let sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 127, 1021]

    /// `|got - want|` in units of the Float spacing at `want` (subnormal spacing at least).
    static func ulpError(_ got: Float, _ want: Double) -> Double {
        if got.isNaN || want.isNaN { return got.isNaN && want.isNaN ? 0 : .infinity }
        if got.isInfinite || want.isInfinite { return Double(got) == want ? 0 : .infinity }
        let spacing = Double(max(Float(want).magnitude.ulp, Float.leastNonzeroMagnitude))
        return Swift.abs(Double(got) - want) / spacing
    }

    /// Asserts `|got[i] - want[i]| <= atol + rtol * |want[i]|` for every `i` (NaN must
    /// match NaN, infinities must match exactly).
    static func assertClose(
        _ got: [Float], _ want: [Double], rtol: Double, atol: Double,
        _ what: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertClose(got, want, tolerance: { _ in atol }, rtol: rtol,
                    "\(what()) (rtol \(rtol), atol \(atol))", file: file, line: line)
    }

    /// Asserts `|got[i] - want[i]| <= tolerance(i) + rtol * |want[i]|` for every `i`, and
    /// reports the element that exceeds its tolerance the most (relative to it).
    static func assertClose(
        _ got: [Float], _ want: [Double], tolerance: (Int) -> Double, rtol: Double,
        _ what: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(got.count, want.count, "count mismatch \(what())", file: file, line: line)
        var worst = -1, worstRatio = 1.0
        for i in 0..<min(got.count, want.count) {
            let g = Double(got[i]), w = want[i]
            if g.isNaN || w.isNaN || g.isInfinite || w.isInfinite {
                if !(g.isNaN && w.isNaN) && g != w { worst = i; worstRatio = .infinity; break }
                continue
            }
            if g == w { continue }
            let ratio = Swift.abs(g - w) / (tolerance(i) + rtol * Swift.abs(w))
            if ratio > worstRatio || (ratio.isNaN && worst < 0) { worst = i; worstRatio = ratio }
        }
        if worst >= 0 {
            XCTFail("\(what()): element \(worst) of \(got.count) is \(got[worst]), want \(want[worst]), "
                    + "error \(worstRatio)x the tolerance", file: file, line: line)
        }
    }

    /// Largest `|got - want| / (atol + rtol |want|)`, for reporting measured accuracy.
    static func maxScaledError(_ got: [Float], _ want: [Double], rtol: Double, atol: Double) -> Double {
        var worst = 0.0
        for i in 0..<min(got.count, want.count) {
            worst = max(worst, Swift.abs(Double(got[i]) - want[i]) / (atol + rtol * Swift.abs(want[i])))
        }
        return worst
    }

    static func assertClose(
        _ got: [Float], _ want: [Float], rtol: Double, atol: Double,
        _ what: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertClose(got, want.map(Double.init), rtol: rtol, atol: atol, what(), file: file, line: line)
    }

    /// Asserts the two arrays hold the same bits (so NaN == NaN, and -0 != +0).
    static func assertBitwiseEqual(
        _ got: [Float], _ want: [Float], _ what: @autoclosure () -> String = "",
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(got.count, want.count, "count mismatch \(what())", file: file, line: line)
        for i in 0..<min(got.count, want.count) where got[i].bitPattern != want[i].bitPattern {
            XCTFail("\(what()): element \(i) of \(got.count) is \(got[i]), want \(want[i]) bitwise",
                    file: file, line: line)
            return
        }
    }
}
