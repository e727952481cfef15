import SAEKernels

/// A shuffled buffer of activation rows between a source and the trainer, so that a batch
/// rarely holds tokens of the same sequence.
///
/// It holds `capacity` rows. Filled from the source and shuffled at start; batches are served
/// in the shuffled order; once half the rows have been served, their slots are refilled from
/// the source and the whole buffer is reshuffled (as SAELens's mixing buffer does). The
/// shuffle uses the buffer's own seeded generator, so the order is reproducible.
package struct ActivationBuffer: Sendable {
    package let dIn: Int
    package let capacity: Int
    /// Row storage, `capacity x dIn`.
    package var rows: [Float]
    /// The serving order (a permutation of the filled slots) and the next position in it.
    package var order: [Int32]
    package var position: Int
    /// Slots holding data (equal to capacity once the source has filled it).
    package var filled: Int
    package var rng: SeededRandom
    package var sourceExhausted = false

    package init(dIn: Int, capacity: Int, seed: UInt64) {
        precondition(dIn > 0 && capacity >= 2, "ActivationBuffer: bad shape dIn=\(dIn) capacity=\(capacity)")
        self.dIn = dIn
        self.capacity = capacity
        rows = [Float](repeating: 0, count: dIn * capacity)
        order = []
        position = 0
        filled = 0
        rng = SeededRandom(seed: seed ^ 0xB0FF_E125_7A11_D00D)
    }

    /// Copies the next `count` rows into `batch` (row-major) on `threads` threads; refills and
    /// reshuffles when half the buffer has been served. Returns false when the source cannot
    /// supply a full batch.
    package mutating func nextBatch<S: ActivationSource>(
        into batch: UnsafeMutablePointer<Float>, count: Int, from source: inout S, threads: Int = 1
    ) throws -> Bool {
        precondition(count <= capacity / 2, "ActivationBuffer: batch \(count) larger than half the buffer (\(capacity))")
        if filled == 0 || position + count > (sourceExhausted ? order.count : capacity / 2) {
            try refill(from: &source)
            if order.count < count { return false }
        }
        let dIn = dIn, start = position
        rows.withUnsafeBufferPointer { r in order.withUnsafeBufferPointer { o in
            // A gather of whole rows: memory-bound, so worth a second thread on a full batch.
            Parallel.forRanges(count, threads: count * dIn >= 1 << 18 ? threads : 1) { range in
                for b in range {
                    let slot = Int(o[start + b])
                    (batch + b * dIn).update(from: r.baseAddress! + slot * dIn, count: dIn)
                }
            }
        }}
        position += count
        return true
    }

    /// Refills the served slots (or everything, at start), then reshuffles the filled slots.
    mutating func refill<S: ActivationSource>(from source: inout S) throws {
        // Slots to fill: the served ones, or all of them before the first fill.
        var empty: [Int32] = filled == 0 ? (0..<capacity).map(Int32.init) : Array(order[0..<position])
        var kept: [Int32] = filled == 0 ? [] : Array(order[position...])
        if !sourceExhausted {
            // Fill runs of consecutive empty slots straight from the source; a source may hand
            // out fewer rows than asked, and only 0 means it is exhausted.
            empty.sort()
            var next = 0
            try rows.withUnsafeMutableBufferPointer { r in
                fill: while next < empty.count {
                    var run = 1
                    while next + run < empty.count && empty[next + run] == empty[next] + Int32(run) { run += 1 }
                    var done = 0
                    while done < run {
                        let start = Int(empty[next]) + done
                        let got = try source.fill(r.baseAddress! + start * dIn, maxRows: run - done)
                        if got == 0 { sourceExhausted = true; break fill }
                        precondition(got <= run - done, "ActivationSource wrote \(got) rows, more than the \(run - done) asked")
                        kept.append(contentsOf: (start..<(start + got)).map(Int32.init))
                        done += got
                    }
                    next += run
                }
            }
        }
        kept.sort()
        filled = kept.count
        // Fisher-Yates with the buffer's generator.
        if kept.count > 1 {
            for i in stride(from: kept.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                kept.swapAt(i, j)
            }
        }
        order = kept
        position = 0
    }
}
