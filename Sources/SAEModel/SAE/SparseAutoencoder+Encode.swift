import SAEKernels

// Encoding and decoding with the fast kernels: the encoder GEMM with its fused bias (and
// ReLU) epilogue, top-k selection on chunks of pre-activations that stay in cache, and the
// sparse decode that costs (active latents x d_in) per row. Nothing here loops over d_sae
// per row except a single elementwise pass (scaling / thresholding) over a chunk the GEMM
// has just written.

extension SparseAutoencoder {
    /// Dense feature activations `f` (`x.rows x dSae`), what SAELens's `encode` returns for
    /// this architecture (see the type's documentation for the formulas). `x` is
    /// `rows x dIn`, row-major.
    public func encode(_ x: Matrix, threads: Int = Parallel.defaultThreads) -> Matrix {
        checkInput(x)
        switch architecture {
        case .standard:
            var out = Matrix(rows: x.rows, cols: dSae)
            out.withUnsafeMutableBufferPointer { o in
                encoderForward(x, rows: 0..<x.rows, relu: true, into: o.baseAddress!, threads: threads)
            }
            return out
        case .topk:
            return encodeSparse(x, threads: threads).dense()
        case .jumprelu, .batchtopk:
            let norms = activationScales()
            let cutoff = jumpCutoffs()
            var out = Matrix(rows: x.rows, cols: dSae)
            out.withUnsafeMutableBufferPointer { o in
                encoderForward(x, rows: 0..<x.rows, relu: false, into: o.baseAddress!, threads: threads)
                Self.jumpReLU(o.baseAddress!, rows: x.rows, dSae: dSae, scales: norms, cutoffs: cutoff, threads: threads)
            }
            return out
        }
    }

    /// The same activations in sparse form. topk: exactly `k` entries per row, ordered by
    /// decreasing value (an entry can be 0 when fewer than `k` scores are positive, as in
    /// SAELens); the others: the nonzeros of each row in increasing feature order.
    public func encodeSparse(_ x: Matrix, threads: Int = Parallel.defaultThreads) -> SparseCodes {
        checkInput(x)
        switch architecture {
        case .standard:
            return withEncoderOperands { wEnc, bEnc, bDec in
                x.withUnsafeBufferPointer { xp in
                    Encoder.forwardSparse(x: xp.baseAddress!, batch: x.rows, dIn: dIn, dSae: dSae,
                                          wEnc: wEnc, layout: .none, bEnc: bEnc, bDec: bDec, threads: threads)
                }
            }
        case .topk:
            let k = self.k!
            if !rescaleActsByDecoderNorm {
                return withEncoderOperands { wEnc, bEnc, bDec in
                    x.withUnsafeBufferPointer { xp in
                        Encoder.forwardTopK(x: xp.baseAddress!, batch: x.rows, dIn: dIn, dSae: dSae,
                                            wEnc: wEnc, layout: .none, bEnc: bEnc, bDec: bDec, k: k, threads: threads)
                    }
                }
            }
            let norms = decoderRowNorms()
            var indices = [Int32](repeating: 0, count: x.rows * k)
            var values = [Float](repeating: 0, count: x.rows * k)
            indices.withUnsafeMutableBufferPointer { ip in values.withUnsafeMutableBufferPointer { vp in
                forEachPreActivationChunk(x, threads: threads) { r0, rows, pre in
                    Self.scaleColumns(pre, rows: rows, dSae: dSae, by: norms, threads: threads)
                    TopK.select(pre, rows: rows, n: dSae, k: k, relu: true,
                                indices: ip.baseAddress! + r0 * k, values: vp.baseAddress! + r0 * k, threads: threads)
                }
            }}
            return SparseCodes(rows: x.rows, width: dSae, k: k, indices: indices, values: values)
        case .jumprelu, .batchtopk:
            let norms = activationScales()
            let cutoff = jumpCutoffs()
            var builder = SparseCodes.Builder(width: dSae)
            forEachPreActivationChunk(x, threads: threads) { _, rows, pre in
                Self.jumpReLU(pre, rows: rows, dSae: dSae, scales: norms, cutoffs: cutoff, threads: threads)
                builder.appendNonzeros(of: pre, rows: rows, threads: threads)
            }
            return builder.codes
        }
    }

    /// The reconstruction `x̂ = f' W_dec + b_dec` (`codes.rows x dIn`) from the codes
    /// `encodeSparse` returns (`f' = f ⊘ ‖W_dec‖_row` when the activations were rescaled).
    public func decode(_ codes: SparseCodes, threads: Int = Parallel.defaultThreads) -> Matrix {
        decode(codes, decoderNorms: activationScales(), threads: threads)
    }

    /// The reconstruction from dense activations `f` (`rows x dSae`, as `encode` returns
    /// them): one GEMM `f' W_dec` with `b_dec` added in its epilogue.
    public func decode(dense f: Matrix, threads: Int = Parallel.defaultThreads) -> Matrix {
        precondition(f.cols == dSae, "SparseAutoencoder.decode: activations have \(f.cols) columns, expected dSae = \(dSae)")
        var acts = f
        if let norms = activationScales() {
            acts.withUnsafeMutableBufferPointer { a in
                for r in 0..<f.rows { for j in 0..<dSae { a[r * dSae + j] /= norms[j] } }
            }
        }
        var out = Matrix(rows: f.rows, cols: dIn)
        acts.withUnsafeBufferPointer { a in wDec.withUnsafeBufferPointer { w in bDec.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                GEMM.multiply(.none, .none, m: f.rows, n: dIn, k: dSae, a: a.baseAddress!, lda: dSae,
                              b: w.baseAddress!, ldb: dIn, c: o.baseAddress!, ldc: dIn,
                              epilogue: GEMMEpilogue(columnBias: b.baseAddress!), threads: threads)
            }
        }}}
        return out
    }

    /// `encodeSparse` then `decode`: the codes and `x̂` (`x.rows x dIn`).
    public func reconstruct(_ x: Matrix, threads: Int = Parallel.defaultThreads)
        -> (codes: SparseCodes, reconstruction: Matrix) {
        let codes = encodeSparse(x, threads: threads)
        return (codes, decode(codes, threads: threads))
    }

    /// `‖W_dec[j]‖₂` for each feature `j` (summed in Double).
    public func decoderRowNorms() -> [Float] {
        wDec.withUnsafeBufferPointer { w in
            (0..<dSae).map { j in
                var ss: Double = 0
                for i in 0..<dIn { let v = Double(w[j * dIn + i]); ss += v * v }
                return Float(ss.squareRoot())
            }
        }
    }

    // MARK: - Implementation

    /// The decoder-row norms when activations are rescaled by them, else nil.
    func activationScales() -> [Float]? {
        architecture.usesK && rescaleActsByDecoderNorm ? decoderRowNorms() : nil
    }

    /// `max(θ_j, 0)`: a JumpReLU keeps `s_j` only when `s_j` is above it.
    func jumpCutoffs() -> [Float] {
        let t = threshold ?? []
        precondition(t.count == dSae, "SparseAutoencoder: \(architecture.rawValue) needs \(dSae) thresholds, has \(t.count)")
        return t.map { max($0, 0) }
    }

    func decode(_ codes: SparseCodes, decoderNorms norms: [Float]?, threads: Int) -> Matrix {
        precondition(codes.width == dSae, "SparseAutoencoder.decode: codes have width \(codes.width), expected dSae = \(dSae)")
        var scaled = codes
        if let norms {
            for e in 0..<scaled.values.count { scaled.values[e] /= norms[Int(scaled.indices[e])] }
        }
        var out = Matrix(rows: codes.rows, cols: dIn)
        wDec.withUnsafeBufferPointer { w in bDec.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                SparseDecode.decode(scaled, weights: w.baseAddress!, d: dIn, bias: b.baseAddress!,
                                    out: o.baseAddress!, threads: threads)
            }
        }}
        return out
    }

    private func checkInput(_ x: Matrix) {
        precondition(x.cols == dIn, "SparseAutoencoder.encode: input has \(x.cols) columns, expected dIn = \(dIn)")
        if let problem = shapeProblem() { preconditionFailure("SparseAutoencoder: \(problem)") }
    }

    /// Calls `body` with `W_enc`, `b_enc` and `b_dec` (nil when not applied to the input).
    private func withEncoderOperands<R>(
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?) -> R
    ) -> R {
        wEnc.withUnsafeBufferPointer { w in bEnc.withUnsafeBufferPointer { be in bDec.withUnsafeBufferPointer { bd in
            body(w.baseAddress!, be.baseAddress!, applyBDecToInput ? bd.baseAddress! : nil)
        }}}
    }

    /// `pre` (or `ReLU(pre)`) of `x[rows]` into `out` (`rows.count x dSae`).
    private func encoderForward(_ x: Matrix, rows: Range<Int>, relu: Bool, into out: UnsafeMutablePointer<Float>,
                                threads: Int) {
        if rows.isEmpty { return }
        withEncoderOperands { wEnc, bEnc, bDec in
            x.withUnsafeBufferPointer { xp in
                Encoder.forward(x: xp.baseAddress! + rows.lowerBound * dIn, batch: rows.count, dIn: dIn, dSae: dSae,
                                wEnc: wEnc, layout: .none, bEnc: bEnc, bDec: bDec, features: out,
                                relu: relu, threads: threads)
            }
        }
    }

    /// Hands `x`'s pre-activations to `body` a chunk of rows at a time (first row, row
    /// count, `rows x dSae` pre-activations, writable): this SAE's operands through
    /// `Encoder.forEachChunk`, the one chunked encoder loop.
    private func forEachPreActivationChunk(_ x: Matrix, threads: Int,
                                           _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        if x.rows == 0 { return }
        withEncoderOperands { wEnc, bEnc, bDec in
            x.withUnsafeBufferPointer { xp in
                Encoder.forEachChunk(x: xp.baseAddress!, batch: x.rows, dIn: dIn, dSae: dSae, wEnc: wEnc, layout: .none,
                                     bEnc: bEnc, bDec: bDec, relu: false, threads: threads, body)
            }
        }
    }

    /// `a[r, j] *= scales[j]` over a `rows x dSae` block.
    static func scaleColumns(_ a: UnsafeMutablePointer<Float>, rows: Int, dSae: Int, by scales: [Float], threads: Int) {
        scales.withUnsafeBufferPointer { s in
            let sp = s.baseAddress!
            Parallel.forRanges(rows, threads: rows * dSae < 1 << 16 ? 1 : threads) { range in
                for r in range {
                    let row = a + r * dSae
                    for j in 0..<dSae { row[j] *= sp[j] }
                }
            }
        }
    }

    /// In place over a `rows x dSae` block of pre-activations: `s = pre ⊙ scales` (when
    /// given), then `f = s` where `s > cutoff` else 0.
    static func jumpReLU(_ a: UnsafeMutablePointer<Float>, rows: Int, dSae: Int, scales: [Float]?,
                         cutoffs: [Float], threads: Int) {
        let ones = scales == nil ? [Float](repeating: 1, count: dSae) : []
        (scales ?? ones).withUnsafeBufferPointer { s in cutoffs.withUnsafeBufferPointer { c in
            let sp = s.baseAddress!, cp = c.baseAddress!
            let scaled = scales != nil
            Parallel.forRanges(rows, threads: rows * dSae < 1 << 16 ? 1 : threads) { range in
                for r in range {
                    let row = a + r * dSae
                    if scaled {
                        for j in 0..<dSae { let v = row[j] * sp[j]; row[j] = v > cp[j] ? v : 0 }
                    } else {
                        for j in 0..<dSae { let v = row[j]; row[j] = v > cp[j] ? v : 0 }
                    }
                }
            }
        }}
    }
}
