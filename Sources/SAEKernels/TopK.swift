/// Row-wise top-k selection.
///
/// For each row of a `rows x n` matrix, the `k` largest values and their column indices,
/// ordered by decreasing value, ties broken by the lower index (so the choice is unique and
/// identical to `Reference.topK`). With `relu`, the kept values are `max(v, 0)` (the indices
/// are still those of the k largest pre-activations).
///
/// A size-k min-heap holds the current best; the rest of the row is scanned eight at a time
/// against the heap's minimum, and only lanes above it touch the heap. Random rows update the
/// heap about `k ln(n / k)` times, so the cost is close to one vector compare per 8 values.
public enum TopK {
    public static func select(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, ld: Int? = nil, k: Int, relu: Bool = false,
        indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>,
        threads: Int = Parallel.defaultThreads
    ) {
        let ld = ld ?? n
        precondition(rows >= 0 && n >= 0 && ld >= n, "TopK: bad shape rows=\(rows) n=\(n) ld=\(ld)")
        precondition(k >= 0 && k <= n, "TopK: k=\(k) must be in 0...\(n)")
        precondition(n <= Int(Int32.max), "TopK: width \(n) too large for Int32 indices")
        if rows == 0 || k == 0 { return }
        let perRowCost = n + 64
        let t = rows * perRowCost < 1 << 16 ? 1 : threads
        Parallel.forRanges(rows, threads: t) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { hv in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: k) { hi in
                    for r in range {
                        selectRow(x + r * ld, n: n, k: k, heapValues: hv.baseAddress!, heapIndices: hi.baseAddress!)
                        sortDescending(hv.baseAddress!, hi.baseAddress!, k)
                        let vo = values + r * k, io = indices + r * k
                        for e in 0..<k {
                            vo[e] = relu ? max(hv[e], 0) : hv[e]
                            io[e] = hi[e]
                        }
                    }
                }
            }
        }
    }

    /// `a` ranks below `b` in the selection order (smaller value, or equal value and larger index).
    @inline(__always)
    static func below(_ av: Float, _ ai: Int32, _ bv: Float, _ bi: Int32) -> Bool {
        av < bv || (av == bv && ai > bi)
    }

    /// Fills the heap (min at the root, in `below` order) with the row's top k.
    static func selectRow(_ row: UnsafePointer<Float>, n: Int, k: Int,
                          heapValues hv: UnsafeMutablePointer<Float>, heapIndices hi: UnsafeMutablePointer<Int32>) {
        for e in 0..<k { hv[e] = row[e]; hi[e] = Int32(e) }
        // Heapify.
        var s = k / 2 - 1
        while s >= 0 { siftDown(hv, hi, k, s); s -= 1 }
        @inline(__always) func offer(_ j: Int) {
            let v = row[j]
            // Later indices lose ties, so only strictly larger values enter.
            if v > hv[0] {
                hv[0] = v; hi[0] = Int32(j)
                siftDown(hv, hi, k, 0)
            }
        }
        var j = k
        while j < n && j % 8 != 0 { offer(j); j += 1 }
        while j + 8 <= n {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
            if any(v .> SIMD8(repeating: hv[0])) {
                for l in 0..<8 { offer(j + l) }
            }
            j += 8
        }
        while j < n { offer(j); j += 1 }
    }

    @inline(__always)
    static func siftDown(_ hv: UnsafeMutablePointer<Float>, _ hi: UnsafeMutablePointer<Int32>, _ count: Int, _ start: Int) {
        var i = start
        let v = hv[i], idx = hi[i]
        while true {
            let l = 2 * i + 1
            if l >= count { break }
            var c = l
            let r = l + 1
            if r < count && below(hv[r], hi[r], hv[l], hi[l]) { c = r }
            if below(hv[c], hi[c], v, idx) {
                hv[i] = hv[c]; hi[i] = hi[c]; i = c
            } else { break }
        }
        hv[i] = v; hi[i] = idx
    }

    /// Sorts k entries by decreasing value, then increasing index (insertion sort for small k,
    /// heap sort beyond).
    static func sortDescending(_ hv: UnsafeMutablePointer<Float>, _ hi: UnsafeMutablePointer<Int32>, _ k: Int) {
        // The array is a min-heap: popping the minimum to the back yields descending order.
        var count = k
        while count > 1 {
            let v = hv[0], i = hi[0]
            count -= 1
            hv[0] = hv[count]; hi[0] = hi[count]
            hv[count] = v; hi[count] = i
            siftDown(hv, hi, count, 0)
        }
    }
}
