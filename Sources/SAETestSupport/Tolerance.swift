/// How close a computed value must be to the value it should equal, and what "close"
/// means when either is not a finite number.
///
/// A value `got` is close to its expected value `want` when
///
///     want finite:    got finite  and  |got - want| <= atol + rtol * |want|
///     want NaN:       got is NaN
///     want ±infinity: got == want
///
/// So a NaN or an infinity where a finite value is expected always fails, whatever the
/// tolerance; `-0` and `+0` are close (their difference is 0); the bound itself is
/// inclusive (`|got - want| == atol + rtol * |want|` passes). `atol` is the absolute
/// part (it carries values near zero), `rtol` the relative part; `want` is the reference,
/// so the relation is not symmetric. Differences are taken in Double.
package struct Tolerance: Sendable, Equatable, CustomStringConvertible {
    /// The absolute part of the bound.
    package var atol: Double
    /// The relative part of the bound, a multiple of `|want|`.
    package var rtol: Double

    /// `atol` and `rtol` must be finite and nonnegative.
    package init(atol: Double = 0, rtol: Double = 0) {
        precondition(atol.isFinite && atol >= 0 && rtol.isFinite && rtol >= 0,
                     "Tolerance: atol and rtol must be finite and nonnegative, got atol \(atol), rtol \(rtol)")
        self.atol = atol
        self.rtol = rtol
    }

    /// nil unless `atol` and `rtol` are finite and nonnegative (for tolerances computed
    /// from data, which a NaN can reach).
    package init?(validating atol: Double, rtol: Double) {
        guard atol.isFinite && atol >= 0 && rtol.isFinite && rtol >= 0 else { return nil }
        self.init(atol: atol, rtol: rtol)
    }

    /// Equal values only (`-0` and `+0` still count as equal).
    package static let exact = Tolerance()

    /// `atol + rtol * |want|`, the largest `|got - want|` allowed for a finite `want`.
    package func bound(for want: Double) -> Double { atol + rtol * Swift.abs(want) }

    /// Whether `got` is close to `want` (the rules above).
    package func accepts(_ got: Double, _ want: Double) -> Bool {
        if want.isNaN { return got.isNaN }
        if want.isInfinite { return got == want }
        return got.isFinite && Swift.abs(got - want) <= bound(for: want)
    }

    /// How much of the tolerance `got` uses: `|got - want| / bound` (0 when equal, above 1
    /// when not close, infinity for a non-finite mismatch or any difference under an
    /// exact tolerance).
    package func usage(_ got: Double, _ want: Double) -> Double {
        if !want.isFinite || !got.isFinite { return accepts(got, want) ? 0 : .infinity }
        let difference = Swift.abs(got - want)
        if difference == 0 { return 0 }
        let b = bound(for: want)
        return b > 0 ? difference / b : .infinity
    }

    package var description: String { "atol \(atol) + rtol \(rtol) * |want|" }
}
