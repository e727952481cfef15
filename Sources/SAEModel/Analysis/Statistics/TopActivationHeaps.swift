/// Per-feature bounded min-heaps of the largest activations seen, in flat storage.
///
/// Feature `j` owns slots `j * capacity ..< (j + 1) * capacity` of `values` and `rows`
/// (a binary min-heap on `values`, `count[j]` slots in use). Offering `(v, row)` to a full
/// heap replaces its minimum when `v > min` (strictly: among equal activations the earliest
/// row stays). Each offer costs O(log capacity). Features are independent, so updates of
/// disjoint features may run on different threads (through `offer(into:...)`).
struct TopActivationHeaps: Sendable {
    let features: Int
    let capacity: Int
    var values: [Float]
    var rows: [Int]
    var count: [Int]

    init(features: Int, capacity: Int) {
        precondition(capacity >= 1, "TopActivationHeaps: capacity must be >= 1")
        self.features = features
        self.capacity = capacity
        values = [Float](repeating: 0, count: features * capacity)
        rows = [Int](repeating: 0, count: features * capacity)
        count = [Int](repeating: 0, count: features)
    }

    /// Offers `(value, row)` to the heap at `values`/`rows` (one feature's slots) holding
    /// `count` entries.
    @inline(__always)
    static func offer(_ value: Float, row: Int, values: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Int>,
                      count: inout Int, capacity: Int) {
        if count < capacity {
            // Sift up.
            var i = count
            count += 1
            while i > 0 {
                let parent = (i - 1) / 2
                if values[parent] <= value { break }
                values[i] = values[parent]; rows[i] = rows[parent]
                i = parent
            }
            values[i] = value; rows[i] = row
            return
        }
        guard value > values[0] else { return }
        // Replace the minimum and sift down.
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            var smallestValue = value
            if l < count && values[l] < smallestValue { smallest = l; smallestValue = values[l] }
            if r < count && values[r] < smallestValue { smallest = r; smallestValue = values[r] }
            if smallest == i { break }
            values[i] = values[smallest]; rows[i] = rows[smallest]
            i = smallest
        }
        values[i] = value; rows[i] = row
    }

    /// Feature `j`'s entries, largest activation first (ties: earlier row first).
    func sorted(_ j: Int) -> [(value: Float, row: Int)] {
        let base = j * capacity
        return (0..<count[j]).map { (values[base + $0], rows[base + $0]) }
            .sorted { $0.value > $1.value || ($0.value == $1.value && $0.row < $1.row) }
    }
}
