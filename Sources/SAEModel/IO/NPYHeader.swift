/// Parsing and writing of the .npy preamble and its Python-dict header (see NPY.swift).
package enum NPYHeader {
    package struct Parsed {
        var dtype: DType
        var descr: String
        var shape: [Int]
        var dataStart: Int
    }

    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    private static let dtypes: [String: DType] = [
        "f2": .f16, "f4": .f32, "f8": .f64,
        "i1": .i8, "i2": .i16, "i4": .i32, "i8": .i64,
        "u1": .u8, "u2": .u16, "u4": .u32, "u8": .u64,
        "b1": .bool,
    ]

    package static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Parsed {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError.notNPY(file: path, reason: bytes.count < 10 ? "only \(bytes.count) bytes" : "missing the \\x93NUMPY magic")
        }
        let (major, minor) = (Int(bytes[6]), Int(bytes[7]))
        let headerLength: Int
        let headerStart: Int
        switch (major, minor) {
        case (1, 0):
            headerLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            headerStart = 10
        case (2, 0), (3, 0):
            guard bytes.count >= 12 else { throw NPYError.notNPY(file: path, reason: "only \(bytes.count) bytes") }
            headerLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            headerStart = 12
        default:
            throw NPYError.unsupportedVersion(file: path, major: major, minor: minor)
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else {
            throw NPYError.notNPY(file: path, reason: "header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        guard let text = String(validating: bytes[headerStart..<dataStart], as: UTF8.self) else {
            throw NPYError.badHeader(file: path, reason: "header is not UTF-8 text")
        }
        var parser = PythonLiteralParser(text: Array(text.unicodeScalars))
        let dict: [String: PythonLiteral]
        do { dict = try parser.parseDict() } catch let e as PythonLiteralParser.Failure {
            throw NPYError.badHeader(file: path, reason: "\(e.message) in \(text.trimmingTrailingWhitespace())")
        }

        guard let descrValue = dict["descr"] else { throw NPYError.badHeader(file: path, reason: "no 'descr' key") }
        guard case let .string(descr) = descrValue else {
            throw NPYError.unsupportedDType(file: path, descr: "structured dtype")
        }
        guard case let .bool(fortran)? = dict["fortran_order"] else {
            throw NPYError.badHeader(file: path, reason: "no boolean 'fortran_order' key")
        }
        guard case let .tuple(shape)? = dict["shape"] else {
            throw NPYError.badHeader(file: path, reason: "no tuple 'shape' key")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw NPYError.badHeader(file: path, reason: "negative dimension in shape") }
        if fortran { throw NPYError.fortranOrder(file: path) }

        guard descr.count == 3 else { throw NPYError.unsupportedDType(file: path, descr: descr) }
        let order = descr.first!
        let code = String(descr.dropFirst())
        guard let dtype = dtypes[code] else { throw NPYError.unsupportedDType(file: path, descr: descr) }
        switch order {
        case "<", "|", "=": break
        case ">" where dtype.byteSize > 1: throw NPYError.bigEndian(file: path, descr: descr)
        case ">": break
        default: throw NPYError.unsupportedDType(file: path, descr: descr)
        }
        return Parsed(dtype: dtype, descr: descr, shape: shape, dataStart: dataStart)
    }

    /// The preamble and header for a C-order array, padded so the data starts at a
    /// multiple of 64, as NumPy writes it.
    package static func encode(descr: String, shape: [Int]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        var preamble = magic
        var lengthBytes = 2
        if (10 + dict.count + 1 + 63) / 64 * 64 - 10 > Int(UInt16.max) {
            preamble += [2, 0]
            lengthBytes = 4
        } else {
            preamble += [1, 0]
        }
        let total = (preamble.count + lengthBytes + dict.count + 1 + 63) / 64 * 64
        let padding = total - preamble.count - lengthBytes - dict.count - 1
        dict += repeatElement(UInt8(ascii: " "), count: padding)
        dict.append(UInt8(ascii: "\n"))
        if lengthBytes == 2 {
            let n = UInt16(dict.count)
            preamble += [UInt8(n & 0xff), UInt8(n >> 8)]
        } else {
            let n = UInt32(dict.count)
            preamble += (0..<4).map { UInt8((n >> (8 * $0)) & 0xff) }
        }
        return preamble + dict
    }
}

/// The values an .npy header dict may hold.
private enum PythonLiteral {
    case string(String)
    case bool(Bool)
    case tuple([Int])
    case other
}

/// Parses `{'key': value, ...}` with string, True/False, tuple-of-int values (and skips
/// lists/dicts, which only structured dtypes use).
private struct PythonLiteralParser {
    struct Failure: Error { let message: String }
    let text: [Unicode.Scalar]
    var position = 0

    mutating func skipSpace() {
        while position < text.count, text[position].properties.isWhitespace { position += 1 }
    }

    mutating func expect(_ c: Unicode.Scalar) throws {
        skipSpace()
        guard position < text.count, text[position] == c else { throw Failure(message: "expected '\(c)'") }
        position += 1
    }

    mutating func peek() -> Unicode.Scalar? {
        skipSpace()
        return position < text.count ? text[position] : nil
    }

    mutating func parseDict() throws -> [String: PythonLiteral] {
        try expect("{")
        var dict: [String: PythonLiteral] = [:]
        while true {
            if peek() == "}" { position += 1; break }
            guard case let .string(key) = try parseValue() else { throw Failure(message: "dict key is not a string") }
            try expect(":")
            guard dict[key] == nil else { throw Failure(message: "key '\(key)' appears twice") }
            dict[key] = try parseValue()
            if peek() == "," { position += 1; continue }
            try expect("}")
            break
        }
        skipSpace()
        guard position == text.count else { throw Failure(message: "text after the dict") }
        return dict
    }

    mutating func parseValue() throws -> PythonLiteral {
        guard let c = peek() else { throw Failure(message: "unexpected end") }
        switch c {
        case "'", "\"":
            position += 1
            var s = ""
            while position < text.count, text[position] != c {
                if text[position] == "\\" { position += 1 }
                guard position < text.count else { break }
                s.unicodeScalars.append(text[position])
                position += 1
            }
            guard position < text.count else { throw Failure(message: "unterminated string") }
            position += 1
            return .string(s)
        case "(":
            position += 1
            var items: [Int] = []
            while true {
                if peek() == ")" { position += 1; break }
                items.append(try parseInt())
                if peek() == "," { position += 1; continue }
                try expect(")")
                break
            }
            return .tuple(items)
        case "[", "{":
            // Structured dtype descriptions; skip the balanced brackets.
            var depth = 0
            repeat {
                guard position < text.count else { throw Failure(message: "unbalanced brackets") }
                if text[position] == "[" || text[position] == "{" || text[position] == "(" { depth += 1 }
                if text[position] == "]" || text[position] == "}" || text[position] == ")" { depth -= 1 }
                position += 1
            } while depth > 0
            return .other
        default:
            var word = ""
            while position < text.count, text[position].properties.isAlphabetic || ("0"..."9").contains(text[position]) || text[position] == "-" {
                word.unicodeScalars.append(text[position])
                position += 1
            }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "": throw Failure(message: "unexpected character '\(c)'")
            default: throw Failure(message: "unexpected value '\(word)'")
            }
        }
    }

    mutating func parseInt() throws -> Int {
        skipSpace()
        var digits = ""
        while position < text.count, ("0"..."9").contains(text[position]) || (digits.isEmpty && text[position] == "-") {
            digits.unicodeScalars.append(text[position])
            position += 1
        }
        if position < text.count, text[position] == "L" { position += 1 }  // Python 2 long
        guard let v = Int(digits) else { throw Failure(message: "expected an integer") }
        return v
    }
}

private extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = self
        while let last = s.unicodeScalars.last, last.properties.isWhitespace { s.unicodeScalars.removeLast() }
        return s
    }
}
