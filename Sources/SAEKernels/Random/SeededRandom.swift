import Foundation

/// A small, fast, seeded pseudo-random generator (SplitMix64, Steele, Lea & Flood 2014).
///
/// The whole state is one `UInt64` (`state`), so a stream can be saved in a checkpoint and
/// resumed exactly: `var r2 = SeededRandom(seed: 0); r2.state = r1.state` continues `r1`'s
/// stream. The same seed gives the same stream on every platform and thread count.
///
/// `next()` is: `state += 0x9E3779B97F4A7C15; z = state;
/// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
/// return z ^ (z >> 31)` (wrapping arithmetic). Conforms to `RandomNumberGenerator`, so it
/// drives `shuffle(using:)` and `Int.random(in:using:)` too.
package struct SeededRandom: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's entire state (the SplitMix64 counter).
    package var state: UInt64

    /// A generator whose stream is fixed by `seed`.
    @inlinable
    package init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    @inlinable
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`: the top 24 bits of `next()` times 2⁻²⁴ (every value exact).
    @inlinable
    package mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in `[lo, hi)`.
    @inlinable
    package mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }

    /// Uniform in `[0, 1)` with 53 random bits.
    @inlinable
    package mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal sample (Box–Muller in Double, rounded to Float). Uses two draws
    /// and keeps no spare, so `state` alone captures the stream.
    @inlinable
    package mutating func normal() -> Float {
        let u1 = (Double(next() >> 11) + 1) * 0x1p-53  // (0, 1]
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// A normal sample with the given mean and standard deviation.
    @inlinable
    package mutating func normal(mean: Float, std: Float) -> Float { mean + std * normal() }

    /// A uniform integer in `0..<bound` (unbiased, Lemire's method via the standard library).
    @inlinable
    package mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "SeededRandom.int(below:): bound must be positive, got \(bound)")
        return Int.random(in: 0..<bound, using: &self)
    }

    /// A generator for sub-stream `index` of `seed`: streams for different indices are
    /// statistically independent (the pair is hashed through two SplitMix64 steps), so work
    /// split by index (per feature, per row) stays deterministic whatever the split.
    @inlinable
    package static func stream(seed: UInt64, index: UInt64) -> SeededRandom {
        var mixer = SeededRandom(seed: seed)
        let a = mixer.next()
        var mixer2 = SeededRandom(seed: a ^ (index &* 0xD1B5_4A32_D192_ED03))
        return SeededRandom(seed: mixer2.next())
    }
}
