/// GPT-2's reversible map between bytes and printable Unicode characters, used by the
/// ByteLevel pre-tokenizer and decoder.
///
/// Bytes that are printable Latin-1 (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) map to the
/// character with the same code; the other 68 bytes map, in increasing order, to
/// U+0100, U+0101, ... (so space 0x20 is `Ġ` U+0120 and newline 0x0A is `Ċ` U+010A).
package enum ByteLevel {
    /// `unicode[b]` is the character byte `b` maps to.
    package static let unicode: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7e).contains(b) || (0xa1...0xac).contains(b) || (0xae...0xff).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `unicode`.
    package static let byte: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (b, s) in unicode.enumerated() { inverse[s] = UInt8(b) }
        return inverse
    }()

    /// The byte-level string of `bytes`: one character per byte.
    package static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(unicode[Int(b)]) }
        return String(s)
    }

    /// The ByteLevel decoder for one token: its characters mapped back to bytes, or, if
    /// a character is outside the map (an added token written in plain text), the
    /// token's own UTF-8 bytes, as Hugging Face's decoder does.
    package static func bytes(ofToken token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = byte[s] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}
