/// Whether a GEMM operand is used as stored or transposed: `op(X) = X` or `X^T`.
public enum Transposition: Sendable, Equatable, CustomStringConvertible {
    /// `op(X) = X`.
    case none
    /// `op(X) = X^T`.
    case transposed

    public var description: String { self == .none ? "N" : "T" }
}

/// What the GEMM applies to each output tile after the last block of the
/// k-dimension, while the tile is still in registers: no extra pass over `C`.
///
/// With `columnBias = b` (n Floats), `relu = true` and `preActivations = P`:
/// `P[i, j] = (alpha * op(A) op(B) + beta * C)[i, j] + b[j]` and
/// `C[i, j] = max(P[i, j], 0)`. Each part is optional. With `rowBlockMaxima = M`, also
/// `M[i, q] = max_{j in block q} P[i, j]` over the aligned column blocks of width
/// `GEMM.outputBlockWidth` (the micro-kernel's tile width): the first pass of a top-k
/// selection, taken while each tile is in registers.
public struct GEMMEpilogue {
    /// Added to every row of the result (`n` Floats), or nil.
    public var columnBias: UnsafePointer<Float>?
    /// Apply `max(x, 0)` to the stored result.
    public var relu: Bool
    /// Where to also store the result before the ReLU (row-major, leading dimension
    /// `preLeadingDimension`), or nil.
    public var preActivations: UnsafeMutablePointer<Float>?
    public var preLeadingDimension: Int
    /// Where to store each row's block maxima (`m x ceil(n / outputBlockWidth)`, leading
    /// dimension `rowBlockMaximaLeadingDimension`), or nil.
    public var rowBlockMaxima: UnsafeMutablePointer<Float>?
    public var rowBlockMaximaLeadingDimension: Int

    public init(columnBias: UnsafePointer<Float>? = nil, relu: Bool = false,
                preActivations: UnsafeMutablePointer<Float>? = nil, preLeadingDimension: Int = 0,
                rowBlockMaxima: UnsafeMutablePointer<Float>? = nil, rowBlockMaximaLeadingDimension: Int = 0) {
        self.columnBias = columnBias
        self.relu = relu
        self.preActivations = preActivations
        self.preLeadingDimension = preLeadingDimension
        self.rowBlockMaxima = rowBlockMaxima
        self.rowBlockMaximaLeadingDimension = rowBlockMaximaLeadingDimension
    }

    /// Plain `C = alpha * op(A) op(B) + beta * C`.
    public static var none: GEMMEpilogue { GEMMEpilogue() }

    var isNone: Bool { columnBias == nil && !relu && preActivations == nil && rowBlockMaxima == nil }
}
