import Foundation

/// A byte-level BPE tokenizer read from a Hugging Face `tokenizer.json` (GPT-2 style),
/// giving the ids the `tokenizers` library gives.
///
/// Encoding:
/// 1. added tokens (`added_tokens`, e.g. `<|endoftext|>`) are found in the raw text,
///    leftmost-longest, and map straight to their ids;
/// 2. each stretch of text between them is split by the ByteLevel pre-tokenizer: a
///    space is prepended if `add_prefix_space` is set and the stretch does not start
///    with one, then the GPT-2 split (`GPT2PreTokenizer`) runs if `use_regex` is set;
/// 3. each piece's UTF-8 bytes become byte-level characters (`ByteLevel`), one symbol
///    each, and the BPE merges are applied by rank (`BPEMerges`); results are cached
///    per piece.
///
/// Decoding maps ids to tokens (ids not in the vocabulary are skipped), tokens to bytes
/// with the ByteLevel decoder, and bytes to a String (invalid UTF-8 becomes U+FFFD).
/// Special tokens are kept, so `decode(encode(s)) == s`.
///
/// Supported `tokenizer.json`: model `BPE` (no `continuing_subword_prefix`,
/// `end_of_word_suffix`, `byte_fallback` or dropout), merges as `"a b"` strings or
/// `["a", "b"]` pairs, no normalizer, a `ByteLevel` pre-tokenizer (alone or as the only
/// member of a `Sequence`), a `ByteLevel` or absent decoder. The post-processor is not
/// applied: `encode` adds no special tokens of its own.
public final class BPETokenizer: @unchecked Sendable {
    /// One more than the largest id of the vocabulary and the added tokens.
    public let vocabSize: Int

    private let vocab: [String: Int32]
    private let tokens: [Int32: String]
    /// The id of each byte's one-character token, if the vocabulary has it.
    private let byteIds: [Int32?]
    private let merges: BPEMerges
    private let addedTokens: AddedTokens
    private let addPrefixSpace: Bool
    private let useRegex: Bool
    private let ignoreMerges: Bool
    private let unknownId: Int32?
    private let fuseUnknown: Bool

    private let cacheLock = NSLock()
    private var cache: [String: [Int32]] = [:]
    private static let cacheCapacity = 1 << 16

    /// Loads the tokenizer at `url`; throws `TokenizerError` naming the file and problem.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.cannotRead(file: url.path, reason: error.localizedDescription)
        }
        try self.init(jsonData: data, path: url.path)
    }

    /// Loads a tokenizer from the bytes of a `tokenizer.json`; `path` names it in errors.
    package init(jsonData: Data, path: String) throws {
        let config = try TokenizerConfig(jsonData: jsonData, path: path)
        vocab = config.vocab
        var tokens: [Int32: String] = [:]
        for (token, id) in config.vocab { tokens[id] = token }
        for added in config.addedTokens { tokens[added.id] = added.content }
        self.tokens = tokens
        vocabSize = Int(tokens.keys.max() ?? -1) + 1
        byteIds = ByteLevel.unicode.map { config.vocab[String($0)] }
        merges = BPEMerges(config.merges)
        addedTokens = AddedTokens(config.addedTokens)
        addPrefixSpace = config.addPrefixSpace
        useRegex = config.useRegex
        ignoreMerges = config.ignoreMerges
        unknownId = config.unknownId
        fuseUnknown = config.fuseUnknown
    }

    /// The id of `token` (a byte-level vocabulary string such as `"Ġthe"`, or an added
    /// token such as `"<|endoftext|>"`).
    public func id(of token: String) -> Int32? { vocab[token] ?? addedTokens.ids[token] }

    /// The vocabulary string of `id`.
    public func token(of id: Int32) -> String? { tokens[id] }

    /// The token ids of `text`.
    public func encode(_ text: String) -> [Int32] {
        let utf8 = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(utf8.count / 3 + 1)
        for segment in addedTokens.split(utf8) {
            switch segment {
            case let .token(id):
                ids.append(id)
            case let .text(range):
                var scalars = Array(String(decoding: utf8[range], as: UTF8.self).unicodeScalars)
                if addPrefixSpace && scalars.first != " " { scalars.insert(" ", at: 0) }
                let pieces = useRegex ? GPT2PreTokenizer.split(scalars) : [0..<scalars.count]
                for piece in pieces {
                    var word = String.UnicodeScalarView()
                    word.append(contentsOf: scalars[piece])
                    ids.append(contentsOf: encodeWord(String(word)))
                }
            }
        }
        return ids
    }

    /// The text of `ids`.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard let token = tokens[id] else { continue }
            bytes.append(contentsOf: ByteLevel.bytes(ofToken: token))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The ids of one pre-tokenized piece (cached).
    private func encodeWord(_ word: String) -> [Int32] {
        cacheLock.lock()
        let cached = cache[word]
        cacheLock.unlock()
        if let cached { return cached }

        let byteLevel = ByteLevel.encode(word.utf8)
        var symbols: [Int32]
        if ignoreMerges, let id = vocab[byteLevel] {
            symbols = [id]
        } else {
            symbols = []
            symbols.reserveCapacity(word.utf8.count)
            var previousUnknown = false
            for b in word.utf8 {
                if let id = byteIds[Int(b)] {
                    symbols.append(id)
                    previousUnknown = false
                } else if let unknownId {
                    if !(fuseUnknown && previousUnknown) { symbols.append(unknownId) }
                    previousUnknown = true
                }
            }
            merges.merge(&symbols)
        }

        if word.utf8.count < 256 {
            cacheLock.lock()
            if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[word] = symbols
            cacheLock.unlock()
        }
        return symbols
    }
}
