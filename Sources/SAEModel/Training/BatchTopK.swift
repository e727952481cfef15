import SAEKernels

/// BatchTopK selection (Bussmann et al.): over a batch of B rows, keep the `k * B` largest
/// post-ReLU pre-activations of the whole `B x dSae` matrix (so rows get varying numbers of
/// latents), ties to the earlier row and the larger value's lower index.
///
/// Each row first keeps its `candidatesPerRow` largest pre-activations (default 4k) through
/// the fused encoder; the batch-wide selection runs on those candidates. A row all of whose
/// candidates were selected may have more above the cut, so such rows are encoded again
/// with four times as many candidates until none is saturated: the result is exact.
enum BatchTopK {
    static func select(
        x: UnsafePointer<Float>, rows: Int, dIn: Int, dSae: Int, wEncT: UnsafePointer<Float>,
        bEnc: UnsafePointer<Float>, k: Int, candidatesPerRow: Int, threads: Int
    ) -> (codes: SparseCodes, minimumKept: Float?) {
        precondition(k >= 1 && k <= dSae, "BatchTopK: k=\(k) must be in 1...\(dSae)")
        var perRow = [Int](repeating: min(dSae, max(candidatesPerRow, 4 * k)), count: rows)
        // Candidate lists per row (indices, values), each sorted by decreasing value.
        var candIdx = [[Int32]](repeating: [], count: rows)
        var candVal = [[Float]](repeating: [], count: rows)
        var pending = Array(0..<rows)
        while true {
            // Encode the pending rows with their candidate counts (grouped by count).
            for c in Set(pending.map { perRow[$0] }).sorted() {
                let group = pending.filter { perRow[$0] == c }
                var sub = [Float](repeating: 0, count: group.count * dIn)
                for (gi, r) in group.enumerated() { for i in 0..<dIn { sub[gi * dIn + i] = x[r * dIn + i] } }
                let codes = sub.withUnsafeBufferPointer {
                    Encoder.forwardTopK(x: $0.baseAddress!, batch: group.count, dIn: dIn, dSae: dSae, wEnc: wEncT,
                                        layout: .transposed, bEnc: bEnc, bDec: nil, k: c, threads: threads)
                }
                for (gi, r) in group.enumerated() {
                    candIdx[r] = Array(codes.indices[gi * c ..< (gi + 1) * c])
                    candVal[r] = Array(codes.values[gi * c ..< (gi + 1) * c])
                }
            }
            // The batch-wide cut over all candidates (values already ReLU'd).
            var offsets = [0]
            for r in 0..<rows { offsets.append(offsets[r] + candVal[r].count) }
            let all = candVal.flatMap { $0 }
            let keep = min(k * rows, all.count)
            var selIdx = [Int32](repeating: 0, count: keep)
            var selVal = [Float](repeating: 0, count: keep)
            all.withUnsafeBufferPointer { a in selIdx.withUnsafeMutableBufferPointer { si in selVal.withUnsafeMutableBufferPointer { sv in
                TopK.select(a.baseAddress!, rows: 1, n: all.count, k: keep, indices: si.baseAddress!, values: sv.baseAddress!, threads: 1)
            }}}
            var selected = [[Bool]](repeating: [], count: rows)
            for r in 0..<rows { selected[r] = [Bool](repeating: false, count: candVal[r].count) }
            var rowOf = [Int](repeating: 0, count: all.count)
            for r in 0..<rows { for e in offsets[r]..<offsets[r + 1] { rowOf[e] = r } }
            for s in selIdx { let e = Int(s); selected[rowOf[e]][e - offsets[rowOf[e]]] = true }
            // Rows whose every candidate was selected (and that could hold more) go again.
            pending = (0..<rows).filter { r in perRow[r] < dSae && !selected[r].isEmpty && selected[r].allSatisfy { $0 }
                && candVal[r].last! > 0 }
            if pending.isEmpty {
                var outOffsets = [0], indices = [Int32](), values = [Float]()
                var minimum: Float? = nil
                for r in 0..<rows {
                    for (e, isSel) in selected[r].enumerated() where isSel && candVal[r][e] > 0 {
                        indices.append(candIdx[r][e]); values.append(candVal[r][e])
                        minimum = min(minimum ?? .infinity, candVal[r][e])
                    }
                    outOffsets.append(indices.count)
                }
                return (SparseCodes(rows: rows, width: dSae, offsets: outOffsets, indices: indices, values: values), minimum)
            }
            for r in pending { perRow[r] = min(dSae, perRow[r] * 4) }
        }
    }
}
