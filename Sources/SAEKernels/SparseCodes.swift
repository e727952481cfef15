/// Sparse latent activations of a batch, one compressed row per input (CSR).
///
/// Row `r` holds `offsets[r+1] - offsets[r]` active latents: feature ids
/// `indices[offsets[r] ..< offsets[r+1]]` (each in `0..<width`) with activations
/// `values[...]`. TopK codes have exactly `k` entries per row (ordered by decreasing
/// value); codes collected from a ReLU output hold that row's nonzeros in increasing
/// feature order.
public struct SparseCodes: Sendable, Equatable {
    public var rows: Int
    /// The number of latents (d_sae).
    public var width: Int
    public var offsets: [Int]
    public var indices: [Int32]
    public var values: [Float]

    public init(rows: Int, width: Int, offsets: [Int], indices: [Int32], values: [Float]) {
        precondition(offsets.count == rows + 1, "SparseCodes: \(offsets.count) offsets for \(rows) rows")
        precondition(indices.count == values.count, "SparseCodes: \(indices.count) indices, \(values.count) values")
        precondition(offsets.first == 0 && offsets.last == indices.count, "SparseCodes: offsets must run 0...\(indices.count)")
        self.rows = rows; self.width = width; self.offsets = offsets; self.indices = indices; self.values = values
    }

    /// Codes with exactly `k` entries per row, stored contiguously.
    public init(rows: Int, width: Int, k: Int, indices: [Int32], values: [Float]) {
        self.init(rows: rows, width: width, offsets: (0...rows).map { $0 * k }, indices: indices, values: values)
    }

    /// Total stored entries.
    public var nonzeroCount: Int { indices.count }

    /// Mean stored entries per row (the L0 when no stored value is zero).
    public var meanEntriesPerRow: Double { rows == 0 ? 0 : Double(indices.count) / Double(rows) }

    /// The dense `rows x width` matrix.
    public func dense() -> Matrix {
        var m = Matrix(rows: rows, cols: width)
        m.withUnsafeMutableBufferPointer { d in
            for r in 0..<rows { for e in offsets[r]..<offsets[r + 1] { d[r * width + Int(indices[e])] += values[e] } }
        }
        return m
    }

    /// Same sparsity pattern, other values (e.g. gradients with respect to the codes).
    public func withValues(_ newValues: [Float]) -> SparseCodes {
        precondition(newValues.count == values.count, "SparseCodes.withValues: \(newValues.count) values for \(values.count) entries")
        var c = self
        c.values = newValues
        return c
    }
}

/// The same entries grouped by latent (CSC): for feature `j`, the rows
/// `rowsOf[starts[j] ..< starts[j+1]]` (increasing) and the positions of those entries in
/// the `SparseCodes` arrays, `entryOf[...]`. Built in O(entries + width) by a stable
/// counting sort; the backward kernels walk it to update one latent's weights per thread.
public struct SparseCodesByFeature: Sendable {
    public let width: Int
    public let starts: [Int]
    public let rowsOf: [Int32]
    public let entryOf: [Int32]

    public init(_ codes: SparseCodes) {
        width = codes.width
        var counts = [Int](repeating: 0, count: codes.width + 1)
        for j in codes.indices { counts[Int(j) + 1] += 1 }
        for j in 0..<codes.width { counts[j + 1] += counts[j] }
        starts = counts
        var next = counts
        var rowsOf = [Int32](repeating: 0, count: codes.indices.count)
        var entryOf = [Int32](repeating: 0, count: codes.indices.count)
        for r in 0..<codes.rows {
            for e in codes.offsets[r]..<codes.offsets[r + 1] {
                let j = Int(codes.indices[e])
                rowsOf[next[j]] = Int32(r)
                entryOf[next[j]] = Int32(e)
                next[j] += 1
            }
        }
        self.rowsOf = rowsOf
        self.entryOf = entryOf
    }
}
