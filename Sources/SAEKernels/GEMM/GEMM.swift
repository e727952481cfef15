/// Single-precision general matrix multiply, BLIS style.
///
/// `C = alpha * op(A) * op(B) + beta * C`, then the optional epilogue (column bias,
/// pre-activation copy, ReLU), all row-major:
/// - `op(A)` is `m x k`: `A` is stored `m x k` (`.none`, leading dimension `lda >= k`)
///   or `k x m` (`.transposed`, `lda >= m`);
/// - `op(B)` is `k x n`: `B` is stored `k x n` (`.none`, `ldb >= n`) or `n x k`
///   (`.transposed`, `ldb >= k`);
/// - `C` is `m x n` with `ldc >= n`. When `beta == 0`, C is not read.
///
/// Five loops around a register-blocked micro-kernel (6x16 with AVX2 + FMA, 12x32 with
/// AVX-512 when the CPU has it): JC over n (NC), PC over k (KC, pack a
/// KC x NC panel of B), IC over m (MC, pack an MC x KC block of A), JR and IR over the
/// packed panels. The work is cut into `threads` parts along m (or along n when m is
/// small); each part packs into its own reused aligned scratch. Every element of C is
/// computed by the same sequence of operations whatever the thread count, so results are
/// bitwise identical for any `threads`.
public enum GEMM {
    /// The width of the column blocks of `GEMMEpilogue.rowBlockMaxima`: the tile width of
    /// the micro-kernel this CPU uses (16 or 32).
    public static var outputBlockWidth: Int { GEMMKernel.best.nr }

    public static func multiply(
        _ opA: Transposition, _ opB: Transposition,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: GEMMEpilogue = .none,
        threads: Int = Parallel.defaultThreads
    ) {
        multiply(opA, opB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                 beta: beta, c: c, ldc: ldc, epilogue: epilogue, threads: threads, kernel: .best)
    }

    /// `multiply` with a chosen micro-kernel (the tests run every available one).
    package static func multiply(
        _ opA: Transposition, _ opB: Transposition,
        m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        epilogue: GEMMEpilogue, threads: Int, kernel: GEMMKernel
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM: negative shape m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, opA == .none ? k : m), "GEMM: lda \(lda) too small for op(A) \(m)x\(k) (\(opA))")
        precondition(ldb >= max(1, opB == .none ? n : k), "GEMM: ldb \(ldb) too small for op(B) \(k)x\(n) (\(opB))")
        precondition(ldc >= max(1, n), "GEMM: ldc \(ldc) too small for n=\(n)")
        precondition(epilogue.preActivations == nil || epilogue.preLeadingDimension >= n,
                     "GEMM: pre-activation leading dimension \(epilogue.preLeadingDimension) < n=\(n)")
        precondition(threads >= 1, "GEMM: threads must be >= 1")
        precondition(epilogue.rowBlockMaxima == nil || epilogue.rowBlockMaximaLeadingDimension >= (n + kernel.nr - 1) / kernel.nr,
                     "GEMM: block-maxima leading dimension too small for n=\(n)")
        precondition(epilogue.gelu == nil || !epilogue.relu, "GEMM: gelu and relu epilogues together")
        if let candidates = epilogue.rowTopK {
            precondition(!epilogue.relu && epilogue.gelu == nil && epilogue.preActivations == nil && epilogue.rowBlockMaxima == nil,
                         "GEMM: rowTopK takes only a column bias besides")
            precondition(candidates.rows >= m && candidates.width >= n,
                         "GEMM: rowTopK candidates [\(candidates.rows), \(candidates.width)] smaller than C [\(m), \(n)]")
            candidates.reset()
        }
        if m == 0 || n == 0 { return }

        // Small products are not worth a thread hand-off.
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let t = flops < 4e6 ? 1 : threads
        let mr = kernel.mr, nr = kernel.nr
        // A streaming top-k needs each row on one thread, its tiles in column order.
        let splitM = epilogue.rowTopK != nil || m >= t * 8 * mr || m / mr >= n / nr
        let panelsUp = (n + nr - 1) / nr * nr
        if splitM && t > 1 && k > 0 && k <= kernel.kcMax && k * panelsUp <= 1 << 24 {
            // Every thread would pack all of B: pack it once, the threads sharing the work.
            ScratchPool.withScratch(count: k * panelsUp) { packedB in
                Parallel.forRanges(n, threads: t, granule: nr) { cols in
                    GEMMPacking.packB(opB, b, ldb: ldb, p0: 0, kc: k, j0: cols.lowerBound, nc: cols.count, nr: nr,
                                      into: packedB + cols.lowerBound * k)
                }
                Parallel.forRanges(m, threads: t, granule: mr) { rows in
                    block(kernel, opA, opB, rows: rows, cols: 0..<n, k: k, alpha: alpha, a: a, lda: lda,
                          b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, epilogue: epilogue, packedWholeB: packedB)
                }
            }
        } else if splitM {
            Parallel.forRanges(m, threads: t, granule: mr) { rows in
                block(kernel, opA, opB, rows: rows, cols: 0..<n, k: k, alpha: alpha, a: a, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, epilogue: epilogue)
            }
        } else {
            Parallel.forRanges(n, threads: t, granule: nr) { cols in
                block(kernel, opA, opB, rows: 0..<m, cols: cols, k: k, alpha: alpha, a: a, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, epilogue: epilogue)
            }
        }
    }

    /// Computes the `rows x cols` block of C on the calling thread.
    static func block(
        _ kernel: GEMMKernel, _ opA: Transposition, _ opB: Transposition,
        rows: Range<Int>, cols: Range<Int>, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue,
        packedWholeB: UnsafePointer<Float>? = nil
    ) {
        let mr = kernel.mr, nr = kernel.nr
        let mcMax = kernel.mc, ncMax = kernel.nc
        if k == 0 {
            // C = beta * C, then the epilogue.
            let s = TileStore(alpha: 0, beta: beta, bias: nil, relu: false, pre: nil, ldPre: 0)
            applyScaleAndEpilogue(rows: rows, cols: cols, c: c, ldc: ldc, store: s, epilogue: epilogue, blockWidth: kernel.nr)
            return
        }
        let (kBlocks, kcMax) = kernel.kBlocks(k)
        // A streaming top-k takes each tile's row maxima from the micro-kernel, and when it
        // needs nothing from C, the tile itself goes to a scratch instead of C.
        let topK = epilogue.rowTopK != nil, tileInScratch = topK && kBlocks == 1 && beta == 0
        // The tile's row maxima get 16 slots, so the tile scratch after them starts on a cache
        // line (no store of the micro-kernel's epilogue splits one).
        let maximaSlots = 16
        assert(kernel.mr <= maximaSlots)
        let scratchExtra = topK ? maximaSlots + (tileInScratch ? kernel.mr * kernel.nr : 0) : 0
        let ncAlloc = (min(ncMax, cols.count) + nr - 1) / nr * nr
        let mcAlloc = (min(mcMax, rows.count) + mr - 1) / mr * mr
        ScratchPool.withScratch(count: kcMax * ncAlloc + scratchExtra) { packedB in
            ScratchPool.withScratch(count: kcMax * mcAlloc) { packedA in
                /// The micro-kernel calls of the block at (ic, jc) for k block kb; beta applies
                /// on the first k block only, the epilogue after the last.
                @inline(__always)
                func tile(ic: Int, mc: Int, jc: Int, nc: Int, kb: Int, kc: Int) -> Tile {
                    // The B panel: packed here, or the caller's whole packed B (one k block).
                    let panel = packedWholeB.map { UnsafeMutablePointer(mutating: $0 + jc * kc) } ?? packedB
                    return Tile(kernel: kernel, kc: kc, packedA: packedA, packedB: panel, c: c, ldc: ldc, alpha: alpha,
                         beta: kb == 0 ? beta : 1, epilogue: kb == kBlocks - 1 ? epilogue : .none,
                         ldPre: epilogue.preLeadingDimension, rowOrigin: ic, colOrigin: jc, mc: mc, nc: nc,
                         candidates: kb == kBlocks - 1 ? epilogue.rowTopK?.rowsState : nil,
                         tileMaxima: topK ? packedB + kcMax * ncAlloc : nil,
                         tileScratch: tileInScratch ? packedB + kcMax * ncAlloc + maximaSlots : nil)
                }
                if kernel.panelOfAInL1 {
                    // IC (large, L3) > PC > pack A once > JC (L2-sized B panel) > IR > JR:
                    // each mr x kc A micro-panel stays in L1 while the B panel streams past.
                    var ic = rows.lowerBound
                    while ic < rows.upperBound {
                        let mc = min(mcMax, rows.upperBound - ic)
                        for kb in 0..<kBlocks {
                            let pc = kb * kcMax
                            let kc = min(kcMax, k - pc)
                            GEMMPacking.packA(opA, a, lda: lda, i0: ic, mc: mc, p0: pc, kc: kc, mr: mr, into: packedA)
                            var jc = cols.lowerBound
                            while jc < cols.upperBound {
                                let nc = min(ncMax, cols.upperBound - jc)
                                if packedWholeB == nil {
                                    GEMMPacking.packB(opB, b, ldb: ldb, p0: pc, kc: kc, j0: jc, nc: nc, nr: nr, into: packedB)
                                }
                                let t = tile(ic: ic, mc: mc, jc: jc, nc: nc, kb: kb, kc: kc)
                                var ir = 0
                                while ir < mc {
                                    var jr = 0
                                    while jr < nc { t.run(ir: ir, jr: jr); jr += nr }
                                    ir += mr
                                }
                                jc += nc
                            }
                        }
                        ic += mc
                    }
                    return
                }
                // JC (L3) > PC > pack B > IC (L2) > pack A > JR > IR: each kc x nr B
                // micro-panel stays in L1 while the A block streams past.
                var jc = cols.lowerBound
                while jc < cols.upperBound {
                    let nc = min(ncMax, cols.upperBound - jc)
                    for kb in 0..<kBlocks {
                        let pc = kb * kcMax
                        let kc = min(kcMax, k - pc)
                        if packedWholeB == nil {
                            GEMMPacking.packB(opB, b, ldb: ldb, p0: pc, kc: kc, j0: jc, nc: nc, nr: nr, into: packedB)
                        }
                        var ic = rows.lowerBound
                        while ic < rows.upperBound {
                            let mc = min(mcMax, rows.upperBound - ic)
                            GEMMPacking.packA(opA, a, lda: lda, i0: ic, mc: mc, p0: pc, kc: kc, mr: mr, into: packedA)
                            let t = tile(ic: ic, mc: mc, jc: jc, nc: nc, kb: kb, kc: kc)
                            var jr = 0
                            while jr < nc {
                                var ir = 0
                                while ir < mc { t.run(ir: ir, jr: jr); ir += mr }
                                jr += nr
                            }
                            ic += mc
                        }
                    }
                    jc += nc
                }
            }
        }
    }

    /// `C = beta * C` then the epilogue, for k == 0.
    private static func applyScaleAndEpilogue(
        rows: Range<Int>, cols: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int,
        store s: TileStore, epilogue: GEMMEpilogue, blockWidth width: Int
    ) {
        defer {
            for i in rows {
                var j = cols.lowerBound
                while j < cols.upperBound {
                    let w = min(width, cols.upperBound - j)
                    if let g = epilogue.gelu { GELU.forwardTile(c + i * ldc + j, ld: ldc, rows: 1, cols: w, variant: g) }
                    if let candidates = epilogue.rowTopK {
                        var m = -Float.infinity
                        for q in 0..<w where !(c[i * ldc + j + q] <= m) { m = c[i * ldc + j + q] }
                        candidates.rowsState.offer(c + i * ldc + j, ld: ldc, row: i, tileRows: 1, col: j, tileCols: w, rowMaxima: &m)
                    }
                    j += w
                }
            }
        }
        for i in rows {
            for j in cols {
                var v: Float = s.beta == 0 ? 0 : s.beta * c[i * ldc + j]
                if let bias = epilogue.columnBias { v += bias[j] }
                if let p = epilogue.preActivations { p[i * epilogue.preLeadingDimension + j] = v }
                if let m = epilogue.rowBlockMaxima {
                    let q = m + i * epilogue.rowBlockMaximaLeadingDimension + j / width
                    if j % width == 0 || !(v <= q.pointee) { q.pointee = v }
                }
                if epilogue.relu && v < 0 { v = 0 }
                c[i * ldc + j] = v
            }
        }
    }
}

/// One (IC, JC, PC) block's worth of micro-kernel calls: the tile at packed offsets
/// (`ir`, `jr`) of the current A block and B panel.
private struct Tile {
    let kernel: GEMMKernel
    let kc: Int
    let packedA: UnsafeMutablePointer<Float>
    let packedB: UnsafeMutablePointer<Float>
    let c: UnsafeMutablePointer<Float>
    let ldc: Int
    let alpha: Float
    let beta: Float
    let epilogue: GEMMEpilogue
    let ldPre: Int
    let rowOrigin: Int, colOrigin: Int, mc: Int, nc: Int
    /// For a streaming top-k: where the micro-kernel leaves the tile's row maxima, and where
    /// the tile goes instead of C (nil: to C).
    /// `epilogue.rowTopK`'s storage (the epilogue keeps it alive for the whole GEMM).
    let candidates: TopKCandidates.Rows?
    let tileMaxima: UnsafeMutablePointer<Float>?
    let tileScratch: UnsafeMutablePointer<Float>?

    @inline(__always)
    func run(ir: Int, jr: Int) {
        let row = rowOrigin + ir, col = colOrigin + jr
        let rows = min(kernel.mr, mc - ir), cols = min(kernel.nr, nc - jr)
        let ldm = epilogue.rowBlockMaximaLeadingDimension
        let s = TileStore(
            alpha: alpha, beta: beta, bias: epilogue.columnBias.map { $0 + col }, relu: epilogue.relu,
            pre: epilogue.preActivations.map { $0 + row * ldPre + col }, ldPre: ldPre,
            blockMax: candidates != nil ? tileMaxima : epilogue.rowBlockMaxima.map { $0 + row * ldm + col / kernel.nr },
            ldBlockMax: candidates != nil ? 1 : ldm)
        let (out, ld) = candidates != nil && tileScratch != nil ? (tileScratch!, kernel.nr) : (c + row * ldc + col, ldc)
        kernel.run(kc: kc, a: packedA + ir * kc, b: packedB + jr * kc, c: out, ldc: ld, mr: rows, nr: cols, store: s)
        if let g = epilogue.gelu { GELU.forwardTile(out, ld: ld, rows: rows, cols: cols, variant: g) }
        if let candidates, candidates.anyAbove(row: row, tileRows: rows, rowMaxima: tileMaxima!) {
            candidates.offer(out, ld: ld, row: row, tileRows: rows, col: col, tileCols: cols, rowMaxima: tileMaxima!)
        }
    }
}
