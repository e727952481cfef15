/// Whether a GEMM operand is used as stored or transposed: `op(X) = X` or `X^T`.
public enum Transposition: Sendable, Equatable, CustomStringConvertible {
    /// `op(X) = X`.
    case none
    /// `op(X) = X^T`.
    case transposed

    public var description: String { self == .none ? "N" : "T" }
}
