/// The GPT-2 pre-tokenization split, written out by hand from its regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// with `\s` the Unicode White_Space property, `\p{L}` the letter categories (Lu Ll Lt
/// Lm Lo) and `\p{N}` the number categories (Nd Nl No). At each position the first
/// alternative that matches wins (regex alternation order), which gives:
/// - an apostrophe contraction (`'s` `'t` `'re` `'ve` `'m` `'ll` `'d`, case-sensitive);
/// - an optional single space (U+0020) and a run of letters, or of numbers, or of
///   characters that are none of whitespace, letter, number;
/// - a run of whitespace, minus its last character when a non-space follows it (that
///   character then starts the next piece, e.g. the space of " word");
/// - else a single whitespace character.
/// The pieces cover the text without gaps.
package enum GPT2PreTokenizer {
    private enum Class: UInt8 { case letter, number, space, other }

    private static func classify(_ s: Unicode.Scalar) -> Class {
        if s.isASCII {
            switch s.value {
            case 0x41...0x5a, 0x61...0x7a: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0d, 0x20: return .space
            default: return .other
            }
        }
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// The pieces of `scalars` as ranges of indices, in order.
    package static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let n = scalars.count
        let classes = scalars.map(classify)
        var pieces: [Range<Int>] = []
        var i = 0
        func run(of c: Class, from start: Int) -> Int {
            var j = start
            while j < n && classes[j] == c { j += 1 }
            return j
        }
        while i < n {
            // 's 't 're 've 'm 'll 'd
            if scalars[i] == "'", i + 1 < n {
                let a = scalars[i + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" {
                    pieces.append(i..<(i + 2)); i += 2; continue
                }
                if i + 2 < n {
                    let b = scalars[i + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                        pieces.append(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            // ' ?' followed by a run of one class (letters, numbers, or other)
            let body = (scalars[i] == " " && i + 1 < n && classes[i + 1] != .space) ? i + 1 : i
            if classes[body] != .space {
                let end = run(of: classes[body], from: body)
                pieces.append(i..<end); i = end; continue
            }
            // whitespace
            let end = run(of: .space, from: i)
            if end == n || end - i == 1 {
                pieces.append(i..<end)  // \s+(?!\S) at the end, or the single \s+
            } else {
                pieces.append(i..<(end - 1))  // leave the last one for the next piece
            }
            i = pieces.last!.upperBound
        }
        return pieces
    }
}
