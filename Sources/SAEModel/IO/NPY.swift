import Foundation

// The NumPy .npy format (numpy.lib.format), versions 1.0, 2.0 and 3.0:
//
//   bytes 0..<6   magic "\x93NUMPY"
//   bytes 6, 7    major, minor version
//   then          header length H: UInt16 LE (1.0) or UInt32 LE (2.0, 3.0)
//   then          H bytes of header: a Python dict literal (ASCII; UTF-8 in 3.0)
//                   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//                 padded with spaces and a final '\n' so the data starts at a
//                 multiple of 64 (16 in old files)
//   then          the elements, C order (row-major), count = product(shape)
//
// Supported: little-endian '<f2' '<f4' '<f8' '<i2' '<i4' '<i8' '<u2' '<u4' '<u8',
// one-byte '|u1' '|i1' '|b1', C order. Big-endian dtypes, Fortran order, structured
// and object dtypes are rejected.

/// What can go wrong reading or writing a .npy file; every case names the file.
public enum NPYError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    /// Missing or wrong magic, or too short for its header.
    case notNPY(file: String, reason: String)
    case unsupportedVersion(file: String, major: Int, minor: Int)
    /// The header dict is malformed or lacks a key.
    case badHeader(file: String, reason: String)
    /// `fortran_order: True` (column-major data) is not supported.
    case fortranOrder(file: String)
    /// A big-endian dtype such as '>f4'.
    case bigEndian(file: String, descr: String)
    case unsupportedDType(file: String, descr: String)
    /// `product(shape) * itemsize` does not fit in `Int`.
    case shapeTooLarge(file: String, shape: [Int], descr: String)
    /// The data after the header is not `product(shape) * itemsize` bytes.
    case sizeMismatch(file: String, shape: [Int], descr: String, expectedBytes: Int, actualBytes: Int)
    /// The array's dtype does not suit the accessor used.
    case dtypeMismatch(file: String, descr: String, expected: String)
    /// An integer element does not fit in `Int`.
    case valueOutOfRange(file: String, index: Int)
    /// Values handed to the writer do not match the shape.
    case invalidArray(file: String, reason: String)
    case cannotWrite(file: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason): return "npy \(file): cannot open: \(reason)"
        case let .notNPY(file, reason): return "npy \(file): not a .npy file: \(reason)"
        case let .unsupportedVersion(file, major, minor):
            return "npy \(file): unsupported format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)"
        case let .badHeader(file, reason): return "npy \(file): malformed header: \(reason)"
        case let .fortranOrder(file):
            return "npy \(file): fortran_order is True (column-major); only C order is supported — save with np.ascontiguousarray"
        case let .bigEndian(file, descr):
            return "npy \(file): big-endian dtype '\(descr)' is not supported; save with arr.astype(arr.dtype.newbyteorder('<'))"
        case let .unsupportedDType(file, descr):
            return "npy \(file): unsupported dtype \(descr) (supported: <f2 <f4 <f8 <i2 <i4 <i8 <u2 <u4 <u8 |u1 |i1 |b1)"
        case let .shapeTooLarge(file, shape, descr):
            return "npy \(file): shape \(shape) of \(descr) is too large (its byte count does not fit in a 64-bit integer)"
        case let .sizeMismatch(file, shape, descr, expected, actual):
            return "npy \(file): shape \(shape) of \(descr) needs \(expected) data bytes but the file has \(actual)"
        case let .dtypeMismatch(file, descr, expected):
            return "npy \(file): dtype \(descr); expected \(expected)"
        case let .valueOutOfRange(file, index): return "npy \(file): element \(index) does not fit in Int"
        case let .invalidArray(file, reason): return "npy \(file): \(reason)"
        case let .cannotWrite(file, reason): return "npy \(file): cannot write: \(reason)"
        }
    }
}

/// A .npy array, memory-mapped; elements are read from the mapping only when asked for.
public final class NPYFile: @unchecked Sendable {
    public let url: URL
    /// The element type ('<f4' is `.f32`, '<u2' is `.u16`, '|b1' is `.bool`, ...).
    public let dtype: DType
    /// The header's dtype string, e.g. "<f4".
    public let descr: String
    /// Dimensions, outermost first (C order); `[]` for a 0-d array.
    public let shape: [Int]
    /// Number of elements, `product(shape)`.
    public let count: Int

    private let file: MappedFile
    /// Offset of the first element in the file.
    private let dataStart: Int

    /// Maps the file at `url` and validates its header and size.
    public init(contentsOf url: URL) throws {
        self.url = url
        let path = url.path
        do { file = try MappedFile(url: url) } catch let e as FileAccessError {
            throw NPYError.cannotOpen(file: path, reason: e.reason)
        }
        let header = try file.withBytes { try NPYHeader.parse($0, path: path) }
        (dtype, descr, shape, dataStart) = (header.dtype, header.descr, header.shape, header.dataStart)
        // product(shape) * itemsize, checked: a header may claim any shape.
        var elements = 1, bytes = dtype.byteSize
        for d in shape {
            let (e, elementsOverflow) = elements.multipliedReportingOverflow(by: d)
            let (b, bytesOverflow) = bytes.multipliedReportingOverflow(by: d)
            guard !elementsOverflow && !bytesOverflow else { throw NPYError.shapeTooLarge(file: path, shape: shape, descr: descr) }
            (elements, bytes) = (e, b)
        }
        count = elements
        let expected = bytes
        let actual = file.count - dataStart
        guard expected == actual else {
            throw NPYError.sizeMismatch(file: path, shape: shape, descr: descr, expectedBytes: expected, actualBytes: actual)
        }
    }

    /// The elements (C order) as Floats; throws `dtypeMismatch` for an integer array.
    public func floats() throws -> [Float] {
        guard let values = withElementBytes({ ElementCodec.floats($0, as: dtype) }) else {
            throw NPYError.dtypeMismatch(file: url.path, descr: descr, expected: "a float dtype (<f2, <f4, <f8)")
        }
        return values
    }

    /// The elements (C order) as Ints; throws `dtypeMismatch` for a float array.
    public func ints() throws -> [Int] {
        var overflow: Int? = nil
        guard let values = withElementBytes({ ElementCodec.ints($0, as: dtype, overflow: &overflow) }) else {
            throw NPYError.dtypeMismatch(file: url.path, descr: descr, expected: "an integer dtype")
        }
        if let overflow { throw NPYError.valueOutOfRange(file: url.path, index: overflow) }
        return values
    }

    /// Calls `body` with the raw little-endian element bytes, straight from the mapping.
    package func withElementBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try file.withBytes { try body(UnsafeRawBufferPointer(rebasing: $0[dataStart...])) }
    }
}

/// Writes .npy files (version 1.0, or 2.0 when the header needs more than 65535 bytes),
/// C order, little-endian, atomically (temporary file in the same directory, then rename).
/// One overload per dtype: `[Float]` '<f4', `[Double]` '<f8', `[Int32]` '<i4',
/// `[Int64]` '<i8', `[UInt8]` '|u1', `[UInt16]` '<u2', `[UInt32]` '<u4'.
public enum NPYWriter {
    /// Writes `values` (C order, `product(shape)` of them) as '<f4'.
    public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
        try write(values, descr: "<f4", shape: shape, to: url)
    }

    /// Writes `values` as '<f8'.
    public static func write(_ values: [Double], shape: [Int], to url: URL) throws {
        try write(values, descr: "<f8", shape: shape, to: url)
    }

    /// Writes `values` as '<i4'.
    public static func write(_ values: [Int32], shape: [Int], to url: URL) throws {
        try write(values, descr: "<i4", shape: shape, to: url)
    }

    /// Writes `values` as '<i8'.
    public static func write(_ values: [Int64], shape: [Int], to url: URL) throws {
        try write(values, descr: "<i8", shape: shape, to: url)
    }

    /// Writes `values` as '|u1'.
    public static func write(_ values: [UInt8], shape: [Int], to url: URL) throws {
        try write(values, descr: "|u1", shape: shape, to: url)
    }

    /// Writes `values` as '<u2'.
    public static func write(_ values: [UInt16], shape: [Int], to url: URL) throws {
        try write(values, descr: "<u2", shape: shape, to: url)
    }

    /// Writes `values` as '<u4'.
    public static func write(_ values: [UInt32], shape: [Int], to url: URL) throws {
        try write(values, descr: "<u4", shape: shape, to: url)
    }

    /// `T` must be a little-endian-stored element type (the host is little-endian).
    private static func write<T>(_ values: [T], descr: String, shape: [Int], to url: URL) throws {
        var product = 1
        for d in shape {
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard d >= 0, !overflow else {
                throw NPYError.invalidArray(file: url.path, reason: "shape \(shape) is negative or too large")
            }
            product = p
        }
        guard product == values.count else {
            throw NPYError.invalidArray(file: url.path, reason: "\(values.count) values for shape \(shape)")
        }
        let header = NPYHeader.encode(descr: descr, shape: shape)
        do {
            try AtomicFile.write(to: url) { out in
                try out.append(header)
                try out.append(contentsOf: values)
            }
        } catch let e as FileAccessError {
            throw NPYError.cannotWrite(file: url.path, reason: e.reason)
        }
    }
}
