import SAETestSupport
import XCTest

/// The closeness rule every parity test uses (`Tolerance`, `Closeness`): a NaN or an
/// infinity where a finite value is expected fails whatever the tolerance, `-0` equals
/// `+0`, and the bound `atol + rtol * |want|` is inclusive.
final class ClosenessTests: XCTestCase {
    let loose = Tolerance(atol: 1e30, rtol: 1e30)

    func testNaNWhereAFiniteValueIsExpectedAlwaysFails() {
        for tolerance in [Tolerance.exact, Tolerance(atol: 1e-5, rtol: 1e-5), loose] {
            XCTAssertFalse(tolerance.accepts(.nan, 1), "NaN for 1 under \(tolerance)")
            XCTAssertFalse(tolerance.accepts(.nan, 0), "NaN for 0 under \(tolerance)")
            XCTAssertEqual(tolerance.usage(.nan, 1), .infinity)
        }
        XCTAssertNotNil(Closeness.mismatch([1, .nan, 3], [1, 2, 3], atol: 1e30, rtol: 1e30), "one NaN among close values")
        XCTAssertEqual(Closeness.mismatch([1, .nan, 3], [1, 2, 3], atol: 1, rtol: 0)?.index, 1)
        XCTAssertEqual(Closeness.largestUsage([1, .nan], [1, 2], atol: 1, rtol: 1), .infinity)
        XCTAssertNotNil(Closeness.mismatch(Double.nan, 0.5, atol: 1, rtol: 1), "scalar NaN")
        // The comparison `|got - want| <= bound` alone would let a NaN pass through a NaN bound:
        // a tolerance computed from data that went NaN fails as well.
        XCTAssertNotNil(Closeness.mismatch([1], [1], atol: .nan, rtol: 0), "a NaN tolerance")
        XCTAssertNotNil(Closeness.mismatch([1], [1], atol: { _ in -1 }, rtol: 0), "a negative tolerance")
        XCTAssertNil(Tolerance(validating: .infinity, rtol: 0), "an infinite tolerance is refused")
    }

    func testInfinityWhereAFiniteValueIsExpectedAlwaysFails() {
        for got in [Double.infinity, -.infinity] {
            XCTAssertFalse(loose.accepts(got, 1e30), "\(got) for 1e30")
            XCTAssertFalse(loose.accepts(got, 0), "\(got) for 0")
        }
        XCTAssertNotNil(Closeness.mismatch([.infinity], [3.4e38], atol: 1e30, rtol: 1e30))
        XCTAssertNotNil(Closeness.mismatch([Float.greatestFiniteMagnitude], [Double.infinity], atol: 1e30, rtol: 1e30),
                        "a finite value where an infinity is expected")
    }

    func testExpectedNaNAndInfinitiesMatchOnlyThemselves() {
        XCTAssertTrue(Tolerance.exact.accepts(.nan, .nan))
        XCTAssertFalse(loose.accepts(0, .nan), "a number where NaN is expected")
        XCTAssertTrue(Tolerance.exact.accepts(.infinity, .infinity))
        XCTAssertFalse(loose.accepts(-.infinity, .infinity), "the other infinity")
        XCTAssertNil(Closeness.mismatch([.nan, .infinity, -.infinity], [.nan, .infinity, -.infinity], atol: 0, rtol: 0))
    }

    func testSignedZerosAreClose() {
        XCTAssertTrue(Tolerance.exact.accepts(-0.0, 0.0))
        XCTAssertTrue(Tolerance.exact.accepts(0.0, -0.0))
        XCTAssertNil(Closeness.mismatch([-0.0], [0.0], atol: 0, rtol: 0))
        XCTAssertEqual(Tolerance.exact.usage(-0.0, 0.0), 0)
        XCTAssertEqual(Closeness.firstBitwiseDifference([-0.0], [0.0]), 0, "bitwise, -0 is not +0")
        XCTAssertNil(Closeness.firstBitwiseDifference([.nan, 1], [.nan, 1]), "bitwise, NaN is NaN")
    }

    func testTheBoundIsAbsolutePlusRelativeAndInclusive() {
        let t = Tolerance(atol: 0.25, rtol: 0.5)
        XCTAssertEqual(t.bound(for: -2), 1.25)
        XCTAssertTrue(t.accepts(-0.75, -2), "exactly at the bound")
        XCTAssertTrue(t.accepts(-3.25, -2))
        XCTAssertFalse(t.accepts(Double(-3.25).nextDown, -2), "just past the bound (the difference is exact)")
        XCTAssertEqual(t.usage(-0.75, -2), 1)
        // Float inputs are compared in Double: 1.5 is at the bound of 1 +- 0.5, the next Float is not.
        XCTAssertNil(Closeness.mismatch([1.5], [1], atol: 0.5, rtol: 0))
        XCTAssertNotNil(Closeness.mismatch([Float(1.5).nextUp], [1], atol: 0.5, rtol: 0))
        // Under an exact tolerance only equal values pass.
        XCTAssertNotNil(Closeness.mismatch([Float(1).nextUp], [1], atol: 0, rtol: 0))
        XCTAssertEqual(Tolerance.exact.usage(Double(Float(1).nextUp), 1), .infinity)
    }

    func testTheWorstElementIsReported() {
        let m = Closeness.mismatch([0, 1.5, 3, 10], [0, 1, 2, 3], atol: 0.25, rtol: 0)
        XCTAssertEqual(m?.index, 3, "7 over a bound of 0.25 is the worst")
        XCTAssertEqual(m?.usage, 28)
        XCTAssertNil(Closeness.mismatch([1, 2], [1, 2, 3], atol: 1, rtol: 0)?.index, "a count mismatch has no element")
        XCTAssertNotNil(Closeness.mismatch([1, 2], [1, 2, 3], atol: 1, rtol: 0))
        XCTAssertTrue(Closeness.largestAbsoluteDifference([1, .nan], [1, 1]).isNaN, "max never hides a NaN")
        XCTAssertEqual(Closeness.largestAbsoluteDifference([1, 4], [1, 1]), 3)
    }

    func testUlpError() {
        XCTAssertEqual(Closeness.ulpError(Float(1).nextUp, 1), 1)
        XCTAssertEqual(Closeness.ulpError(.nan, 1), .infinity)
        XCTAssertEqual(Closeness.ulpError(.nan, .nan), 0)
        XCTAssertEqual(Closeness.ulpError(.infinity, 3e38), .infinity)
    }
}
