/// The per-step buffers of `TrainingStep` (centred input, reconstruction, output gradient,
/// code gradients), kept across steps so that a step allocates and page-faults nothing for
/// them. Between steps their contents mean nothing: every step overwrites what it reads.
final class TrainingWorkspace {
    enum Slot: Int, CaseIterable { case xc, xHat, g, dpre }

    private var buffers = [[Float]](repeating: [], count: Slot.allCases.count)

    /// Takes a slot's buffer out, `count` Floats long (reallocated, zeroed, only when its size
    /// changes); hand it back with `give`.
    func take(_ slot: Slot, count: Int) -> [Float] {
        var buffer: [Float] = []
        swap(&buffer, &buffers[slot.rawValue])
        if buffer.count != count { buffer = [Float](repeating: 0, count: count) }
        return buffer
    }

    func give(_ buffer: [Float], _ slot: Slot) {
        buffers[slot.rawValue] = buffer
    }
}
