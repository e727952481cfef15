/// The added tokens of a tokenizer (such as `<|endoftext|>`), found in the raw text
/// before pre-tokenization and mapped straight to their ids.
///
/// Matching is leftmost-longest on the UTF-8 bytes, as Hugging Face's added vocabulary
/// does for tokens without `lstrip` / `rstrip` / `single_word`.
package struct AddedTokens: Sendable {
    /// Patterns by first byte, longest first.
    private let byFirstByte: [UInt8: [(bytes: [UInt8], id: Int32)]]
    /// Content -> id.
    package let ids: [String: Int32]

    package init(_ tokens: [(content: String, id: Int32)]) {
        var table: [UInt8: [(bytes: [UInt8], id: Int32)]] = [:]
        var ids: [String: Int32] = [:]
        for t in tokens where !t.content.isEmpty {
            let bytes = Array(t.content.utf8)
            table[bytes[0], default: []].append((bytes, t.id))
            ids[t.content] = t.id
        }
        for k in table.keys { table[k]!.sort { $0.bytes.count > $1.bytes.count } }
        byFirstByte = table
        self.ids = ids
    }

    package enum Segment: Equatable {
        /// Ordinary text, to be pre-tokenized (a range of the UTF-8 bytes).
        case text(Range<Int>)
        /// An added token's id.
        case token(Int32)
    }

    /// Splits `utf8` into ordinary-text ranges and added tokens, in order.
    package func split(_ utf8: [UInt8]) -> [Segment] {
        if byFirstByte.isEmpty { return utf8.isEmpty ? [] : [.text(0..<utf8.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        scan: while i < utf8.count {
            if let candidates = byFirstByte[utf8[i]] {
                for c in candidates where i + c.bytes.count <= utf8.count
                    && utf8[i..<(i + c.bytes.count)].elementsEqual(c.bytes) {
                    if textStart < i { segments.append(.text(textStart..<i)) }
                    segments.append(.token(c.id))
                    i += c.bytes.count
                    textStart = i
                    continue scan
                }
            }
            i += 1
        }
        if textStart < utf8.count { segments.append(.text(textStart..<utf8.count)) }
        return segments
    }
}
