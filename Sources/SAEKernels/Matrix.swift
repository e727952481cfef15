/// Owning, 64-byte aligned storage for `count` Floats. Reference type behind `Matrix`.
@usableFromInline package final class AlignedFloatStorage: @unchecked Sendable {
    package let count: Int
    @usableFromInline let base: UnsafeMutablePointer<Float>

    /// Allocates `count` Floats, zero-filled, aligned to 64 bytes.
    package init(count: Int) {
        precondition(count >= 0, "AlignedFloatStorage: negative count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(1, count))
        base.initialize(repeating: 0, count: max(1, count))
    }

    deinit { base.deallocate() }

    @usableFromInline func copy() -> AlignedFloatStorage {
        let s = AlignedFloatStorage(count: count)
        s.base.update(from: base, count: count)
        return s
    }
}

/// A row-major `rows x cols` Float32 matrix with 64-byte aligned, copy-on-write storage.
///
/// Element `(r, c)` lives at offset `r * cols + c` (the column index is contiguous).
/// Raw memory is reached only inside `withUnsafeBufferPointer` /
/// `withUnsafeMutableBufferPointer` closures.
public struct Matrix: Sendable {
    public let rows: Int
    public let cols: Int
    @usableFromInline var storage: AlignedFloatStorage

    /// A zero-filled `rows x cols` matrix.
    public init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        storage = AlignedFloatStorage(count: rows * cols)
    }

    /// A matrix filled from `values` (row-major); `values.count` must be `rows * cols`.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols,
                     "Matrix: \(values.count) values for shape \(rows)x\(cols)")
        self.init(rows: rows, cols: cols)
        values.withUnsafeBufferPointer { src in
            if let p = src.baseAddress { storage.base.update(from: p, count: values.count) }
        }
    }

    /// A matrix whose element `(r, c)` is `f(r, c)`.
    public init(rows: Int, cols: Int, _ f: (Int, Int) -> Float) {
        self.init(rows: rows, cols: cols)
        let p = storage.base
        for r in 0..<rows { for c in 0..<cols { p[r * cols + c] = f(r, c) } }
    }

    public var count: Int { rows * cols }
    public var shape: (rows: Int, cols: Int) { (rows, cols) }

    /// The elements in row-major order.
    public var values: [Float] { withUnsafeBufferPointer { Array($0) } }

    public subscript(r: Int, c: Int) -> Float {
        get {
            precondition(r >= 0 && r < rows && c >= 0 && c < cols,
                         "Matrix: index (\(r), \(c)) outside \(rows)x\(cols)")
            return storage.base[r * cols + c]
        }
        set {
            precondition(r >= 0 && r < rows && c >= 0 && c < cols,
                         "Matrix: index (\(r), \(c)) outside \(rows)x\(cols)")
            makeUnique()
            storage.base[r * cols + c] = newValue
        }
    }

    /// Row `r` as an array.
    public func row(_ r: Int) -> [Float] {
        precondition(r >= 0 && r < rows, "Matrix: row \(r) outside 0..<\(rows)")
        return Array(UnsafeBufferPointer(start: storage.base + r * cols, count: cols))
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: count))
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.base, count: count))
    }

    @usableFromInline
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// The transpose, `cols x rows`.
    public func transposed() -> Matrix {
        var t = Matrix(rows: cols, cols: rows)
        let src = storage.base
        t.withUnsafeMutableBufferPointer { dst in
            for r in 0..<rows { for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] } }
        }
        return t
    }
}

extension Matrix: Equatable {
    public static func == (a: Matrix, b: Matrix) -> Bool {
        a.rows == b.rows && a.cols == b.cols && a.values == b.values
    }
}
