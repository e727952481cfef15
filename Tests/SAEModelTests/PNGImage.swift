import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A decoded 8-bit RGB or RGBA PNG (what headless Chromium's `--screenshot` writes), for
/// checking screenshots pixel by pixel. The zlib stream is inflated by the system's
/// `libz.so.1` (loaded with `dlopen`; Chromium itself depends on it, so it is there whenever
/// the browser is); filters 0-4 are undone here. Interlaced, paletted and 16-bit images are
/// refused.
struct PNGImage {
    struct DecodeError: Error, CustomStringConvertible { var description: String }

    let width: Int
    let height: Int
    /// `[height, width, 4]` RGBA bytes, row-major (alpha 255 for an RGB file).
    let rgba: [UInt8]

    init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw DecodeError(description: "not a PNG")
        }
        func be32(_ o: Int) -> Int { bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
        var offset = 8
        var width = 0, height = 0, colorType = -1
        var idat: [UInt8] = []
        while offset + 8 <= bytes.count {
            let length = be32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = offset + 8
            guard length >= 0, body + length + 4 <= bytes.count else { throw DecodeError(description: "chunk \(type) runs past the end") }
            switch type {
            case "IHDR":
                width = be32(body); height = be32(body + 4)
                let depth = bytes[body + 8], interlace = bytes[body + 12]
                colorType = Int(bytes[body + 9])
                guard depth == 8, colorType == 2 || colorType == 6, interlace == 0 else {
                    throw DecodeError(description: "unsupported PNG: depth \(depth), color type \(colorType), interlace \(interlace)")
                }
            case "IDAT": idat += bytes[body..<(body + length)]
            default: break
            }
            offset = body + length + 4
        }
        guard width > 0, height > 0, width <= 1 << 15, height <= 1 << 16 else { throw DecodeError(description: "bad size \(width)x\(height)") }
        let channels = colorType == 6 ? 4 : 3
        let stride = width * channels
        let raw = try Self.inflate(idat, expected: height * (stride + 1))
        var out = [UInt8](repeating: 255, count: width * height * 4)
        var previous = [UInt8](repeating: 0, count: stride), line = previous
        for y in 0..<height {
            let base = y * (stride + 1)
            let filter = raw[base]
            for i in 0..<stride {
                let x = raw[base + 1 + i]
                let a = i >= channels ? Int(line[i - channels]) : 0, b = Int(previous[i])
                let c = i >= channels ? Int(previous[i - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw DecodeError(description: "bad filter \(filter) on row \(y)")
                }
                line[i] = UInt8(truncatingIfNeeded: Int(x) + predictor)
            }
            for px in 0..<width {
                for ch in 0..<channels { out[(y * width + px) * 4 + ch] = line[px * channels + ch] }
            }
            swap(&previous, &line)
        }
        self.width = width
        self.height = height
        self.rgba = out
    }

    /// The RGBA value at (x, y) packed as `0xRRGGBBAA`.
    func pixel(_ x: Int, _ y: Int) -> UInt32 {
        let o = (y * width + x) * 4
        return UInt32(rgba[o]) << 24 | UInt32(rgba[o + 1]) << 16 | UInt32(rgba[o + 2]) << 8 | UInt32(rgba[o + 3])
    }

    /// Pixels in the rectangle (clipped to the image) that differ from its most common
    /// colour (the rectangle's own background: a blank plot is all one colour), and the
    /// number of distinct colours there (counted up to 64).
    func ink(x: Int, y: Int, width w: Int, height h: Int) -> (pixels: Int, total: Int, colours: Int, background: UInt32) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x1 > x0, y1 > y0 else { return (0, 0, 0, 0) }
        var counts: [UInt32: Int] = [:]
        for yy in y0..<y1 {
            for xx in x0..<x1 { counts[pixel(xx, yy), default: 0] += 1 }
        }
        let (background, most) = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!
        let total = (x1 - x0) * (y1 - y0)
        return (total - most, total, min(64, counts.count), background)
    }

    /// Pixels in the rectangle (clipped) with a colour rather than a grey:
    /// `max(r, g, b) - min(r, g, b) > 40`. A plot's frame (background, grid, axes, labels) is
    /// grey in the report's style; its data (bars, points, lines, heat-map cells) is coloured.
    func colouredPixels(x: Int, y: Int, width w: Int, height h: Int) -> Int {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x1 > x0, y1 > y0 else { return 0 }
        var n = 0
        for yy in y0..<y1 {
            for xx in x0..<x1 {
                let o = (yy * width + xx) * 4
                let r = rgba[o], g = rgba[o + 1], b = rgba[o + 2]
                if max(r, g, b) - min(r, g, b) > 40 { n += 1 }
            }
        }
        return n
    }

    private typealias Uncompress = @convention(c) (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt>?,
                                                   UnsafePointer<UInt8>?, UInt) -> Int32

    /// zlib's `uncompress` into a buffer of exactly `expected` bytes.
    private static func inflate(_ input: [UInt8], expected: Int) throws -> [UInt8] {
        guard let lib = dlopen("libz.so.1", RTLD_NOW) ?? dlopen("libz.so", RTLD_NOW) else {
            throw DecodeError(description: "cannot load libz.so.1 to inflate the PNG")
        }
        guard let symbol = dlsym(lib, "uncompress") else { throw DecodeError(description: "libz has no uncompress") }
        let uncompress = unsafeBitCast(symbol, to: Uncompress.self)
        var out = [UInt8](repeating: 0, count: expected)
        var length = UInt(expected)
        let status = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &length, i.baseAddress, UInt(i.count)) }
        }
        guard status == 0, length == UInt(expected) else {
            throw DecodeError(description: "zlib uncompress status \(status), \(length) of \(expected) bytes")
        }
        return out
    }
}
