/// The merge table of a BPE model and the merge procedure.
///
/// A word starts as one symbol per byte-level character; then, repeatedly, the adjacent
/// pair with the lowest merge rank (the leftmost one on a tie) is replaced by its merged
/// token, until no adjacent pair has a merge. This is Hugging Face's `Word::merge_all`
/// without dropout.
package struct BPEMerges: Sendable {
    /// (left id, right id) packed as `left << 32 | right` -> (rank, merged id).
    private let table: [UInt64: (rank: Int32, merged: Int32)]

    /// `merges[i] = (left, right, merged)` has rank `i`; a pair listed twice keeps its
    /// last rank, as Hugging Face's loader does.
    package init(_ merges: [(left: Int32, right: Int32, merged: Int32)]) {
        var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, m) in merges.enumerated() {
            table[Self.key(m.left, m.right)] = (Int32(rank), m.merged)
        }
        self.table = table
    }

    @inline(__always)
    private static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    /// Applies the merges to `symbols` in place.
    package func merge(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var bestRank = Int32.max
            var bestIndex = -1
            var bestMerged: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                if let m = table[Self.key(symbols[i], symbols[i + 1])], m.rank < bestRank {
                    bestRank = m.rank
                    bestIndex = i
                    bestMerged = m.merged
                }
            }
            if bestIndex < 0 { return }
            symbols[bestIndex] = bestMerged
            symbols.remove(at: bestIndex + 1)
        }
    }
}
