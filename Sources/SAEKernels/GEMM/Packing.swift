/// Packing of GEMM operands into the panel layouts the micro-kernel streams.
///
/// Packed A: `ceil(mc / MR)` panels; panel `q` holds rows `q*MR ..< q*MR + MR` of the
/// block as `kc` groups of `MR` consecutive values (`dst[q*MR*kc + p*MR + i]`).
/// Packed B: `ceil(nc / NR)` panels; panel `q` holds columns `q*NR ..< q*NR + NR` as
/// `kc` groups of `NR` consecutive values. Rows/columns past the edge are zero, so
/// the micro-kernel always computes full tiles.
enum GEMMPacking {
    /// Packs `op(A)[i0 ..< i0+mc, p0 ..< p0+kc]`.
    static func packA(
        _ op: Transposition, _ a: UnsafePointer<Float>, lda: Int,
        i0: Int, mc: Int, p0: Int, kc: Int, mr: Int, into dst: UnsafeMutablePointer<Float>
    ) {
        var panel = 0
        while panel < mc {
            let rows = min(mr, mc - panel)
            let d = dst + panel * kc
            if op == .none {
                // A(i, p) = a[i*lda + p]: the panel's rows become its columns.
                transposeRows(a + (i0 + panel) * lda + p0, ld: lda, rows: rows, kc: kc, into: d, width: mr)
            } else {
                // A(i, p) = a[p*lda + i]: MR consecutive values per p.
                let src = a + p0 * lda + i0 + panel
                for p in 0..<kc {
                    let s = src + p * lda, o = d + p * mr
                    for ii in 0..<rows { o[ii] = s[ii] }
                }
            }
            if rows < mr {
                for p in 0..<kc { for ii in rows..<mr { d[p * mr + ii] = 0 } }
            }
            panel += mr
        }
    }

    /// Packs `op(B)[p0 ..< p0+kc, j0 ..< j0+nc]`.
    static func packB(
        _ op: Transposition, _ b: UnsafePointer<Float>, ldb: Int,
        p0: Int, kc: Int, j0: Int, nc: Int, nr: Int, into dst: UnsafeMutablePointer<Float>
    ) {
        var panel = 0
        while panel < nc {
            let cols = min(nr, nc - panel)
            let d = dst + panel * kc
            if op == .none {
                // B(p, j) = b[p*ldb + j]: NR consecutive values per p.
                let src = b + p0 * ldb + j0 + panel
                if cols == nr {
                    // nr is a multiple of 8: copy eight at a time.
                    for p in 0..<kc {
                        let s = src + p * ldb, o = d + p * nr
                        var j = 0
                        while j < nr {
                            SIMDMath.store(SIMDMath.load(s + j), o + j)
                            j += 8
                        }
                    }
                } else {
                    for p in 0..<kc {
                        let s = src + p * ldb
                        for jj in 0..<cols { d[p * nr + jj] = s[jj] }
                        for jj in cols..<nr { d[p * nr + jj] = 0 }
                    }
                }
            } else {
                // B(p, j) = b[j*ldb + p]: for each p gather one value from each of the NR
                // stored rows (each row streams through its own cache lines), write NR
                // contiguous values.
                if cols == nr {
                    transposeRows(b + (j0 + panel) * ldb + p0, ld: ldb, rows: nr, kc: kc, into: d, width: nr)
                } else {
                    for jj in 0..<cols {
                        let src = b + (j0 + panel + jj) * ldb + p0
                        for p in 0..<kc { d[p * nr + jj] = src[p] }
                    }
                    for p in 0..<kc { for jj in cols..<nr { d[p * nr + jj] = 0 } }
                }
            }
            panel += nr
        }
    }

    /// `dst[p * width + i] = src[i * ld + p]` for `i < rows <= width`, `p < kc`: eight values
    /// of each row per vector load, stored to eight groups (no store waits on a load).
    @inline(__always)
    static func transposeRows(_ src: UnsafePointer<Float>, ld: Int, rows: Int, kc: Int,
                              into dst: UnsafeMutablePointer<Float>, width: Int) {
        var p = 0
        while p + 8 <= kc {
            for i in 0..<rows {
                let v = SIMDMath.load(src + i * ld + p)
                let o = dst + p * width + i
                o[0] = v[0]; o[width] = v[1]; o[2 * width] = v[2]; o[3 * width] = v[3]
                o[4 * width] = v[4]; o[5 * width] = v[5]; o[6 * width] = v[6]; o[7 * width] = v[7]
            }
            p += 8
        }
        while p < kc {
            for i in 0..<rows { dst[p * width + i] = src[i * ld + p] }
            p += 1
        }
    }
}
