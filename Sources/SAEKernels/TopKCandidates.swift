/// Streaming row-wise top-k: each row's `k` largest values gathered from the tiles of a
/// GEMM output as the micro-kernel produces them, so the dense `rows x n` result is never
/// written to memory (`GEMMEpilogue.rowTopK`).
///
/// Every row keeps a candidate list and a threshold `t` (initially `-inf`). A tile row is
/// looked at only when its maximum (taken by the micro-kernel in registers) exceeds `t`,
/// and only values `v > t` enter. When the list is nearly full it is compacted to the row's
/// best `k` so far, and `t` becomes the k-th of them. Columns arrive in increasing order, so
/// a later value equal to `t` has a larger index than the entry holding `t` and would lose
/// the tie: dropping it is exact. `finish` then yields, per row, the `k` largest values
/// ordered by decreasing value, ties broken by the lower index: exactly what `TopK.select`
/// returns on the dense result (a zero is returned as +0).
///
/// A candidate is one `UInt64` key: the value's bits mapped to an order-preserving unsigned
/// integer (after `v + 0`, so -0 and +0 tie as they compare), then the inverted column index.
/// Keys are distinct and compare in selection order, so compaction is a branch-free
/// quickselect on integers.
///
/// Rows are independent, and the GEMM gives each row to one thread, which offers its tiles
/// in increasing column order; the result does not depend on the thread count. NaN values
/// never enter (a row whose maximum is NaN may lose the other values of that tile row); a
/// row left with fewer than `k` candidates is padded with NaN values at index 0.
package final class TopKCandidates {
    /// Rows and columns of the GEMM output this collects from.
    package let rows: Int
    package let width: Int
    package let k: Int
    /// Candidate slots per row: room for the best `k` plus a run of tiles between compactions.
    let capacity: Int
    /// The widest tile offered (the micro-kernels' `nr` is 16 or 32).
    static let maxTileWidth = 32
    /// Per row: the value a new entry must exceed.
    let threshold: UnsafeMutablePointer<Float>
    let count: UnsafeMutablePointer<Int32>
    /// `rows x capacity` keys.
    let keys: UnsafeMutablePointer<UInt64>

    /// Storage for `rows` rows of a `width`-column output, selecting `k` per row.
    package init(rows: Int, width: Int, k: Int) {
        precondition(rows >= 0 && width >= 0, "TopKCandidates: bad shape rows=\(rows) width=\(width)")
        precondition(k >= 1 && k <= width, "TopKCandidates: k=\(k) must be in 1...\(width)")
        precondition(width <= Int(Int32.max), "TopKCandidates: width \(width) too large for Int32 indices")
        self.rows = rows
        self.width = width
        self.k = k
        capacity = k + max(k, 64)
        threshold = .allocate(capacity: max(1, rows))
        count = .allocate(capacity: max(1, rows))
        keys = .allocate(capacity: max(1, rows * capacity))
        reset()
    }

    deinit {
        threshold.deallocate()
        count.deallocate()
        keys.deallocate()
    }

    /// Empties every row (the GEMM calls this before its first tile is offered).
    package func reset() {
        threshold.initialize(repeating: -.infinity, count: max(1, rows))
        count.initialize(repeating: 0, count: max(1, rows))
    }

    /// Writes the top `k` of rows `0 ..< rows` (the GEMM's m) to `indices`/`values`
    /// (`rows x k`), ordered by decreasing value then increasing index; with `relu`, the
    /// written values are `max(v, 0)`.
    package func finish(rows: Int, relu: Bool, indices outIndices: UnsafeMutablePointer<Int32>,
                       values outValues: UnsafeMutablePointer<Float>, threads: Int = Parallel.defaultThreads) {
        precondition(rows >= 0 && rows <= self.rows, "TopKCandidates.finish: \(rows) rows of \(self.rows)")
        let k = k
        Parallel.forRanges(rows, threads: rows * k < 1 << 14 ? 1 : threads) { range in
            for r in range {
                let row = keys + r * capacity
                var c = Int(count[r])
                if c > k {
                    Self.partitionBest(row, count: c, k: k)
                    c = k
                }
                var sorted = UnsafeMutableBufferPointer(start: row, count: c)
                sorted.sort(by: >)
                let vo = outValues + r * k, io = outIndices + r * k
                for e in 0..<k {
                    let value = e < c ? Self.value(row[e]) : Float.nan
                    vo[e] = relu && value < 0 ? 0 : value
                    io[e] = e < c ? Self.index(row[e]) : 0
                }
            }
        }
    }

    /// The per-row storage as plain pointers, for the GEMM's tile loop (no reference
    /// counting there); valid while this object lives.
    var rowsState: Rows {
        Rows(rowCount: rows, width: width, k: k, capacity: capacity, threshold: threshold, count: count, keys: keys)
    }

    struct Rows {
        let rowCount: Int, width: Int, k: Int, capacity: Int
        let threshold: UnsafeMutablePointer<Float>
        let count: UnsafeMutablePointer<Int32>
        let keys: UnsafeMutablePointer<UInt64>

        /// Whether any of the tile's rows has a value above its threshold (the common "no"
        /// is answered without a call).
        @inline(__always)
        func anyAbove(row: Int, tileRows: Int, rowMaxima: UnsafePointer<Float>) -> Bool {
            var i = 0
            while i < tileRows {
                if rowMaxima[i] > threshold[row + i] { return true }
                i += 1
            }
            return false
        }

        /// Offers the `tileRows x tileCols` values at `tile` (leading dimension `ld`), which are
        /// output rows `row ..< row + tileRows`, columns `col ..< col + tileCols`; `rowMaxima[i]`
        /// is the maximum of tile row `i`.
        func offer(_ tile: UnsafePointer<Float>, ld: Int, row: Int, tileRows: Int, col: Int, tileCols: Int,
                   rowMaxima: UnsafePointer<Float>) {
            assert(row >= 0 && row + tileRows <= rowCount && col >= 0 && col + tileCols <= width
                   && tileCols <= TopKCandidates.maxTileWidth, "TopKCandidates.offer: tile outside the output")
            for i in 0..<tileRows where rowMaxima[i] > threshold[row + i] {
                let r = row + i, p = tile + i * ld, t = threshold[r]
                let out = keys + r * capacity
                var c = Int(count[r])
                var bits = TopKCandidates.aboveMask(p, tileCols, t)
                while bits != 0 {
                    let j = bits.trailingZeroBitCount
                    out[c] = TopKCandidates.key(p[j], col + j)
                    c += 1
                    bits &= bits - 1
                }
                if c > capacity - TopKCandidates.maxTileWidth {
                    TopKCandidates.partitionBest(out, count: c, k: k)
                    c = k
                    var worst = out[0]
                    for e in 1..<k where out[e] < worst { worst = out[e] }
                    threshold[r] = TopKCandidates.value(worst)
                }
                count[r] = Int32(truncatingIfNeeded: c)
            }
        }
    }

    // MARK: - Keys

    /// Bit `j` set when `p[j] > t`, for `j < n <= 32`.
    @inline(__always)
    static func aboveMask(_ p: UnsafePointer<Float>, _ n: Int, _ t: Float) -> UInt32 {
        let lanes = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128), zero = SIMD8<Int32>(), tv = SIMD8<Float>(repeating: t)
        var bits: UInt32 = 0, j = 0
        while j + 8 <= n {
            let v = SIMDMath.load(p + j)
            let m = zero.replacing(with: lanes, where: v .> tv)
            let a = m.lowHalf | m.highHalf, b = a.lowHalf | a.highHalf
            bits |= UInt32(truncatingIfNeeded: b[0] | b[1]) << UInt32(j)
            j += 8
        }
        while j < n {
            if p[j] > t { bits |= 1 << UInt32(j) }
            j += 1
        }
        return bits
    }

    /// The selection-order key of value `v` at column `j`.
    @inline(__always)
    static func key(_ v: Float, _ j: Int) -> UInt64 {
        let bits = (v + 0).bitPattern
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(ordered) << 32 | UInt64(UInt32.max - UInt32(truncatingIfNeeded: j))
    }

    @inline(__always)
    static func value(_ key: UInt64) -> Float {
        let ordered = UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7FFF_FFFF : ~ordered)
    }

    @inline(__always)
    static func index(_ key: UInt64) -> Int32 {
        Int32(bitPattern: UInt32.max - UInt32(truncatingIfNeeded: key))
    }

    /// Reorders `count` distinct keys so the `k` largest come first, in any order
    /// (quickselect, median-of-three pivots, branch-free partition).
    static func partitionBest(_ keys: UnsafeMutablePointer<UInt64>, count: Int, k: Int) {
        @inline(__always) func swapAt(_ a: Int, _ b: Int) {
            let t = keys[a]; keys[a] = keys[b]; keys[b] = t
        }
        var lo = 0, hi = count - 1
        while lo < hi {
            // Median of three to keys[hi] as the pivot.
            let mid = lo + (hi - lo) / 2
            if keys[mid] > keys[lo] { swapAt(mid, lo) }
            if keys[hi] > keys[lo] { swapAt(hi, lo) }
            if keys[mid] > keys[hi] { swapAt(mid, hi) }
            let pivot = keys[hi]
            // Keys above the pivot to the front (Lomuto; the swap is unconditional).
            var store = lo
            for e in lo..<hi {
                let x = keys[e]
                keys[e] = keys[store]
                keys[store] = x
                store += x > pivot ? 1 : 0
            }
            swapAt(store, hi)
            // lo..<store are above the pivot at `store`; the rest are below it.
            if store == k - 1 || store == k { return }
            if store > k { hi = store - 1 } else { lo = store + 1 }
        }
    }
}
