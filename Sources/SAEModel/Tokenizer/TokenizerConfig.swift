import Foundation

/// The parts of a Hugging Face `tokenizer.json` a byte-level BPE tokenizer uses,
/// validated (see `BPETokenizer` for what is supported).
struct TokenizerConfig {
    var vocab: [String: Int32] = [:]
    /// In rank order.
    var merges: [(left: Int32, right: Int32, merged: Int32)] = []
    var addedTokens: [(content: String, id: Int32)] = []
    var addPrefixSpace = false
    var useRegex = true
    var ignoreMerges = false
    var unknownId: Int32? = nil
    var fuseUnknown = false

    init(jsonData: Data, path: String) throws {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: jsonData) as? [String: Any] else {
                throw TokenizerError.notJSON(file: path, reason: "the top level is not an object")
            }
            root = object
        } catch let e as TokenizerError {
            throw e
        } catch {
            throw TokenizerError.notJSON(file: path, reason: "\(error)")
        }

        func isNull(_ value: Any?) -> Bool { value == nil || value is NSNull }
        func invalid(_ field: String, _ reason: String) -> TokenizerError {
            .invalidField(file: path, field: field, reason: reason)
        }

        // MARK: model
        guard let model = root["model"] else { throw TokenizerError.missingField(file: path, field: "model") }
        guard let model = model as? [String: Any] else { throw invalid("model", "is not an object") }
        if let type = model["type"] {
            guard let type = type as? String else { throw invalid("model.type", "is not a string") }
            guard type == "BPE" else { throw TokenizerError.notBPE(file: path, modelType: type) }
        } else if model["merges"] == nil {
            throw TokenizerError.notBPE(file: path, modelType: "(no type and no merges)")
        }
        for option in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[option], !isNull(value), (value as? String) != "" {
                throw TokenizerError.unsupported(file: path, what: "model.\(option) \(value)")
            }
        }
        if let value = model["byte_fallback"] as? Bool, value {
            throw TokenizerError.unsupported(file: path, what: "model.byte_fallback true")
        }
        if let value = model["dropout"], !isNull(value), (value as? Double ?? 0) != 0 {
            throw TokenizerError.unsupported(file: path, what: "model.dropout \(value)")
        }
        ignoreMerges = model["ignore_merges"] as? Bool ?? false
        fuseUnknown = model["fuse_unk"] as? Bool ?? false

        guard let vocabValue = model["vocab"] else { throw TokenizerError.missingField(file: path, field: "model.vocab") }
        guard let vocabObject = vocabValue as? [String: Any] else {
            throw invalid("model.vocab", "is not an object of token -> id")
        }
        vocab.reserveCapacity(vocabObject.count)
        for (token, idValue) in vocabObject {
            guard let id = Self.integer(idValue), id >= 0, id <= Int(Int32.max) else {
                throw invalid("model.vocab", "maps '\(token)' to \(idValue), not a non-negative integer id")
            }
            vocab[token] = Int32(id)
        }
        if let unk = model["unk_token"], !isNull(unk) {
            guard let unk = unk as? String, let id = vocab[unk] else {
                throw invalid("model.unk_token", "\(unk) is not in the vocabulary")
            }
            unknownId = id
        }

        guard let mergesValue = model["merges"] else { throw TokenizerError.missingField(file: path, field: "model.merges") }
        guard let mergeList = mergesValue as? [Any] else { throw invalid("model.merges", "is not an array") }
        merges.reserveCapacity(mergeList.count)
        for (index, entry) in mergeList.enumerated() {
            let left: String, right: String
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.badMerge(file: path, index: index, reason: "\"\(line)\" is not two tokens separated by one space")
                }
                (left, right) = (String(parts[0]), String(parts[1]))
            } else if let pair = entry as? [Any] {
                guard pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String else {
                    throw TokenizerError.badMerge(file: path, index: index, reason: "\(pair) is not a pair of strings")
                }
                (left, right) = (a, b)
            } else {
                throw TokenizerError.badMerge(file: path, index: index, reason: "\(entry) is neither \"a b\" nor [\"a\", \"b\"]")
            }
            let description = "\"\(left)\" + \"\(right)\""
            guard let l = vocab[left] else {
                throw TokenizerError.mergeUnknownToken(file: path, index: index, merge: description, token: left)
            }
            guard let r = vocab[right] else {
                throw TokenizerError.mergeUnknownToken(file: path, index: index, merge: description, token: right)
            }
            guard let m = vocab[left + right] else {
                throw TokenizerError.mergeUnknownToken(file: path, index: index, merge: description, token: left + right)
            }
            merges.append((l, r, m))
        }

        // MARK: added tokens
        if let added = root["added_tokens"], !isNull(added) {
            guard let list = added as? [Any] else { throw invalid("added_tokens", "is not an array") }
            for (index, item) in list.enumerated() {
                guard let token = item as? [String: Any], let content = token["content"] as? String,
                      let id = token["id"].flatMap(Self.integer), id >= 0, id <= Int(Int32.max) else {
                    throw invalid("added_tokens[\(index)]", "needs a string 'content' and a non-negative integer 'id'")
                }
                for flag in ["lstrip", "rstrip", "single_word"] where token[flag] as? Bool == true {
                    throw TokenizerError.unsupported(file: path, what: "added token '\(content)' with \(flag) true")
                }
                addedTokens.append((content, Int32(id)))
            }
        }

        // MARK: pipeline
        if let normalizer = root["normalizer"], !isNull(normalizer) {
            let type = (normalizer as? [String: Any])?["type"] ?? normalizer
            throw TokenizerError.unsupported(file: path, what: "normalizer \(type)")
        }
        guard let preTokenizerValue = root["pre_tokenizer"], !isNull(preTokenizerValue) else {
            throw TokenizerError.unsupported(file: path, what: "missing pre_tokenizer (a byte-level BPE needs ByteLevel)")
        }
        guard var preTokenizer = preTokenizerValue as? [String: Any] else { throw invalid("pre_tokenizer", "is not an object") }
        if preTokenizer["type"] as? String == "Sequence",
           let members = preTokenizer["pretokenizers"] as? [Any], members.count == 1,
           let only = members[0] as? [String: Any] {
            preTokenizer = only
        }
        guard preTokenizer["type"] as? String == "ByteLevel" else {
            throw TokenizerError.unsupported(file: path, what: "pre_tokenizer \(preTokenizer["type"] ?? "without type") (only ByteLevel)")
        }
        addPrefixSpace = preTokenizer["add_prefix_space"] as? Bool ?? false
        useRegex = preTokenizer["use_regex"] as? Bool ?? true

        if let decoder = root["decoder"], !isNull(decoder) {
            guard let decoder = decoder as? [String: Any], decoder["type"] as? String == "ByteLevel" else {
                let type = (decoder as? [String: Any])?["type"] ?? decoder
                throw TokenizerError.unsupported(file: path, what: "decoder \(type) (only ByteLevel)")
            }
        }
    }

    /// A JSON integer as `JSONSerialization` returns it, or nil: not for a fraction, a number
    /// beyond `Int`, or a boolean (an `NSNumber` too, of Objective-C type `c`, which `as? Int`
    /// would turn into 0 or 1).
    private static func integer(_ value: Any) -> Int? {
        if let number = value as? NSNumber, String(cString: number.objCType) == "c" { return nil }
        return value as? Int
    }
}
