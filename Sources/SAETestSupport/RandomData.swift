import SAEKernels

/// `n` independent normal samples times `scale`, drawn from `rng` (`SeededRandom.normal`).
package func randomArray(_ n: Int, _ rng: inout SeededRandom, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in rng.normal() * scale }
}

/// Fills `count` floats at `p` with `scale * u`, `u` uniform in `[-1, 1)` from
/// `SeededRandom(seed:)` (`sae-bench`'s inputs).
package func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, scale: Float = 1) {
    var rng = SeededRandom(seed: seed)
    for i in 0..<count { p[i] = rng.uniform(-1, 1) * scale }
}
