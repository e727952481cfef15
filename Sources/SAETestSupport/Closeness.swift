/// Element-by-element comparison of computed values with expected ones under a
/// `Tolerance` (see there for the rule, including NaN and infinities), reporting the
/// element farthest outside its bound. Returns a description of the failure instead of
/// failing itself, so tests (through `SAETestAssertions`) and `sae-bench` can both use it.
package enum Closeness {
    /// One failed comparison: the worst element, a count mismatch or a tolerance that is
    /// not a finite nonnegative number.
    package struct Mismatch: Sendable, CustomStringConvertible {
        /// Index of the worst element (nil for a count mismatch).
        package var index: Int?
        package var got: Double
        package var want: Double
        /// `|got - want| / bound` at `index` (infinity for a non-finite mismatch).
        package var usage: Double
        /// The element's tolerance (nil when it was not finite and nonnegative).
        package var tolerance: Tolerance?
        /// `atol` and `rtol` as given, for the message when `tolerance` is nil.
        package var given: (atol: Double, rtol: Double)
        /// Element counts of `got` and `want`.
        package var count: (got: Int, want: Int)

        package var description: String {
            guard let index else { return "\(count.got) values, want \(count.want)" }
            guard let tolerance else {
                return "element \(index): tolerance atol \(given.atol), rtol \(given.rtol) is not finite and nonnegative"
            }
            let excess = usage.isFinite ? "\(usage)x the tolerance" : "not within any tolerance"
            return "element \(index) of \(count.got) is \(got), want \(want): \(excess) (\(tolerance))"
        }
    }

    /// The worst element of `got` not close to `want` (elementwise, `atol(i) + rtol |want[i]|`),
    /// or nil when every element is close and the counts agree.
    package static func mismatch(
        count gotCount: Int, _ got: (Int) -> Double, wantCount: Int, _ want: (Int) -> Double,
        atol: (Int) -> Double, rtol: Double
    ) -> Mismatch? {
        guard gotCount == wantCount else {
            return Mismatch(index: nil, got: .nan, want: .nan, usage: .infinity, tolerance: nil, given: (.nan, rtol),
                            count: (gotCount, wantCount))
        }
        var worst: Mismatch? = nil
        for i in 0..<gotCount {
            let g = got(i), w = want(i), a = atol(i)
            guard let tolerance = Tolerance(validating: a, rtol: rtol) else {
                return Mismatch(index: i, got: g, want: w, usage: .infinity, tolerance: nil, given: (a, rtol),
                                count: (gotCount, wantCount))
            }
            if tolerance.accepts(g, w) { continue }
            let usage = tolerance.usage(g, w)
            if worst == nil || usage > worst!.usage {
                worst = Mismatch(index: i, got: g, want: w, usage: usage, tolerance: tolerance, given: (a, rtol),
                                 count: (gotCount, wantCount))
                if usage == .infinity { break }  // nothing is worse than a non-finite mismatch
            }
        }
        return worst
    }

    /// `mismatch` for arrays with one tolerance for every element.
    package static func mismatch(_ got: [Float], _ want: [Double], atol: Double, rtol: Double) -> Mismatch? {
        mismatch(count: got.count, { Double(got[$0]) }, wantCount: want.count, { want[$0] }, atol: { _ in atol }, rtol: rtol)
    }

    /// `mismatch` for one value (reported as element 0 of 1).
    package static func mismatch(_ got: Double, _ want: Double, atol: Double, rtol: Double) -> Mismatch? {
        mismatch(count: 1, { _ in got }, wantCount: 1, { _ in want }, atol: { _ in atol }, rtol: rtol)
    }

    /// `mismatch` for arrays with an absolute tolerance per element.
    package static func mismatch(_ got: [Float], _ want: [Double], atol: (Int) -> Double, rtol: Double) -> Mismatch? {
        mismatch(count: got.count, { Double(got[$0]) }, wantCount: want.count, { want[$0] }, atol: atol, rtol: rtol)
    }

    /// The largest `|got - want| / bound` over the elements (what fraction of the tolerance
    /// the worst element uses; infinity for any non-finite mismatch, a count mismatch or
    /// an invalid tolerance).
    package static func largestUsage(_ got: [Float], _ want: [Double], atol: Double, rtol: Double) -> Double {
        guard got.count == want.count, let tolerance = Tolerance(validating: atol, rtol: rtol) else { return .infinity }
        var worst = 0.0
        for i in got.indices { worst = Swift.max(worst, tolerance.usage(Double(got[i]), want[i])) }
        return worst
    }

    /// The largest `|got[i] - want[i]|` (NaN when any difference is NaN: a NaN is never
    /// hidden by `max`), for printing measured agreement.
    package static func largestAbsoluteDifference(_ got: [Float], _ want: [Float]) -> Float {
        precondition(got.count == want.count, "Closeness.largestAbsoluteDifference: \(got.count) vs \(want.count) values")
        var worst: Float = 0
        for i in got.indices {
            let d = Swift.abs(got[i] - want[i])
            if d.isNaN { return .nan }
            worst = Swift.max(worst, d)
        }
        return worst
    }

    /// `|got - want|` in units of the Float spacing at `want` (the subnormal spacing at
    /// least): 0 for matching NaNs or equal infinities, infinity for any other non-finite pair.
    package static func ulpError(_ got: Float, _ want: Double) -> Double {
        if got.isNaN || want.isNaN { return got.isNaN && want.isNaN ? 0 : .infinity }
        if got.isInfinite || want.isInfinite { return Double(got) == want ? 0 : .infinity }
        let spacing = Double(Swift.max(Float(want).magnitude.ulp, Float.leastNonzeroMagnitude))
        return Swift.abs(Double(got) - want) / spacing
    }

    /// The first index where `got` and `want` differ in bits (so NaN == NaN and
    /// `-0 != +0`), `-1` for a count mismatch, nil when they are the same.
    package static func firstBitwiseDifference(_ got: [Float], _ want: [Float]) -> Int? {
        guard got.count == want.count else { return -1 }
        return got.indices.first { got[$0].bitPattern != want[$0].bitPattern }
    }
}
