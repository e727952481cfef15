/// Splits one fuzz input into the parts of a multi-file format.
///
/// Layout: for each part but the last, a 2-byte little-endian length `n` then `n` bytes;
/// the last part is the rest of the input. A length running past the end takes what is
/// left, and the parts after it are empty, so every input splits.
struct InputParts {
    private var rest: UnsafeRawBufferPointer

    init(_ input: UnsafeRawBufferPointer) { rest = input }

    /// The next length-prefixed part.
    mutating func next() -> UnsafeRawBufferPointer {
        guard rest.count >= 2 else { return take(rest.count) }
        let n = Int(rest[0]) | Int(rest[1]) << 8
        rest = UnsafeRawBufferPointer(rebasing: rest[2...])
        return take(min(n, rest.count))
    }

    /// One byte (0 when the input is used up).
    mutating func byte() -> UInt8 {
        guard !rest.isEmpty else { return 0 }
        defer { rest = UnsafeRawBufferPointer(rebasing: rest[1...]) }
        return rest[0]
    }

    /// Everything not yet taken.
    mutating func remainder() -> UnsafeRawBufferPointer { take(rest.count) }

    private mutating func take(_ n: Int) -> UnsafeRawBufferPointer {
        defer { rest = UnsafeRawBufferPointer(rebasing: rest[n...]) }
        return UnsafeRawBufferPointer(rebasing: rest[..<n])
    }
}
