import Foundation

/// What can go wrong opening or reading a token file; every case names the file and,
/// for a bad id, its position (index in the token stream) and value.
public enum TokenDatasetError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    /// A .npy token file's header or size is invalid.
    case npy(NPYError)
    /// The element type is not one token files may use.
    case unsupportedElementType(file: String, dtype: String, supported: String)
    /// A flat .bin file's size is not a whole number of elements.
    case sizeNotMultiple(file: String, byteCount: Int, elementSize: Int)
    case negativeId(file: String, position: Int, id: Int)
    /// An id `>= vocabSize`.
    case idOutOfVocabulary(file: String, position: Int, id: Int, vocabSize: Int)
    /// An id beyond `Int32.max` (when no vocabulary size is set).
    case idTooLarge(file: String, position: Int, id: Int)
    case rangeOutOfBounds(file: String, range: Range<Int>, count: Int)
    case invalidArgument(file: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(file, reason): return "token file \(file): cannot open: \(reason)"
        case let .npy(e): return "token file: \(e.description)"
        case let .unsupportedElementType(file, dtype, supported):
            return "token file \(file): unsupported element type \(dtype) (supported: \(supported))"
        case let .sizeNotMultiple(file, byteCount, elementSize):
            return "token file \(file): size \(byteCount) bytes is not a multiple of the \(elementSize)-byte element size (wrong dtype, or a truncated file?)"
        case let .negativeId(file, position, id):
            return "token file \(file): negative token id \(id) at position \(position)"
        case let .idOutOfVocabulary(file, position, id, vocabSize):
            return "token file \(file): token id \(id) at position \(position) is outside the vocabulary (size \(vocabSize))"
        case let .idTooLarge(file, position, id):
            return "token file \(file): token id \(id) at position \(position) does not fit in Int32"
        case let .rangeOutOfBounds(file, range, count):
            return "token file \(file): tokens \(range.lowerBound)..<\(range.upperBound) outside the file's \(count) tokens"
        case let .invalidArgument(file, reason): return "token file \(file): \(reason)"
        }
    }
}

/// A stream of token ids in a file, memory-mapped: only the pages of the tokens read
/// are brought into memory, so multi-GB files open instantly.
///
/// Formats, chosen by the file extension:
/// - `.npy`: a NumPy array of '<u2', '<u4', '<i4' or '<i8' (any shape, read in C order);
/// - anything else (`.bin`): flat little-endian integers without header, of the element
///   type the caller names (`.u16`, the default, or `.u32`).
///
/// Ids are checked when read (`tokens(in:)`, `TokenContexts.context(_:)`): negative ids,
/// ids `>= vocabSize` (when set) and ids beyond `Int32.max` throw an error naming the
/// position. `validate()` checks the whole file in one pass.
public final class TokenDataset: @unchecked Sendable {
    public let url: URL
    /// The element type in the file: `.u16`, `.u32`, `.i32` or `.i64`.
    public let elementType: DType
    /// Number of tokens.
    public let count: Int
    /// When set, ids must be `< vocabSize`.
    public let vocabSize: Int?

    private enum Backing {
        case flat(MappedFile)
        case npy(NPYFile)
    }
    private let backing: Backing
    private var path: String { url.path }

    /// Opens the token file at `url`. `binaryElementType` (`.u16` or `.u32`) says how a
    /// headerless file is laid out; a `.npy` file's header says it instead.
    public init(contentsOf url: URL, binaryElementType: DType = .u16, vocabSize: Int? = nil) throws {
        self.url = url
        self.vocabSize = vocabSize
        let path = url.path
        if let vocabSize, vocabSize <= 0 {
            throw TokenDatasetError.invalidArgument(file: path, reason: "vocabulary size \(vocabSize) must be positive")
        }
        if url.pathExtension.lowercased() == "npy" {
            let npy: NPYFile
            do { npy = try NPYFile(contentsOf: url) } catch let e as NPYError { throw TokenDatasetError.npy(e) }
            guard [.u16, .u32, .i32, .i64].contains(npy.dtype) else {
                throw TokenDatasetError.unsupportedElementType(file: path, dtype: npy.descr, supported: "<u2, <u4, <i4, <i8")
            }
            backing = .npy(npy)
            elementType = npy.dtype
            count = npy.count
        } else {
            guard binaryElementType == .u16 || binaryElementType == .u32 else {
                throw TokenDatasetError.unsupportedElementType(
                    file: path, dtype: binaryElementType.rawValue, supported: "U16, U32 for headerless files")
            }
            let file: MappedFile
            do { file = try MappedFile(url: url) } catch let e as FileAccessError {
                throw TokenDatasetError.cannotOpen(file: path, reason: e.reason)
            }
            guard file.count % binaryElementType.byteSize == 0 else {
                throw TokenDatasetError.sizeNotMultiple(file: path, byteCount: file.count, elementSize: binaryElementType.byteSize)
            }
            backing = .flat(file)
            elementType = binaryElementType
            count = file.count / binaryElementType.byteSize
        }
    }

    /// The ids at positions `range`, checked (see the type's documentation).
    public func tokens(in range: Range<Int>) throws -> [Int32] {
        guard range.lowerBound >= 0 && range.upperBound <= count else {
            throw TokenDatasetError.rangeOutOfBounds(file: path, range: range, count: count)
        }
        var out: [Int32] = []
        out.reserveCapacity(range.count)  // only once the range is known to be in the file
        try append(range, to: &out, vocabSize: vocabSize)
        return out
    }

    /// Checks every id in the file: not negative, `< vocabSize` (the argument, else the
    /// dataset's), and within Int32. Throws for the first bad one, naming its position.
    public func validate(vocabSize: Int? = nil) throws {
        let limit = vocabSize ?? self.vocabSize
        let chunk = 1 << 16
        var out: [Int32] = []
        out.reserveCapacity(chunk)
        var start = 0
        while start < count {
            out.removeAll(keepingCapacity: true)
            try append(start..<min(count, start + chunk), to: &out, vocabSize: limit)
            start += chunk
        }
    }

    /// Consecutive contexts of `length` tokens, the first starting at token `offset`.
    ///
    /// Without `bos`, context i is `tokens[offset + i*length ..< offset + (i+1)*length]`.
    ///
    /// With `bos` (as gelu-1l was trained: every context starts with BOS), each context
    /// is `[bos]` followed by the next `length - 1` tokens of the stream, except that a
    /// window whose first stream token already is `bos` gets no second one and takes
    /// `length` stream tokens. Windows follow each other with no gap or overlap; a
    /// final partial window is dropped. Finding where each window starts reads one
    /// token per window (one pass over the file's pages), done here, once.
    public func contexts(length: Int, bos: Int32? = nil, startingAt offset: Int = 0) throws -> TokenContexts {
        guard length >= (bos == nil ? 1 : 2) else {
            throw TokenDatasetError.invalidArgument(
                file: path, reason: "context length \(length) too small (needs \(bos == nil ? 1 : 2) or more)")
        }
        guard offset >= 0 && offset <= count else {
            throw TokenDatasetError.invalidArgument(file: path, reason: "offset \(offset) outside 0...\(count)")
        }
        guard let bos else {
            return TokenContexts(dataset: self, length: length, bos: nil, startOffset: offset,
                                 count: (count - offset) / length, startsWithBOS: [], bosStartsBeforeWord: [])
        }
        // Bit i of `starts` is set when window i begins with BOS in the stream (and so
        // takes `length` tokens instead of `length - 1`).
        var starts: [UInt64] = []
        var windows = 0
        withElementBytes { bytes in
            func scan<T: FixedWidthInteger>(_: T.Type) {
                let size = MemoryLayout<T>.size
                var s = offset
                let bos64 = Int64(bos)
                while s < count {
                    let first = Int64(T(littleEndian: bytes.loadUnaligned(fromByteOffset: s * size, as: T.self)))
                    let isBOS = first == bos64
                    let taken = isBOS ? length : length - 1
                    if taken > count - s { break }  // not `s + taken > count`: length may be huge
                    if windows % 64 == 0 { starts.append(0) }
                    if isBOS { starts[windows / 64] |= 1 << UInt64(windows % 64) }
                    windows += 1
                    s += taken
                }
            }
            switch elementType {
            case .u16: scan(UInt16.self)
            case .u32: scan(UInt32.self)
            case .i32: scan(Int32.self)
            default: scan(Int64.self)
            }
        }
        var before: [Int] = []
        before.reserveCapacity(starts.count)
        var running = 0
        for word in starts {
            before.append(running)
            running += word.nonzeroBitCount
        }
        return TokenContexts(dataset: self, length: length, bos: bos, startOffset: offset, count: windows,
                             startsWithBOS: starts, bosStartsBeforeWord: before)
    }

    // MARK: - Element access

    private func withElementBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch backing {
        case let .flat(file): return try file.withBytes(body)
        case let .npy(npy): return try npy.withElementBytes(body)
        }
    }

    /// Appends the checked ids at `range` to `out`.
    private func append(_ range: Range<Int>, to out: inout [Int32], vocabSize: Int?) throws {
        guard range.lowerBound >= 0 && range.upperBound <= count else {
            throw TokenDatasetError.rangeOutOfBounds(file: path, range: range, count: count)
        }
        let limit = Int64(min(vocabSize ?? Int(Int32.max) + 1, Int(Int32.max) + 1))
        try withElementBytes { bytes in
            func read<T: FixedWidthInteger>(_: T.Type) throws {
                let size = MemoryLayout<T>.size
                for position in range {
                    let id = Int64(T(littleEndian: bytes.loadUnaligned(fromByteOffset: position * size, as: T.self)))
                    if id < 0 || id >= limit { throw badId(id, at: position, vocabSize: vocabSize) }
                    out.append(Int32(truncatingIfNeeded: id))
                }
            }
            switch elementType {
            case .u16: try read(UInt16.self)
            case .u32: try read(UInt32.self)
            case .i32: try read(Int32.self)
            default: try read(Int64.self)
            }
        }
    }

    private func badId(_ id: Int64, at position: Int, vocabSize: Int?) -> TokenDatasetError {
        if id < 0 { return .negativeId(file: path, position: position, id: Int(id)) }
        if let vocabSize, id >= vocabSize {
            return .idOutOfVocabulary(file: path, position: position, id: Int(id), vocabSize: vocabSize)
        }
        return .idTooLarge(file: path, position: position, id: Int(id))
    }
}

/// Fixed-length contexts cut from a `TokenDataset` (see `TokenDataset.contexts`), with
/// random access: `context(i)` costs one read of `length` tokens.
public struct TokenContexts: Sendable {
    public let dataset: TokenDataset
    /// Tokens per context.
    public let length: Int
    /// The BOS id put first in every context, if any.
    public let bos: Int32?
    /// Stream position where context 0 starts.
    public let startOffset: Int
    /// Number of whole contexts.
    public let count: Int

    /// Bit i: window i begins with BOS in the stream.
    fileprivate let startsWithBOS: [UInt64]
    /// Number of set bits in the words before each word of `startsWithBOS`.
    fileprivate let bosStartsBeforeWord: [Int]

    /// Whether window `i` already begins with BOS in the stream (so no BOS is added).
    private func beginsWithBOS(_ i: Int) -> Bool {
        bos != nil && (startsWithBOS[i / 64] >> UInt64(i % 64)) & 1 == 1
    }

    /// The stream position of the first stream token of context `i`.
    public func tokenOffset(ofContext i: Int) -> Int {
        precondition(i >= 0 && i < count, "TokenContexts: context \(i) outside 0..<\(count)")
        guard bos != nil else { return startOffset + i * length }
        let word = i / 64
        let bitsBelow = startsWithBOS[word] & ((1 << UInt64(i % 64)) &- 1)
        let bosWindowsBefore = bosStartsBeforeWord[word] + bitsBelow.nonzeroBitCount
        return startOffset + i * (length - 1) + bosWindowsBefore
    }

    /// The first `n` contexts (`0 <= n <= count`), e.g. the training ones before held-out
    /// contexts, so that a source cycling through them never reaches the others.
    public func prefix(_ n: Int) -> TokenContexts {
        precondition(n >= 0 && n <= count, "TokenContexts.prefix: \(n) outside 0...\(count)")
        return TokenContexts(dataset: dataset, length: length, bos: bos, startOffset: startOffset, count: n,
                             startsWithBOS: startsWithBOS, bosStartsBeforeWord: bosStartsBeforeWord)
    }

    /// Context `i` (`0 <= i < count`): `length` ids, the first being BOS when `bos` is set.
    /// Throws for a bad id, naming its position in the stream.
    public func context(_ i: Int) throws -> [Int32] {
        guard i >= 0 && i < count else {
            throw TokenDatasetError.invalidArgument(file: dataset.url.path, reason: "context \(i) outside 0..<\(count)")
        }
        let start = tokenOffset(ofContext: i)
        guard let bos, !beginsWithBOS(i) else {
            return try dataset.tokens(in: start..<(start + length))
        }
        if let vocabSize = dataset.vocabSize, bos < 0 || Int(bos) >= vocabSize {
            throw TokenDatasetError.invalidArgument(
                file: dataset.url.path, reason: "BOS id \(bos) is outside the vocabulary (size \(vocabSize))")
        }
        return [bos] + (try dataset.tokens(in: start..<(start + length - 1)))
    }
}
