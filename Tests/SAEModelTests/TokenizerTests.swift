import Foundation
@testable import SAEModel
import XCTest

final class TokenizerTests: XCTestCase {
    static let tokenizerURL = Fixtures.url("tiny-gelu-1l/tokenizer.json")
    static let tokenizer = try! BPETokenizer(contentsOf: tokenizerURL)

    /// Texts and ids from `tokenizer-reference.json` or another list in that format.
    private func cases(_ json: Data) throws -> [(text: String, ids: [Int32])] {
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [[String: Any]])
        return try list.map {
            (try XCTUnwrap($0["text"] as? String), try XCTUnwrap($0["ids"] as? [Int]).map(Int32.init))
        }
    }

    func testMatchesHuggingFaceOnTheReferenceTexts() throws {
        let reference = try cases(Data(contentsOf: Fixtures.url("tiny-gelu-1l/tokenizer-reference.json")))
        XCTAssertGreaterThanOrEqual(reference.count, 14)
        for (text, ids) in reference {
            XCTAssertEqual(Self.tokenizer.encode(text), ids, text.debugDescription)
            XCTAssertEqual(Self.tokenizer.decode(ids), text)
        }
    }

    /// Ids from Hugging Face tokenizers 0.23.3 for texts beyond the fixture's.
    static let moreReferenceCases = #"[{"text": "Hello\r\nWorld\r\n\r\n", "ids": [3852, 202, 199, 55, 272, 1137, 202, 199, 202, 199]}, {"text": "tabs\t\tand  spaces   \n\t x", "ids": [84, 1844, 198, 198, 361, 221, 1739, 972, 259, 199, 198, 594]}, {"text": "e\u0301 combining, \u00f1 precomposed", "ids": [69, 137, 224, 431, 700, 264, 311, 12, 221, 128, 110, 922, 790, 79, 733]}, {"text": "\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67 family, \ud83c\uddeb\ud83c\uddf7 flag", "ids": [173, 254, 240, 103, 2824, 236, 173, 254, 240, 103, 2824, 236, 173, 254, 240, 101, 293, 3196, 12, 221, 173, 254, 230, 105, 173, 254, 230, 116, 3006]}, {"text": "x\u00a0y\u2003z\u3000w", "ids": [88, 127, 255, 89, 2824, 226, 90, 160, 223, 223, 87]}, {"text": "HE'S they'LL we'd I'm it's 'tis", "ids": [1657, 7, 51, 2470, 7, 3272, 789, 4021, 573, 7, 77, 639, 1016, 281, 299, 83]}, {"text": "\u0969\u096a\u096b numbers \u2177 \u00bd \u00b2", "ids": [157, 99, 103, 157, 99, 104, 157, 99, 105, 1308, 83, 221, 159, 228, 116, 221, 127, 122, 221, 127, 111]}, {"text": "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", "ids": [150, 228, 149, 110, 149, 256, 149, 102, 149, 101, 221, 149, 102, 149, 101, 150, 227, 149, 118, 149, 101, 150, 227, 150, 228]}, {"text": "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "ids": [157, 98, 102, 157, 98, 107, 157, 98, 117, 157, 99, 236, 157, 98, 98, 157, 99, 230, 221, 157, 98, 100, 157, 99, 224, 157, 98, 102, 157, 98, 124, 157, 98, 108, 157, 98, 123]}, {"text": "\u0000\u0001\u007f", "ids": [189, 190, 222]}, {"text": "   ", "ids": [259]}, {"text": "\n", "ids": [199]}, {"text": " leading space", "ids": [944, 3214, 4075]}, {"text": "trailing\n   \n", "ids": [457, 3290, 278, 199]}, {"text": "a<|endoftext|>b<|endoftext|><|endoftext|>", "ids": [65, 0, 66, 0, 0]}, {"text": "<|endoftext", "ids": [28, 92, 297, 511, 70, 451]}, {"text": "==========================", "ids": [2137, 1158, 506]}, {"text": "    def f(x):\n        return x**2  # comment\n", "ids": [259, 309, 293, 8, 88, 289, 262, 389, 594, 577, 18, 221, 295, 2814, 199]}, {"text": "\ufb01 ligature \u01c5 titlecase", "ids": [172, 106, 224, 1302, 71, 1705, 221, 132, 228, 221, 2376, 1568]}, {"text": "$100.00 & 50% off!!!", "ids": [4, 1504, 14, 337, 2097, 819, 16, 5, 1723, 1, 1, 1]}]"#

    func testMatchesHuggingFaceOnMoreTexts() throws {
        for (text, ids) in try cases(Data(Self.moreReferenceCases.utf8)) {
            XCTAssertEqual(Self.tokenizer.encode(text), ids, text.debugDescription)
            XCTAssertEqual(Self.tokenizer.decode(ids), text, text.debugDescription)
        }
    }

    /// Pieces from Hugging Face's `pre_tokenizers.ByteLevel(add_prefix_space=False)`.
    static let preTokenizerCases = #"[{"text": "Hello world's  test", "pieces": ["Hello", "\u0120world", "'s", "\u0120", "\u0120test"]}, {"text": "a  \t\nb", "pieces": ["a", "\u0120\u0120\u0109", "\u010a", "b"]}, {"text": "x   ", "pieces": ["x", "\u0120\u0120\u0120"]}, {"text": " 'll 'LL", "pieces": ["\u0120'", "ll", "\u0120'", "LL"]}, {"text": "x.\"'s", "pieces": ["x", ".\"'", "s"]}, {"text": "\t\tx", "pieces": ["\u0109", "\u0109", "x"]}, {"text": "3.14e10 ,, ..", "pieces": ["3", ".", "14", "e", "10", "\u0120,,", "\u0120.."]}, {"text": "\u65e5\u672c\u8a9e \u30c6\u30b9\u30c8", "pieces": ["\u00e6\u0139\u00a5\u00e6\u013e\u00ac\u00e8\u00aa\u0140", "\u0120\u00e3\u0125\u0128\u00e3\u0124\u00b9\u00e3\u0125\u012a"]}, {"text": "  \r\n  y", "pieces": ["\u0120\u0120\u010d\u010a\u0120", "\u0120y"]}]"#

    func testPreTokenizerSplitsAsHuggingFaceDoes() throws {
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(Self.preTokenizerCases.utf8)) as? [[String: Any]])
        for item in list {
            let text = try XCTUnwrap(item["text"] as? String)
            let expected = try XCTUnwrap(item["pieces"] as? [String])
            let scalars = Array(text.unicodeScalars)
            let pieces = GPT2PreTokenizer.split(scalars).map { range -> String in
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars[range])
                return ByteLevel.encode(String(s).utf8)
            }
            XCTAssertEqual(pieces, expected, text.debugDescription)
        }
    }

    func testRoundTripsOtherText() {
        let texts = [
            "", " ", "  ", "\t", "\r\n", "a\r\n\r\nb\r", "\n\n\n", "   x   y   ", "x\u{2028}y\u{85}z",
            "emoji 🧑🏽‍💻 and flags 🇯🇵🇧🇷", "ZWJ\u{200D}joiner", "Ελληνικά κείμενο", "한국어 텍스트", "עִבְרִית",
            "\u{1F600}\u{1F601}", "tab\tinside\tline", "'s's 'S 'RE", "<|endoftext|><|endoftext|>x",
            "<|endof<|endoftext|>text|>", "100,000.5e-3", "\u{0}\u{1}\u{2}", String(repeating: "ab ", count: 500),
            String(repeating: "=", count: 3000), "e\u{301}\u{302}\u{303}",
        ]
        for text in texts {
            XCTAssertEqual(Self.tokenizer.decode(Self.tokenizer.encode(text)), text, text.debugDescription)
        }
    }

    func testVocabularyLookups() throws {
        let t = Self.tokenizer
        XCTAssertEqual(t.vocabSize, 4096)
        XCTAssertEqual(t.id(of: "<|endoftext|>"), 0)
        XCTAssertEqual(t.token(of: 0), "<|endoftext|>")
        XCTAssertEqual(t.id(of: "!"), 1)
        let space = try XCTUnwrap(t.id(of: "\u{120}"))  // "Ġ", the byte-level space
        XCTAssertEqual(t.encode(" "), [space])
        XCTAssertNil(t.id(of: "not a token"))
        XCTAssertNil(t.token(of: 4096))
        XCTAssertNil(t.token(of: -1))
        XCTAssertEqual(t.decode([65, 9999, 66]), "ab", "unknown ids are skipped")
        XCTAssertEqual(t.decode([Int32(t.id(of: "\u{e6}")!)]), "\u{FFFD}", "a lone UTF-8 lead byte decodes to U+FFFD")
    }

    // MARK: - tokenizer.json variants and errors

    private func modifiedTokenizer(_ scratch: ScratchDirectory, _ name: String,
                                   _ change: (inout [String: Any]) -> Void) throws -> URL {
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.tokenizerURL)) as? [String: Any])
        change(&root)
        let url = scratch.file(name)
        try JSONSerialization.data(withJSONObject: root).write(to: url)
        return url
    }

    private func modifyModel(_ root: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
        var model = root["model"] as! [String: Any]
        change(&model)
        root["model"] = model
    }

    func testReadsMergesWrittenAsStrings() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let url = try modifiedTokenizer(scratch, "old.json") { root in
            self.modifyModel(&root) { model in
                model["merges"] = (model["merges"] as! [[String]]).map { $0.joined(separator: " ") }
            }
        }
        let old = try BPETokenizer(contentsOf: url)
        for (text, ids) in try cases(Data(contentsOf: Fixtures.url("tiny-gelu-1l/tokenizer-reference.json"))) {
            XCTAssertEqual(old.encode(text), ids, text.debugDescription)
        }
    }

    func testAddPrefixSpaceIsFollowed() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let url = try modifiedTokenizer(scratch, "prefix.json") { root in
            var pre = root["pre_tokenizer"] as! [String: Any]
            pre["add_prefix_space"] = true
            root["pre_tokenizer"] = pre
        }
        let prefixed = try BPETokenizer(contentsOf: url)
        XCTAssertEqual(prefixed.encode("hello"), Self.tokenizer.encode(" hello"))
        XCTAssertEqual(prefixed.encode(" hello"), Self.tokenizer.encode(" hello"))
    }

    private func assertLoadFails(_ url: URL, _ check: (TokenizerError) -> Bool,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try BPETokenizer(contentsOf: url), file: file, line: line) { error in
            guard let e = error as? TokenizerError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(check(e), "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(url.path), "message names the file: \(e)", file: file, line: line)
        }
    }

    func testMalformedTokenizerFilesGiveTheirErrors() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let notJSON = scratch.write("notjson.json", Array("{ vocab: ".utf8))
        assertLoadFails(notJSON) { if case .notJSON = $0 { return true } else { return false } }

        let wordPiece = try modifiedTokenizer(scratch, "wp.json") { root in
            self.modifyModel(&root) { $0["type"] = "WordPiece" }
        }
        assertLoadFails(wordPiece) { $0 == .notBPE(file: wordPiece.path, modelType: "WordPiece") }

        let noVocab = try modifiedTokenizer(scratch, "novocab.json") { root in
            self.modifyModel(&root) { $0["vocab"] = nil }
        }
        assertLoadFails(noVocab) { $0 == .missingField(file: noVocab.path, field: "model.vocab") }

        let unknownMerge = try modifiedTokenizer(scratch, "merge.json") { root in
            self.modifyModel(&root) { model in
                var merges = model["merges"] as! [[String]]
                merges[5] = ["Ġ", "zzqq"]
                model["merges"] = merges
            }
        }
        assertLoadFails(unknownMerge) {
            $0 == .mergeUnknownToken(file: unknownMerge.path, index: 5, merge: "\"Ġ\" + \"zzqq\"", token: "zzqq")
        }

        let badMerge = try modifiedTokenizer(scratch, "badmerge.json") { root in
            self.modifyModel(&root) { model in model["merges"] = ["a b c"] }
        }
        assertLoadFails(badMerge) { if case .badMerge(_, 0, _) = $0 { return true } else { return false } }

        let normalizer = try modifiedTokenizer(scratch, "norm.json") { root in
            root["normalizer"] = ["type": "NFKC"]
        }
        assertLoadFails(normalizer) { if case .unsupported = $0 { return true } else { return false } }

        let metaspace = try modifiedTokenizer(scratch, "meta.json") { root in
            root["pre_tokenizer"] = ["type": "Metaspace"]
        }
        assertLoadFails(metaspace) { if case .unsupported = $0 { return true } else { return false } }

        assertLoadFails(scratch.file("absent.json")) { if case .cannotRead = $0 { return true } else { return false } }
    }
}

extension TokenizerTests {
    /// The eval token file was made by Hugging Face tokenizers, one source file at a time
    /// after an `<|endoftext|>`: decoding it and encoding the text again gives it back.
    func testReEncodingTheEvalStreamGivesTheSameIds() throws {
        let data = try TokenDataset(contentsOf: Fixtures.url("tiny-gelu-1l/tokens-eval.bin"))
        let ids = try data.tokens(in: 0..<data.count)
        let start = Date()
        let text = Self.tokenizer.decode(ids)
        let again = Self.tokenizer.encode(text)
        print("decode + encode of \(ids.count) tokens: \(Date().timeIntervalSince(start)) s")
        XCTAssertEqual(again.count, ids.count)
        if let i = zip(again, ids).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            XCTFail("first difference at token \(i): \(again[i]) vs \(ids[i])")
        }
    }

    /// Ids no Int32 holds, non-integral ids and nesting deep enough to exhaust a recursive
    /// parser's stack: each is an error naming the file, none a trap.
    func testHostileIdsAndNestingGiveErrors() throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        func tokenizer(vocabId: String, addedId: String = "1") -> [UInt8] {
            Array("""
            {"model": {"type": "BPE", "vocab": {"a": \(vocabId), "b": 1}, "merges": []},
             "added_tokens": [{"id": \(addedId), "content": "<x>"}], "pre_tokenizer": {"type": "ByteLevel"}}
            """.utf8)
        }
        let ok = scratch.write("ok.json", tokenizer(vocabId: "0"))
        XCTAssertEqual(try BPETokenizer(contentsOf: ok).vocabSize, 2, "the hand-written file loads")
        for (i, id) in ["4294967296", "2147483648", "-1", "2.5", "1e300", "\"0\"", "true"].enumerated() {
            let url = scratch.write("vocab\(i).json", tokenizer(vocabId: id))
            assertLoadFails(url) {
                if case .invalidField(_, "model.vocab", _) = $0 { return true } else { return false }
            }
            let added = scratch.write("added\(i).json", tokenizer(vocabId: "0", addedId: id))
            assertLoadFails(added) {
                if case .invalidField(_, "added_tokens[0]", _) = $0 { return true } else { return false }
            }
        }
        for (name, text) in [("deep-array", String(repeating: "[", count: 100_000)),
                             ("deep-object", "{\"model\": " + String(repeating: "{\"a\": ", count: 100_000) + "1"
                                 + String(repeating: "}", count: 100_001))] {
            let url = scratch.write(name + ".json", Array(text.utf8))
            assertLoadFails(url) { if case .notJSON = $0 { return true } else { return false } }
        }
    }
}
