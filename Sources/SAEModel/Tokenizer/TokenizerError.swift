/// What can go wrong loading a Hugging Face `tokenizer.json`; every case names the file.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case cannotRead(file: String, reason: String)
    case notJSON(file: String, reason: String)
    /// `model.type` is not "BPE".
    case notBPE(file: String, modelType: String)
    /// A required field is absent.
    case missingField(file: String, field: String)
    /// A field has the wrong type or value.
    case invalidField(file: String, field: String, reason: String)
    /// Merge number `index` is neither "a b" nor ["a", "b"].
    case badMerge(file: String, index: Int, reason: String)
    /// Merge number `index` uses, or produces, a token not in the vocabulary.
    case mergeUnknownToken(file: String, index: Int, merge: String, token: String)
    /// A normalizer, pre-tokenizer, decoder or model option this tokenizer does not implement.
    case unsupported(file: String, what: String)

    public var description: String {
        switch self {
        case let .cannotRead(file, reason): return "tokenizer \(file): cannot read: \(reason)"
        case let .notJSON(file, reason): return "tokenizer \(file): not a JSON object: \(reason)"
        case let .notBPE(file, type): return "tokenizer \(file): model type is '\(type)', not a BPE model"
        case let .missingField(file, field): return "tokenizer \(file): missing '\(field)'"
        case let .invalidField(file, field, reason): return "tokenizer \(file): '\(field)' \(reason)"
        case let .badMerge(file, index, reason): return "tokenizer \(file): merge \(index): \(reason)"
        case let .mergeUnknownToken(file, index, merge, token):
            return "tokenizer \(file): merge \(index) (\(merge)) references '\(token)', which is not in the vocabulary"
        case let .unsupported(file, what): return "tokenizer \(file): unsupported \(what)"
        }
    }
}
