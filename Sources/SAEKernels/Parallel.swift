import Dispatch
import Foundation

/// How work is split over cores.
///
/// Every multithreaded kernel takes a `threads` argument (default `Parallel.defaultThreads`)
/// and splits its outer loop into that many contiguous, equal parts with
/// `DispatchQueue.concurrentPerform`. Parts are fixed by the shape and the thread count
/// only, and each part writes its own outputs, so results never depend on scheduling.
public enum Parallel {
    /// The number of threads kernels use when not told: `SAE_THREADS` from the
    /// environment if set to a positive integer, else the active processor count.
    public static let defaultThreads: Int = {
        if let s = ProcessInfo.processInfo.environment["SAE_THREADS"], let n = Int(s), n > 0 {
            return n
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body(part)` for `part` in `0..<parts`, concurrently when `parts > 1`.
    @inlinable
    public static func run(parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 {
            if parts == 1 { body(0) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }

    /// Splits `0..<count` into `parts` contiguous ranges whose starts are multiples of
    /// `granule` (except that the last range ends at `count`), and runs `body` on each
    /// non-empty range concurrently. Uses at most `threads` parts and never more parts
    /// than granules.
    @inlinable
    public static func forRanges(
        _ count: Int, threads: Int, granule: Int = 1, _ body: (Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let granules = (count + granule - 1) / granule
        let parts = max(1, min(threads, granules))
        if parts == 1 { body(0..<count); return }
        run(parts: parts) { p in
            let lo = min(count, (granules * p / parts) * granule)
            let hi = min(count, (granules * (p + 1) / parts) * granule)
            if lo < hi { body(lo..<hi) }
        }
    }
}
