import SAETestSupport

/// One benchmark: a kernel at a shape, its fast path and (optionally) its naive twin.
///
/// `work` is what one call does, in flops or bytes moved; GFLOP/s and GB/s come from it.
/// The naive twin may run on a smaller shape (`naiveShape`, `naiveWork`) so that it
/// finishes in seconds; the speed-up compares work per second on each side.
struct BenchCase {
    enum Work {
        case flops(Double)
        case bytes(Double)
        /// Tokens through a model: reported as tokens/s.
        case tokens(Double)
        var amount: Double { switch self { case .flops(let f): f; case .bytes(let b): b; case .tokens(let t): t } }
    }

    let kernel: String
    let shape: String
    let work: Work
    /// Shape of the naive run when it differs from `shape`.
    var naiveShape: String? = nil
    /// Work of one naive call (same unit as `work`).
    var naiveWork: Double? = nil
    /// Builds the inputs (outside the timed region) for a thread count.
    let setUp: (_ threads: Int) -> Runner

    var label: String { "\(kernel) \(shape)" }
}

/// The closures a case times; `keepAlive` holds the buffers they use.
struct Runner {
    let fast: () -> Void
    var naive: (() -> Void)? = nil
    /// Extra fields for the JSON line (e.g. measured L0).
    var extra: [String: Double] = [:]
    var keepAlive: [AnyObject] = []
    /// Extra fields read after the timed runs (e.g. the L0 the steps measured).
    var report: (() -> [String: Double])? = nil
}

/// A 64-byte aligned Float buffer filled with `scale * u`, `u` uniform in [-1, 1) from
/// `SeededRandom(seed:)` (`fillUniform`), or with `fill`.
final class Buffer {
    let count: Int
    let pointer: UnsafeMutablePointer<Float>

    init(_ count: Int, seed: UInt64 = 1, scale: Float = 1, fill: Float? = nil) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(1, count))
        if let fill {
            pointer.initialize(repeating: fill, count: max(1, count))
        } else {
            fillUniform(pointer, count: max(1, count), seed: seed, scale: scale)
        }
    }

    var const: UnsafePointer<Float> { UnsafePointer(pointer) }

    deinit { pointer.deallocate() }
}
