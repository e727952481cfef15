import Foundation

extension TokenDataset {
    /// The element type of a headerless token file when none is named: `.u16` when every id
    /// of a `vocabSize` vocabulary fits in 16 bits, else `.u32` (the rule SAELens's and our
    /// tokenizers write by).
    public static func defaultBinaryElementType(vocabSize: Int) -> DType {
        vocabSize <= 1 << 16 ? .u16 : .u32
    }

    /// Opens a token file for a model with a `vocabSize` vocabulary. A `.npy` file's header
    /// names its element type; a headerless file holds `elementType`, or when that is nil the
    /// type `defaultBinaryElementType(vocabSize:)` names. Nothing is guessed from the bytes:
    /// a headerless file opened as 16-bit whose every second 16-bit word is zero (32-bit ids
    /// read as 16-bit: each id would be followed by a 0, often the BOS id) is refused with an
    /// error that says so, as is a 16-bit layout for a vocabulary larger than 65536.
    public static func open(_ url: URL, elementType: DType? = nil, vocabSize: Int) throws -> TokenDataset {
        let type = elementType ?? defaultBinaryElementType(vocabSize: vocabSize)
        let dataset = try TokenDataset(contentsOf: url, binaryElementType: type, vocabSize: vocabSize)
        guard dataset.elementType == .u16, url.pathExtension.lowercased() != "npy" else { return dataset }
        if vocabSize > 1 << 16 {
            throw TokenDatasetError.invalidArgument(
                file: url.path, reason: "read as 16-bit ids, but the vocabulary has \(vocabSize) entries; the file must hold 32-bit ids (uint32)")
        }
        if try dataset.looksLikeWiderIds() {
            throw TokenDatasetError.invalidArgument(
                file: url.path, reason: "read as 16-bit ids, every second 16-bit word is 0: the file looks like 32-bit ids (uint32); name its element type")
        }
        return dataset
    }

    /// Whether the first (up to) 8192 16-bit words of a headerless 16-bit file look like
    /// little-endian 32-bit ids: an even count of at least 16 words, every odd word zero and
    /// some even word not.
    func looksLikeWiderIds() throws -> Bool {
        let n = Swift.min(count, 8192) & ~1
        guard n >= 16 else { return false }
        let raw = try TokenDataset(contentsOf: url, binaryElementType: .u16).tokens(in: 0..<n)
        var oddZero = true, evenNonzero = false
        for i in stride(from: 0, to: n, by: 2) {
            if raw[i + 1] != 0 { oddZero = false; break }
            if raw[i] != 0 { evenNonzero = true }
        }
        return oddZero && evenNonzero
    }
}
