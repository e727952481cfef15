import SAETestSupport
import XCTest

// XCTest assertions over `Closeness` for the test bundles (`sae-bench` uses
// `SAETestSupport` alone, without XCTest). Each forwards `file:`/`line:`, so a failure
// points at the calling test line, and names the worst element.
//
// The rule (`Tolerance`): for a finite `want`, `got` must be finite and
// `|got - want| <= atol + rtol * |want|`; a NaN `want` needs a NaN `got`, an infinite
// `want` the same infinity. A NaN or an infinity where a finite value is expected always fails.

/// Asserts `got` is close to `want` element by element; returns the largest fraction of
/// the tolerance an element uses (for printing measured agreement).
@discardableResult
package func assertClose(
    _ got: [Float], _ want: [Double], atol: Double = 0, rtol: Double = 0,
    _ what: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) -> Double {
    if let m = Closeness.mismatch(got, want, atol: atol, rtol: rtol) { XCTFail("\(what()): \(m)", file: file, line: line) }
    return Closeness.largestUsage(got, want, atol: atol, rtol: rtol)
}

/// `assertClose` with a Float reference.
@discardableResult
package func assertClose(
    _ got: [Float], _ want: [Float], atol: Double = 0, rtol: Double = 0,
    _ what: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) -> Double {
    assertClose(got, want.map(Double.init), atol: atol, rtol: rtol, what(), file: file, line: line)
}

/// `assertClose` with an absolute tolerance per element: `|got[i] - want[i]| <= atol(i) + rtol |want[i]|`.
package func assertClose(
    _ got: [Float], _ want: [Double], atol: (Int) -> Double, rtol: Double = 0,
    _ what: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    if let m = Closeness.mismatch(got, want, atol: atol, rtol: rtol) { XCTFail("\(what()): \(m)", file: file, line: line) }
}

/// Asserts one value is close to another (the same rule, for a scalar).
package func assertClose(
    _ got: Double, _ want: Double, atol: Double = 0, rtol: Double = 0,
    _ what: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    if let m = Closeness.mismatch(got, want, atol: atol, rtol: rtol) { XCTFail("\(what()): \(m)", file: file, line: line) }
}

/// Asserts the two arrays hold the same bits (so NaN == NaN, and -0 != +0).
package func assertBitwiseEqual(
    _ got: [Float], _ want: [Float], _ what: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    guard let i = Closeness.firstBitwiseDifference(got, want) else { return }
    if i < 0 {
        XCTFail("\(what()): \(got.count) values, want \(want.count)", file: file, line: line)
    } else {
        XCTFail("\(what()): element \(i) of \(got.count) is \(got[i]), want \(want[i]) bitwise", file: file, line: line)
    }
}
