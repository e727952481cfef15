/// Row-wise top-k selection.
///
/// For each row of a `rows x n` matrix, the `k` largest values and their column indices,
/// ordered by decreasing value, ties broken by the lower index (so the choice is unique and
/// identical to `Reference.topK`). With `relu`, the kept values are `max(v, 0)` (the indices
/// are still those of the k largest pre-activations).
///
/// One vectorised pass takes each 32-value block's maximum; the k-th largest block maximum
/// bounds the k-th largest value from below, so only blocks at or above it (about k of
/// them) are offered to a size-k heap. The cost is close to one vector max per 8 values.
/// NaN values are not ordered; a row holding them still yields k entries, without a crash.
public enum TopK {
    /// `blockMaxima`, when given, holds each row's maxima of the aligned `blockWidth`-wide
    /// column blocks (`rows x ceil(n / blockWidth)`, as `GEMMEpilogue.rowBlockMaxima` writes
    /// them), and replaces the first pass.
    public static func select(
        _ x: UnsafePointer<Float>, rows: Int, n: Int, ld: Int? = nil, k: Int, relu: Bool = false,
        indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>,
        blockMaxima: UnsafePointer<Float>? = nil, blockWidth: Int = 32, blockMaximaLeadingDimension: Int? = nil,
        threads: Int = Parallel.defaultThreads
    ) {
        let ld = ld ?? n
        let blocks = (n + blockWidth - 1) / max(1, blockWidth)
        let ldm = blockMaximaLeadingDimension ?? blocks
        precondition(blockWidth >= 1 && (blockMaxima == nil || ldm >= blocks), "TopK: bad block maxima layout")
        precondition(blockMaxima != nil || blockWidth == 32, "TopK: computed block maxima are 32 wide")
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
                        selectRow(x + r * ld, n: n, k: k, heapValues: hv.baseAddress!, heapIndices: hi.baseAddress!,
                                  blockMaxima: blockMaxima.map { $0 + r * ldm }, blockWidth: blockWidth)
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

    // The standard library's `pointwiseMax`, `max()` and mutating `replace(with:where:)` are
    // generic calls in a release build; `replacing(with:where:)` on a comparison folds to vmaxps.
    @inline(__always)
    static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: a .< b) }

    @inline(__always)
    static func horizontalMaximum(_ v: SIMD8<Float>) -> Float {
        let h = v.lowHalf.replacing(with: v.highHalf, where: v.lowHalf .< v.highHalf)
        let q = h.lowHalf.replacing(with: h.highHalf, where: h.lowHalf .< h.highHalf)
        return q[0] < q[1] ? q[1] : q[0]
    }

    /// `a` ranks below `b` in the selection order (smaller value, or equal value and larger index).
    @inline(__always)
    static func below(_ av: Float, _ ai: Int32, _ bv: Float, _ bi: Int32) -> Bool {
        av < bv || (av == bv && ai > bi)
    }

    /// Fills the heap (min at the root, in `below` order) with the row's top k, exactly.
    ///
    /// Pass 1 takes the maximum of every block of 32 values (vector max trees), unless the
    /// caller computed the maxima already (e.g. in the GEMM epilogue). If k blocks
    /// have maxima >= T, at least k values are >= T, so no value below T is in the top k:
    /// pass 2 finds T, the k-th largest block maximum; pass 3 offers to the heap only the
    /// values of blocks whose maximum is >= T (about k blocks on typical rows).
    static func selectRow(_ row: UnsafePointer<Float>, n: Int, k: Int,
                          heapValues hv: UnsafeMutablePointer<Float>, heapIndices hi: UnsafeMutablePointer<Int32>,
                          blockMaxima given: UnsafePointer<Float>? = nil, blockWidth: Int = 32) {
        let block = blockWidth
        let blocks = (n + block - 1) / block
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks) { bm in
            let blockMax = bm.baseAddress!
            var b = 0
            if let given {
                blockMax.update(from: given, count: blocks)
                b = blocks
            }
            while (b + 1) * block <= n {
                let p = row + b * block
                let m = maximum(
                    maximum(SIMDMath.load(p), SIMDMath.load(p + 8)),
                    maximum(SIMDMath.load(p + 16), SIMDMath.load(p + 24)))
                blockMax[b] = horizontalMaximum(m)
                b += 1
            }
            if b < blocks {
                var m = -Float.infinity
                for j in b * block..<n where !(row[j] <= m) { m = row[j] }
                blockMax[b] = m
            }
            // Pass 2: T = the k-th largest block maximum (-inf when there are at most k blocks).
            var threshold = -Float.infinity
            if blocks > k {
                for e in 0..<k { hv[e] = blockMax[e]; hi[e] = Int32(e) }
                var s = k / 2 - 1
                while s >= 0 { siftDown(hv, hi, k, s); s -= 1 }
                for e in k..<blocks where blockMax[e] > hv[0] {
                    hv[0] = blockMax[e]; hi[0] = Int32(e)
                    siftDown(hv, hi, k, 0)
                }
                threshold = hv[0]
            }
            // Pass 3: offer the candidate blocks' values in index order. (Only NaN maxima can
            // leave fewer than k candidates; then every block is offered.) The candidate blocks
            // are first gathered with independent loads, so their cache misses overlap, then
            // the heap runs on the local copy.
            var candidates = 0
            for b in 0..<blocks where blockMax[b] >= threshold { candidates += min(n, (b + 1) * block) - b * block }
            if candidates < k { threshold = -.infinity; candidates = n }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: candidates) { vb in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: candidates) { ib in
                    var count = 0
                    for b in 0..<blocks where blockMax[b] >= threshold || threshold == -.infinity {
                        let lo = b * block, end = min(n, lo + block)
                        (vb.baseAddress! + count).update(from: row + lo, count: end - lo)
                        for j in lo..<end { ib[count + j - lo] = Int32(j) }
                        count += end - lo
                    }
                    var size = 0
                    for e in 0..<count {
                        let v = vb[e]
                        if size < k {
                            hv[size] = v; hi[size] = ib[e]; size += 1
                            if size == k {
                                var s = k / 2 - 1
                                while s >= 0 { siftDown(hv, hi, k, s); s -= 1 }
                            }
                        } else if v > hv[0] {
                            // Later indices lose ties, so only strictly larger values enter.
                            hv[0] = v; hi[0] = ib[e]
                            siftDown(hv, hi, k, 0)
                        }
                    }
                }
            }
        }
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
