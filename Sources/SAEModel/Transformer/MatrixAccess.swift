import SAEKernels

/// Base addresses of Matrix storage for the forward pass, which hands them to kernels.
///
/// A Matrix's storage is one heap allocation that never moves, so the address stays valid
/// while the matrix value is alive and is neither reassigned nor copied-on-write. The
/// forward pass fetches addresses right before each stage, after any intervention that
/// may have replaced a buffer.
enum MatrixAccess {
    @inline(__always)
    static func read(_ m: Matrix) -> UnsafePointer<Float> {
        m.withUnsafeBufferPointer { $0.baseAddress! }
    }

    /// Makes `m`'s storage unique (copying if shared) and returns its address.
    @inline(__always)
    static func write(_ m: inout Matrix) -> UnsafeMutablePointer<Float> {
        m.withUnsafeMutableBufferPointer { $0.baseAddress! }
    }

    @inline(__always)
    static func read(_ m: Matrix?) -> UnsafePointer<Float>? {
        m.map { read($0) }
    }

    /// An independent copy of `m`.
    static func copy(_ m: Matrix) -> Matrix {
        var c = Matrix(rows: m.rows, cols: m.cols)
        let src = read(m)
        c.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src, count: m.count) }
        return c
    }

    /// Replaces `m` by a `rows x cols` matrix unless it already has that shape (contents
    /// are then left as they are: callers overwrite).
    static func ensure(_ m: inout Matrix, rows: Int, cols: Int) {
        if m.rows != rows || m.cols != cols { m = Matrix(rows: rows, cols: cols) }
    }
}
