import SAEKernels

/// Per-feature uniform samples of all firing events (reservoir sampling, Vitter's
/// Algorithm R), in flat storage, deterministic in the seed.
///
/// Feature `j` owns slots `j * capacity ..< (j + 1) * capacity`. Its `n`-th firing event
/// (`n` counted from 0) fills slot `n` while `n < capacity`; after that it replaces slot
/// `r = uniform(0...n)` when `r < capacity`. So after `N` events each one is in the sample
/// with probability `capacity / N`. Each feature draws from its own stream
/// (`SeededRandom.stream(seed:index: j)`), so results do not depend on how features are
/// split over threads.
struct ActivationReservoirs: Sendable {
    let features: Int
    let capacity: Int
    var values: [Float]
    var rows: [Int]
    /// Events offered to each feature so far.
    var seen: [Int]
    /// Each feature's generator state.
    var state: [UInt64]

    init(features: Int, capacity: Int, seed: UInt64) {
        precondition(capacity >= 1, "ActivationReservoirs: capacity must be >= 1")
        self.features = features
        self.capacity = capacity
        values = [Float](repeating: 0, count: features * capacity)
        rows = [Int](repeating: 0, count: features * capacity)
        seen = [Int](repeating: 0, count: features)
        state = (0..<features).map { SeededRandom.stream(seed: seed, index: UInt64($0)).state }
    }

    @inline(__always)
    static func offer(_ value: Float, row: Int, values: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Int>,
                      seen: inout Int, state: inout UInt64, capacity: Int) {
        if seen < capacity {
            values[seen] = value; rows[seen] = row
        } else {
            var rng = SeededRandom(seed: 0)
            rng.state = state
            let r = rng.int(below: seen + 1)
            state = rng.state
            if r < capacity { values[r] = value; rows[r] = row }
        }
        seen += 1
    }

    /// Feature `j`'s sample, largest activation first.
    func sorted(_ j: Int) -> [(value: Float, row: Int)] {
        let base = j * capacity
        return (0..<min(seen[j], capacity)).map { (values[base + $0], rows[base + $0]) }
            .sorted { $0.value > $1.value || ($0.value == $1.value && $0.row < $1.row) }
    }
}
