import Dispatch
import Foundation

/// Wall-clock timing: warm-up runs, then the median of timed runs.
enum Timing {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Median milliseconds of `body` over `repeats` runs after `warmup` runs; stops
    /// early once `budgetSeconds` of timed runs have passed (at least one timed run).
    static func medianMs(warmup: Int = 1, repeats: Int = 5, budgetSeconds: Double = 5,
                         _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        let start = now()
        for _ in 0..<max(1, repeats) {
            let t0 = now()
            body()
            samples.append(Double(now() - t0) / 1e6)
            if Double(now() - start) / 1e9 > budgetSeconds { break }
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}

/// Keeps a value alive so the optimiser cannot delete the work that made it.
@inline(never)
func blackHole<T>(_ x: T) { _ = x }
