/// A `[batch, seq]` block of token ids, row-major: token `s` of sequence `b` is
/// `ids[b * seq + s]`. Activations computed from it have `batch * seq` rows in the same order.
public struct TokenBatch: Sendable, Equatable {
    public let batch: Int
    public let seq: Int
    public let ids: [Int32]

    /// `ids.count` must be `batch * seq`, both positive.
    public init(ids: [Int32], batch: Int, seq: Int) {
        precondition(batch > 0 && seq > 0, "TokenBatch: batch \(batch) and seq \(seq) must be positive")
        precondition(ids.count == batch * seq, "TokenBatch: \(ids.count) ids for shape [\(batch), \(seq)]")
        self.ids = ids
        self.batch = batch
        self.seq = seq
    }

    /// One row per sequence; all rows must be non-empty and of equal length.
    public init(_ sequences: [[Int32]]) {
        precondition(!sequences.isEmpty, "TokenBatch: no sequences")
        let seq = sequences[0].count
        precondition(sequences.allSatisfy { $0.count == seq },
                     "TokenBatch: sequences of different lengths \(Set(sequences.map(\.count)).sorted())")
        self.init(ids: sequences.flatMap { $0 }, batch: sequences.count, seq: seq)
    }

    /// Sequence `b`.
    public func sequence(_ b: Int) -> ArraySlice<Int32> { ids[(b * seq)..<((b + 1) * seq)] }
}
