/// Bit-level conversions between Float and the 16-bit float formats, written out so
/// they behave the same on every platform (Swift's `Float16` is missing on some).
///
/// Float -> 16-bit conversions round to nearest, ties to even; values beyond the
/// largest finite 16-bit value become infinity, values below half the smallest
/// subnormal become (signed) zero, and NaN stays NaN (quieted, sign and top payload
/// bits kept). 16-bit -> Float conversions are exact.
package enum HalfFloat {
    /// IEEE binary16 bits -> Float (exact, subnormals included).
    @inline(__always)
    package static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1f
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1f {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Float -> IEEE binary16 bits, rounding to nearest even.
    @inline(__always)
    package static func halfBits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xff)
        let mantissa = x & 0x7f_ffff
        if exponent == 0xff {
            if mantissa == 0 { return sign | 0x7c00 }
            return sign | 0x7e00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let e = exponent - 127 + 15  // biased half exponent
        if e >= 0x1f { return sign | 0x7c00 }
        if e <= 0 {
            // Half subnormal (or zero): mantissa * 2^-24 with the implicit bit restored.
            if e < -10 { return sign }
            let m = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var h = m >> shift
            let rest = m & ((1 << shift) - 1)
            let halfway: UInt32 = 1 << (shift - 1)
            if rest > halfway || (rest == halfway && (h & 1) == 1) { h += 1 }
            return sign | UInt16(truncatingIfNeeded: h)
        }
        var h = (UInt32(e) << 10) | (mantissa >> 13)
        let rest = mantissa & 0x1fff
        if rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1) { h += 1 }  // may carry into infinity
        return sign | UInt16(truncatingIfNeeded: h)
    }

    /// bfloat16 bits -> Float (exact).
    @inline(__always)
    package static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float -> bfloat16 bits, rounding to nearest even.
    @inline(__always)
    package static func bfloat16Bits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
        let rounded = x &+ 0x7fff &+ ((x >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}
