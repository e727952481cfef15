import Foundation

/// Aligned scratch buffers reused across kernel calls (packed GEMM panels, temporaries).
///
/// `withScratch(count:)` lends a 64-byte aligned buffer of at least `count` Floats for the
/// duration of the closure; buffers go back to a small lock-protected pool, so steady-state
/// calls allocate nothing. Contents are uninitialised: callers write before they read.
package enum ScratchPool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private static let maxPooled = 16

    package static func withScratch<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let needed = max(16, count)
        var taken: (pointer: UnsafeMutablePointer<Float>, capacity: Int)?
        lock.lock()
        if let i = free.firstIndex(where: { $0.capacity >= needed }) {
            taken = free.remove(at: i)
        }
        lock.unlock()
        let buffer = taken ?? {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: needed * 4, alignment: 64)
            return (raw.bindMemory(to: Float.self, capacity: needed), needed)
        }()
        defer {
            lock.lock()
            if free.count < maxPooled {
                free.append(buffer)
            } else if let smallest = free.indices.min(by: { free[$0].capacity < free[$1].capacity }),
                      free[smallest].capacity < buffer.capacity {
                free[smallest].pointer.deallocate()
                free[smallest] = buffer
            } else {
                buffer.pointer.deallocate()
            }
            lock.unlock()
        }
        return try body(buffer.pointer)
    }
}
