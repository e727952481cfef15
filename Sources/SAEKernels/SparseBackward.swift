/// The SAE backward pass restricted to the active latents.
///
/// With codes `f` (sparse, `rows x width`), a weight matrix `W` (`width x d`, row-major) and
/// a gradient `G` with respect to the decoded output (`rows x d`):
/// - `codeGradients`: `g[e] = G[r] . W[j]` for every stored entry `e = (r, j)` (the gradient
///   with respect to the active codes; with `W = W_dec`).
/// - `accumulateWeightGradients`: `gradW[j] += sum_{e = (r, j)} c[e] X[r]` and
///   `gradBias[j] += sum c[e]`, for every latent `j` that fires, using the by-feature index.
///   With `W = W_dec`, `c = f`, `X = G` it is the decoder gradient; with `W = W_enc^T`
///   (`d_sae x d_in`), `c = dL/dpre`, `X = x - b_dec` it is the encoder gradient (W_enc's
///   columns, stored as rows) and `b_enc`'s.
/// The input gradient `dL/dx_c = sum_j dpre_j W_enc[:, j]` is a `SparseDecode.decode` of
/// the `dpre` codes through `W_enc^T`. Every cost scales with the stored entries, not `width`.
public enum SparseBackward {
    public static func codeGradients(
        _ codes: SparseCodes, outputGradient g: UnsafePointer<Float>, weights: UnsafePointer<Float>, d: Int,
        into grad: UnsafeMutablePointer<Float>, threads: Int = Parallel.defaultThreads
    ) {
        precondition(d > 0, "SparseBackward.codeGradients: d must be positive")
        let work = codes.nonzeroCount * d
        let t = work < 1 << 17 ? 1 : threads
        codes.offsets.withUnsafeBufferPointer { op in codes.indices.withUnsafeBufferPointer { ip in
            Parallel.forRanges(codes.rows, threads: t) { range in
                for r in range {
                    let gr = g + r * d
                    for e in op[r]..<op[r + 1] {
                        grad[e] = dot(gr, weights + Int(ip[e]) * d, d)
                    }
                }
            }
        }}
    }

    public static func accumulateWeightGradients(
        _ codes: SparseCodes, byFeature: SparseCodesByFeature, coefficients c: UnsafePointer<Float>,
        inputs x: UnsafePointer<Float>, d: Int,
        gradWeights: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(d > 0, "SparseBackward.accumulateWeightGradients: d must be positive")
        precondition(byFeature.width == codes.width && byFeature.rowsOf.count == codes.nonzeroCount,
                     "SparseBackward: the by-feature index does not match the codes")
        let width = codes.width
        let total = codes.nonzeroCount
        let t = total * d < 1 << 17 ? 1 : threads
        byFeature.starts.withUnsafeBufferPointer { sp in byFeature.rowsOf.withUnsafeBufferPointer { rp in
            byFeature.entryOf.withUnsafeBufferPointer { ep in
                forFeatureParts(sp, width: width, total: total, threads: t) { features in
                    for j in features {
                        let s = sp[j], end = sp[j + 1]
                        if s == end { continue }
                        let w = gradWeights + j * d
                        var e = s
                        var biasSum: Float = 0
                        while e + 2 <= end {
                            let c0 = c[Int(ep[e])], c1 = c[Int(ep[e + 1])]
                            axpy2(c0, x + Int(rp[e]) * d, c1, x + Int(rp[e + 1]) * d, w, d, fresh: false)
                            biasSum += c0; biasSum += c1
                            e += 2
                        }
                        if e < end {
                            let c0 = c[Int(ep[e])]
                            axpy1(c0, x + Int(rp[e]) * d, w, d, fresh: false)
                            biasSum += c0
                        }
                        if let gradBias { gradBias[j] += biasSum }
                    }
                }
            }
        }}
    }

    /// The weight-gradient rows of a sparse step, one latent at a time: for every latent
    /// `j` in `0 ..< width`,
    ///
    ///     gradDecoder = sum_{e = (r, j)} f[e] G[r]       (dL/dW_dec[j], with G = dL/dx_hat)
    ///     gradEncoder = sum_{e = (r, j)} dpre[e] X[r]    (dL/dW_enc^T[j], with X = x - b_dec)
    ///
    /// (summed in row order; zero rows for a latent that does not fire) are computed into a
    /// per-thread scratch and handed to `body(j, gradDecoder, gradEncoder)`, which may
    /// overwrite them. Each latent's rows of `G` and `X` are read while in cache and the
    /// gradients never go to memory unless `body` stores them, so a caller can apply the
    /// optimizer to row `j` right there. The rows equal `accumulateWeightGradients` into
    /// zeroed gradients, bitwise. Latents are split over threads by entry count, in whole
    /// blocks of `latentBlock`; each thread visits its latents in increasing order.
    public static func weightGradientRows(
        _ codes: SparseCodes, byFeature: SparseCodesByFeature, outputGradient g: UnsafePointer<Float>,
        inputs x: UnsafePointer<Float>, codeGradients dpre: UnsafePointer<Float>, d: Int,
        threads: Int = Parallel.defaultThreads,
        _ body: (_ latent: Int, _ gradDecoder: UnsafeMutablePointer<Float>, _ gradEncoder: UnsafeMutablePointer<Float>) -> Void
    ) {
        precondition(d > 0, "SparseBackward.weightGradientRows: d must be positive")
        precondition(byFeature.width == codes.width && byFeature.rowsOf.count == codes.nonzeroCount,
                     "SparseBackward: the by-feature index does not match the codes")
        let width = codes.width, total = codes.nonzeroCount
        let t = (total + width) * d < 1 << 17 ? 1 : threads
        byFeature.starts.withUnsafeBufferPointer { sp in byFeature.rowsOf.withUnsafeBufferPointer { rp in
            byFeature.entryOf.withUnsafeBufferPointer { ep in codes.values.withUnsafeBufferPointer { fp in
                forFeatureParts(sp, width: width, total: total, threads: t, alignment: latentBlock) { features in
                    ScratchPool.withScratch(count: 2 * d) { scratch in
                        let wd = scratch, we = scratch + d
                        for j in features {
                            let s = sp[j], end = sp[j + 1]
                            if s == end {
                                wd.update(repeating: 0, count: d)
                                we.update(repeating: 0, count: d)
                                body(j, wd, we)
                                continue
                            }
                            var e = s, fresh = true
                            while e + 2 <= end {
                                let e0 = Int(ep[e]), e1 = Int(ep[e + 1])
                                let r0 = Int(rp[e]) * d, r1 = Int(rp[e + 1]) * d
                                axpy2(fp[e0], g + r0, fp[e1], g + r1, wd, d, fresh: fresh)
                                axpy2(dpre[e0], x + r0, dpre[e1], x + r1, we, d, fresh: fresh)
                                fresh = false
                                e += 2
                            }
                            if e < end {
                                let e0 = Int(ep[e]), r0 = Int(rp[e]) * d
                                axpy1(fp[e0], g + r0, wd, d, fresh: fresh)
                                axpy1(dpre[e0], x + r0, we, d, fresh: fresh)
                            }
                            body(j, wd, we)
                        }
                    }
                }
            }}
        }}
    }

    /// `sums[j] += sum_{e = (r, j)} values[e]`, each latent's entries added in row order to a
    /// Float that starts at zero (the `b_enc` gradient of `accumulateWeightGradients`, bitwise).
    public static func featureSums(
        byFeature: SparseCodesByFeature, values: UnsafePointer<Float>, into sums: UnsafeMutablePointer<Float>
    ) {
        byFeature.starts.withUnsafeBufferPointer { sp in byFeature.entryOf.withUnsafeBufferPointer { ep in
            for j in 0..<byFeature.width where sp[j] != sp[j + 1] {
                var sum: Float = 0
                for e in sp[j]..<sp[j + 1] { sum += values[Int(ep[e])] }
                sums[j] += sum
            }
        }}
    }

    /// Latents per block in `firingRowsCombination`'s partial sums; `weightGradientRows`
    /// gives each thread whole blocks, so a caller can form the same partial sums there.
    public static let latentBlock = 256

    /// `shift[i] += sum_j Double(c[j] * W[j, i])` over the latents `j` that fire (each product
    /// rounded to Float): `b_dec`'s share of the encoder gradient through the input centring,
    /// `-dL/db_dec = sum_j (sum_r dpre_rj) W_enc^T[j]`. The sum is kept in Double, in a fixed
    /// order for any thread count: one partial per block of `latentBlock` latents (its
    /// latents in increasing order, `accumulateScaledRow`), then the partials in block order
    /// (`addBlockPartials`).
    public static func firingRowsCombination(
        byFeature: SparseCodesByFeature, coefficients c: UnsafePointer<Float>, weights w: UnsafePointer<Float>, d: Int,
        into shift: UnsafeMutablePointer<Double>, threads: Int = Parallel.defaultThreads
    ) {
        precondition(d > 0, "SparseBackward.firingRowsCombination: d must be positive")
        let width = byFeature.width, blocks = (width + latentBlock - 1) / latentBlock
        var partials = [Double](repeating: 0, count: blocks * d)
        byFeature.starts.withUnsafeBufferPointer { sp in partials.withUnsafeMutableBufferPointer { pp in
            Parallel.forRanges(blocks, threads: SIMDMath.parts(work: width * d, threads: threads)) { range in
                for b in range {
                    for j in b * latentBlock..<min(width, (b + 1) * latentBlock) where sp[j] != sp[j + 1] {
                        accumulateScaledRow(c[j], w + j * d, into: pp.baseAddress! + b * d, d: d)
                    }
                }
            }
            addBlockPartials(pp.baseAddress!, blocks: blocks, d: d, into: shift)
        }}
    }

    /// `partial[i] += Double(c * row[i])` for `i < d` (the product rounded to Float first).
    public static func accumulateScaledRow(_ c: Float, _ row: UnsafePointer<Float>, into partial: UnsafeMutablePointer<Double>, d: Int) {
        let cv = SIMD8<Float>(repeating: c)
        var i = 0
        while i + 8 <= d {
            let product = cv * SIMDMath.load(row + i)
            let lo = SIMD4<Double>(Double(product[0]), Double(product[1]), Double(product[2]), Double(product[3]))
            let hi = SIMD4<Double>(Double(product[4]), Double(product[5]), Double(product[6]), Double(product[7]))
            SIMDMath.store(SIMDMath.load(partial + i) + lo, partial + i)
            SIMDMath.store(SIMDMath.load(partial + i + 4) + hi, partial + i + 4)
            i += 8
        }
        while i < d { partial[i] += Double(c * row[i]); i += 1 }
    }

    /// `shift[i] += partials[0][i]`, then `+= partials[1][i]`, ... (`blocks` rows of `d`).
    public static func addBlockPartials(_ partials: UnsafePointer<Double>, blocks: Int, d: Int, into shift: UnsafeMutablePointer<Double>) {
        for b in 0..<blocks {
            let p = partials + b * d
            for i in 0..<d { shift[i] += p[i] }
        }
    }

    /// Calls `body` in parallel with `threads` ranges of latents holding about the same number
    /// of entries each (a range is never empty); with `alignment`, ranges start and end on
    /// multiples of it (or at `width`).
    private static func forFeatureParts(_ starts: UnsafeBufferPointer<Int>, width: Int, total: Int, threads t: Int,
                                        alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        func split(_ part: Int) -> Int {
            if part == 0 { return 0 }
            if part == t { return width }
            return firstFeature(atOrAfter: total * part / t, starts, width) / alignment * alignment
        }
        Parallel.run(parts: t) { part in
            let lo = split(part), hi = split(part + 1)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// The first feature whose entries start at or after `entry` (binary search on starts).
    private static func firstFeature(atOrAfter entry: Int, _ starts: UnsafeBufferPointer<Int>, _ width: Int) -> Int {
        var lo = 0, hi = width
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] < entry { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// `w += a * x + b * y` over d values (`w` taken as +0 when `fresh`).
    @inline(__always)
    private static func axpy2(_ a: Float, _ x: UnsafePointer<Float>, _ b: Float, _ y: UnsafePointer<Float>,
                              _ w: UnsafeMutablePointer<Float>, _ d: Int, fresh: Bool) {
        if fresh { w.update(repeating: 0, count: d & 7 == 0 ? 0 : d) }
        let sa = SIMD8(repeating: a), sb = SIMD8(repeating: b)
        var i = 0
        while i + 8 <= d {
            var acc = fresh ? SIMD8<Float>() : SIMDMath.load(w + i)
            acc.addProduct(sa, SIMDMath.load(x + i))
            acc.addProduct(sb, SIMDMath.load(y + i))
            SIMDMath.store(acc, w + i)
            i += 8
        }
        while i < d { w[i].addProduct(a, x[i]); w[i].addProduct(b, y[i]); i += 1 }
    }

    /// `w += a * x` over d values (`w` taken as +0 when `fresh`).
    @inline(__always)
    private static func axpy1(_ a: Float, _ x: UnsafePointer<Float>, _ w: UnsafeMutablePointer<Float>, _ d: Int, fresh: Bool) {
        if fresh { w.update(repeating: 0, count: d & 7 == 0 ? 0 : d) }
        let sa = SIMD8(repeating: a)
        var i = 0
        while i + 8 <= d {
            var acc = fresh ? SIMD8<Float>() : SIMDMath.load(w + i)
            acc.addProduct(sa, SIMDMath.load(x + i))
            SIMDMath.store(acc, w + i)
            i += 8
        }
        while i < d { w[i].addProduct(a, x[i]); i += 1 }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= d {
            s0.addProduct(SIMDMath.load(a + i), SIMDMath.load(b + i))
            s1.addProduct(SIMDMath.load(a + i + 8), SIMDMath.load(b + i + 8))
            i += 16
        }
        if i + 8 <= d { s0.addProduct(SIMDMath.load(a + i), SIMDMath.load(b + i)); i += 8 }
        var s = (s0 + s1).sum()
        while i < d { s.addProduct(a[i], b[i]); i += 1 }
        return s
    }
}
