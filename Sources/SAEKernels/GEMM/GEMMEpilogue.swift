/// What the GEMM applies to each output tile after the last block of the
/// k-dimension, while the tile is still in registers: no extra pass over `C`.
///
/// With `columnBias = b` (n Floats), `relu = true` and `preActivations = P`:
/// `P[i, j] = (alpha * op(A) op(B) + beta * C)[i, j] + b[j]` and
/// `C[i, j] = max(P[i, j], 0)`. Each part is optional. With `rowBlockMaxima = M`, also
/// `M[i, q] = max_{j in block q} P[i, j]` over the aligned column blocks of width
/// `GEMM.outputBlockWidth` (the micro-kernel's tile width): the first pass of a top-k
/// selection, taken while each tile is in registers.
///
/// Two tile-level stages run on each finished tile while it is in L1:
/// - `gelu`: `C[i, j] = gelu(P[i, j])` (instead of the ReLU; `P` may still be kept);
/// - `rowTopK`: the tile is offered to a streaming top-k (`TopKCandidates`). When k fits
///   one k block and `beta == 0`, the tile goes to a small scratch instead of C, so C is
///   never written (its contents afterwards are unspecified).
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
    /// Apply this GELU to the stored result (not with `relu`), or nil.
    public var gelu: GELU.Variant?
    /// Collect each row's top k here instead of producing C, or nil. Not with `relu`,
    /// `gelu`, `preActivations` or `rowBlockMaxima`; `TopKCandidates` must be at least
    /// `m x n`, and is reset by the GEMM.
    package var rowTopK: TopKCandidates?

    public init(columnBias: UnsafePointer<Float>? = nil, relu: Bool = false,
                preActivations: UnsafeMutablePointer<Float>? = nil, preLeadingDimension: Int = 0,
                rowBlockMaxima: UnsafeMutablePointer<Float>? = nil, rowBlockMaximaLeadingDimension: Int = 0,
                gelu: GELU.Variant? = nil) {
        self.init(columnBias: columnBias, relu: relu, preActivations: preActivations, preLeadingDimension: preLeadingDimension,
                  rowBlockMaxima: rowBlockMaxima, rowBlockMaximaLeadingDimension: rowBlockMaximaLeadingDimension, gelu: gelu,
                  rowTopK: nil)
    }

    /// With a streaming top-k stage (`TopKCandidates` is package plumbing of the encoder).
    package init(columnBias: UnsafePointer<Float>? = nil, relu: Bool = false,
                 preActivations: UnsafeMutablePointer<Float>? = nil, preLeadingDimension: Int = 0,
                 rowBlockMaxima: UnsafeMutablePointer<Float>? = nil, rowBlockMaximaLeadingDimension: Int = 0,
                 gelu: GELU.Variant? = nil, rowTopK: TopKCandidates?) {
        self.columnBias = columnBias
        self.relu = relu
        self.preActivations = preActivations
        self.preLeadingDimension = preLeadingDimension
        self.rowBlockMaxima = rowBlockMaxima
        self.rowBlockMaximaLeadingDimension = rowBlockMaximaLeadingDimension
        self.gelu = gelu
        self.rowTopK = rowTopK
    }

    /// Plain `C = alpha * op(A) op(B) + beta * C`.
    public static var none: GEMMEpilogue { GEMMEpilogue() }

}
