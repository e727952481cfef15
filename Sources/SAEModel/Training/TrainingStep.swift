import SAEKernels

/// One SAE training step's forward and backward pass: the loss, its gradients and the
/// batch's codes, on SAEKernels.
///
/// Loss (per batch of B rows, `x_c = x - b_dec`, codes `f`, `x_hat = f W_dec + b_dec`):
/// - standard, `.unitNorm`: `(1/B) sum_r ||x_r - x_hat_r||^2 + l1 (1/B) sum_r sum_j f_rj` (decoder
///   rows are kept at unit norm by the trainer, so the L1 needs no norm weighting);
/// - standard, `.l1Weighted` (SAELens v6): the same MSE `+ l1 (1/B) sum_r sum_j f_rj ||W_dec[j]||`
///   (`DecoderNormPenalty`), decoder rows free;
/// - topk / batchtopk: the same MSE, plus the AuxK term when enabled:
///   `auxCoefficient * ||e - e_hat||^2 / ||e - mean(e)||^2` (sums over the batch) with the
///   detached residual `e = x - x_hat` and `e_hat` decoded (no bias) from the top `kAux`
///   pre-activations among dead latents (OpenAI's "Scaling and evaluating sparse autoencoders").
///
/// Once the codes are sparse, every product after the encoder GEMM runs on the active
/// latents only (SparseDecode, SparseBackward); when they are dense (density above
/// `denseDensity`, e.g. in the first steps of a ReLU SAE) the step uses four dense GEMMs
/// instead. Both paths compute the same gradients up to Float rounding.
struct TrainingStep {
    enum Path: Equatable { case sparse, dense }

    struct Options {
        var architecture: SAEArchitecture
        var k: Int = 0
        var l1Coefficient: Float = 0
        /// Standard: whether the L1 term is weighted by the decoder-row norms (`.l1Weighted`), and
        /// whether the fused update keeps the rows at unit norm (`.unitNorm`).
        var decoderNorm: TrainingConfig.DecoderNorm = .unitNorm
        var threads: Int = Parallel.defaultThreads
        /// AuxK: latents counted as dead (nil or none: no aux loss), kAux, coefficient.
        var deadLatents: [Int32]? = nil
        var kAux: Int = 0
        var auxCoefficient: Float = 1.0 / 32
        /// BatchTopK: candidates kept per row before the batch-wide selection.
        var batchTopKCandidatesPerRow: Int = 0
    }

    struct Outcome {
        var path: Path
        var codes: SparseCodes
        var statistics: ReconstructionStatistics
        var mseLoss: Double
        var l1: Double
        var auxLoss: Double
        var loss: Double
        /// Mean number of latents with a positive activation per row.
        var l0: Double
        /// BatchTopK: the smallest activation the batch-wide selection kept.
        var batchTopKMinimum: Float?
        /// Whether `run` already applied Adam to the weight matrices (`weightUpdate`).
        var weightsUpdated = false
    }

    /// Computes the loss and writes the gradients (overwriting `grads`).
    ///
    /// With `weightUpdate` (sparse path only, no AuxK term), the two weight matrices are not
    /// written to `grads`: Adam runs on each latent's rows of `W_dec` (with the unit-norm
    /// projection and renormalisation under `.unitNorm`) and `W_enc^T` as soon as their gradient
    /// rows are computed, which gives the same bits as `Adam.unitNormRowsStep` (or `Adam.step`)
    /// and `Adam.step` on the stored gradients. It is skipped when the loss is not finite (`Outcome.weightsUpdated`).
    static func run(
        _ p: inout TrainingParameters, x: UnsafePointer<Float>, rows: Int, options o: Options,
        path: Path, grads: inout TrainingGradients, workspace ws: TrainingWorkspace, weightUpdate: Adam.Step? = nil
    ) -> Outcome {
        let dIn = p.dIn, dSae = p.dSae, t = o.threads
        precondition(rows > 0, "TrainingStep: empty batch")
        precondition(weightUpdate == nil || (path == .sparse && (o.deadLatents ?? []).isEmpty),
                     "TrainingStep: the fused weight update needs the sparse path and no AuxK term")
        // The sparse backward overwrites both weight gradients (rows of latents that do not
        // fire included), so only the dense path needs them zeroed first.
        grads.zero(includingWeights: path == .dense)
        var xc = ws.take(.xc, count: rows * dIn)
        p.bDec.withUnsafeBufferPointer { bd in xc.withUnsafeMutableBufferPointer { out in
            BatchElementwise.subtractRowVector(x, bd.baseAddress!, rows: rows, d: dIn, into: out.baseAddress!, threads: t)
        }}
        // Forward: the codes.
        var batchMin: Float? = nil
        let codes: SparseCodes = xc.withUnsafeBufferPointer { xcp in
            p.wEncT.withUnsafeBufferPointer { we in p.bEnc.withUnsafeBufferPointer { be in
                switch o.architecture {
                case .topk:
                    return Encoder.forwardTopK(x: xcp.baseAddress!, batch: rows, dIn: dIn, dSae: dSae, wEnc: we.baseAddress!,
                                               layout: .transposed, bEnc: be.baseAddress!, bDec: nil, k: o.k, threads: t)
                case .batchtopk:
                    let (c, m) = BatchTopK.select(x: xcp.baseAddress!, rows: rows, dIn: dIn, dSae: dSae, wEncT: we.baseAddress!,
                                                  bEnc: be.baseAddress!, k: o.k, candidatesPerRow: o.batchTopKCandidatesPerRow,
                                                  threads: t)
                    batchMin = m
                    return c
                case .standard, .jumprelu:
                    return Encoder.forwardSparse(x: xcp.baseAddress!, batch: rows, dIn: dIn, dSae: dSae, wEnc: we.baseAddress!,
                                                 layout: .transposed, bEnc: be.baseAddress!, bDec: nil, threads: t)
                }
            }}
        }
        // The L1-weighted standard SAE: per-latent gradient shares from the norms before the update.
        let penalty = o.architecture == .standard && o.decoderNorm == .l1Weighted
            ? DecoderNormPenalty(codes: codes, wDec: p.wDec, dIn: dIn, l1: o.l1Coefficient, threads: t) : nil
        let l1Grad = o.architecture == .standard && penalty == nil ? o.l1Coefficient / Float(rows) : 0
        var xHat = ws.take(.xHat, count: rows * dIn)
        var g = ws.take(.g, count: rows * dIn)
        var dpre = ws.take(.dpre, count: codes.nonzeroCount)
        defer { ws.give(xc, .xc); ws.give(xHat, .xHat); ws.give(g, .g); ws.give(dpre, .dpre) }
        var stats = ReconstructionStatistics(d: dIn)
        var l1 = 0.0, active = 0
        for v in codes.values { l1 += Double(v); if v > 0 { active += 1 } }
        l1 /= Double(rows)
        let l1Loss = Double(o.architecture == .standard ? o.l1Coefficient : 0) * (penalty?.weightedL1 ?? l1)

        var weightsUpdated = false
        if path == .sparse {
            // Decode, G = (2/B)(x_hat - x) and dL/dpre on the active entries, a row at a time;
            // then b_dec's share of G.
            p.wDec.withUnsafeBufferPointer { wd in p.bDec.withUnsafeBufferPointer { bd in
                xHat.withUnsafeMutableBufferPointer { xh in g.withUnsafeMutableBufferPointer { gp in
                    dpre.withUnsafeMutableBufferPointer { dp in
                        SparseDecode.decodeWithGradients(codes, weights: wd.baseAddress!, d: dIn, bias: bd.baseAddress!, inputs: x,
                                                         scale: 2 / Float(rows), l1: l1Grad, out: xh.baseAddress!,
                                                         outputGradient: gp.baseAddress!, codeGradients: dp.baseAddress!, threads: t)
                        penalty?.addCodeGradients(codes, to: dp.baseAddress!)
                    }
                }}
            }}
            stats = xHat.withUnsafeBufferPointer { Reductions.reconstructionStatistics(x, $0.baseAddress!, rows: rows, d: dIn, threads: t) }
            g.withUnsafeBufferPointer { gp in grads.bDec.withUnsafeMutableBufferPointer { bd in
                BatchElementwise.columnSums(gp.baseAddress!, rows: rows, d: dIn, into: bd.baseAddress!, threads: t)
            }}
            let finite = (stats.sumSquaredError / Double(rows) + l1Loss).isFinite
            let update = finite ? weightUpdate : nil
            sparseBackward(&p, codes: codes, g: g, xc: xc, dpre: dpre, grads: &grads, update: update, penalty: penalty,
                           decoderNorm: o.decoderNorm, threads: t)
            weightsUpdated = update != nil
        } else {
            denseForwardBackward(p, codes: codes, xc: xc, x: x, rows: rows, l1Grad: l1Grad, penalty: penalty, xHat: &xHat,
                                 stats: &stats, g: &g, dpre: &dpre, grads: &grads, threads: t)
        }

        let mseLoss = stats.sumSquaredError / Double(rows)
        var auxLoss = 0.0
        if let dead = o.deadLatents, !dead.isEmpty, o.kAux > 0, o.architecture != .standard {
            auxLoss = AuxK.addGradients(p, x: x, xc: xc, xHat: xHat, rows: rows, dead: dead, kAux: o.kAux,
                                        coefficient: o.auxCoefficient, grads: &grads, threads: t)
        }
        let loss = mseLoss + l1Loss + auxLoss
        return Outcome(path: path, codes: codes, statistics: stats, mseLoss: mseLoss, l1: l1, auxLoss: auxLoss,
                       loss: loss, l0: Double(active) / Double(rows), batchTopKMinimum: batchMin, weightsUpdated: weightsUpdated)
    }

    /// Backward through the active latents only, given `dpre` (from the fused decode): the
    /// `b_enc` sums, then one pass over the latents for the weight-gradient rows, which go to
    /// `grads` or, with `update`, straight into Adam; the same pass forms `b_dec`'s share
    /// through the centring from each encoder row before its update. With `penalty`, each
    /// decoder-row gradient gets its L1 share before it is stored or used; `decoderNorm` picks the
    /// fused decoder update (unit-norm step, or plain Adam).
    static func sparseBackward(
        _ p: inout TrainingParameters, codes: SparseCodes, g: [Float], xc: [Float], dpre: [Float],
        grads: inout TrainingGradients, update: Adam.Step?, penalty: DecoderNormPenalty? = nil,
        decoderNorm: TrainingConfig.DecoderNorm = .unitNorm, threads t: Int
    ) {
        let dIn = p.dIn, dSae = p.dSae, block = SparseBackward.latentBlock
        let byFeature = SparseCodesByFeature(codes)
        var latentSums = [Float](repeating: 0, count: dSae)
        dpre.withUnsafeBufferPointer { dp in latentSums.withUnsafeMutableBufferPointer { ls in
            SparseBackward.featureSums(byFeature: byFeature, values: dp.baseAddress!, into: ls.baseAddress!)
        }}
        for j in 0..<dSae where byFeature.starts[j] != byFeature.starts[j + 1] { grads.bEnc[j] += latentSums[j] }
        // firingRowsCombination's partial sums, formed in the pass.
        let blocks = (dSae + block - 1) / block
        var partials = [Double](repeating: 0, count: blocks * dIn)
        g.withUnsafeBufferPointer { gp in xc.withUnsafeBufferPointer { xp in dpre.withUnsafeBufferPointer { dp in
            byFeature.starts.withUnsafeBufferPointer { sp in latentSums.withUnsafeBufferPointer { ls in
                partials.withUnsafeMutableBufferPointer { pp in
                    func rows(_ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
                        SparseBackward.weightGradientRows(codes, byFeature: byFeature, outputGradient: gp.baseAddress!,
                                                          inputs: xp.baseAddress!, codeGradients: dp.baseAddress!, d: dIn,
                                                          threads: t, body)
                    }
                    @inline(__always) func share(_ j: Int, _ encoderRow: UnsafePointer<Float>) {
                        if sp[j] != sp[j + 1] {
                            SparseBackward.accumulateScaledRow(ls[j], encoderRow, into: pp.baseAddress! + j / block * dIn, d: dIn)
                        }
                    }
                    if let update {
                        p.wDec.withUnsafeMutableBufferPointer { wd in p.wEncT.withUnsafeMutableBufferPointer { we in
                            p.moments.mDec.withUnsafeMutableBufferPointer { md in p.moments.vDec.withUnsafeMutableBufferPointer { vd in
                                p.moments.mEncT.withUnsafeMutableBufferPointer { me in p.moments.vEncT.withUnsafeMutableBufferPointer { ve in
                                    rows { j, gd, ge in
                                        let o = j * dIn
                                        share(j, we.baseAddress! + o)
                                        if let penalty {
                                            penalty.addRowGradient(j, row: wd.baseAddress! + o, to: gd, d: dIn)
                                        }
                                        if decoderNorm == .unitNorm {
                                            Adam.unitNormRowStep(parameters: wd.baseAddress! + o, gradients: gd, firstMoment: md.baseAddress! + o,
                                                                 secondMoment: vd.baseAddress! + o, d: dIn, update)
                                        } else {
                                            Adam.stepRow(parameters: wd.baseAddress! + o, gradients: gd, firstMoment: md.baseAddress! + o,
                                                         secondMoment: vd.baseAddress! + o, count: dIn, update)
                                        }
                                        Adam.stepRow(parameters: we.baseAddress! + o, gradients: ge, firstMoment: me.baseAddress! + o,
                                                     secondMoment: ve.baseAddress! + o, count: dIn, update)
                                    }
                                }}
                            }}
                        }}
                    } else {
                        p.wEncT.withUnsafeBufferPointer { we in p.wDec.withUnsafeBufferPointer { wd in
                            grads.wDec.withUnsafeMutableBufferPointer { gdOut in grads.wEncT.withUnsafeMutableBufferPointer { geOut in
                                rows { j, gd, ge in
                                    share(j, we.baseAddress! + j * dIn)
                                    if let penalty { penalty.addRowGradient(j, row: wd.baseAddress! + j * dIn, to: gd, d: dIn) }
                                    (gdOut.baseAddress! + j * dIn).update(from: gd, count: dIn)
                                    (geOut.baseAddress! + j * dIn).update(from: ge, count: dIn)
                                }
                            }}
                        }}
                    }
                }
            }}
        }}}
        var shift = [Double](repeating: 0, count: dIn)
        partials.withUnsafeBufferPointer { pp in shift.withUnsafeMutableBufferPointer { sh in
            SparseBackward.addBlockPartials(pp.baseAddress!, blocks: blocks, d: dIn, into: sh.baseAddress!)
        }}
        for i in 0..<dIn { grads.bDec[i] -= Float(shift[i]) }
    }

    /// `dW_enc^T[j] += sum dpre x_c`, `db_enc[j] += sum dpre`, and b_dec's share through the
    /// input centring: `db_dec -= sum_r sum_j dpre_rj W_enc^T[j] = sum_j (sum_r dpre_rj) W_enc^T[j]`,
    /// one pass over the latents that fired (their summed `dpre` is this call's share of
    /// `db_enc`) instead of a decode per row.
    static func encoderBackward(
        _ p: TrainingParameters, codes: SparseCodes, byFeature: SparseCodesByFeature, dpre: [Float], xc: [Float],
        grads: inout TrainingGradients, threads t: Int
    ) {
        let dIn = p.dIn
        var latentSums = [Float](repeating: 0, count: p.dSae)
        dpre.withUnsafeBufferPointer { dp in xc.withUnsafeBufferPointer { xp in
            grads.wEncT.withUnsafeMutableBufferPointer { gw in latentSums.withUnsafeMutableBufferPointer { gb in
                SparseBackward.accumulateWeightGradients(codes, byFeature: byFeature, coefficients: dp.baseAddress!, inputs: xp.baseAddress!,
                                                         d: dIn, gradWeights: gw.baseAddress!, gradBias: gb.baseAddress!,
                                                         threads: t)
            }}
        }}
        addEncoderBiasShares(p, byFeature: byFeature, latentSums: latentSums, grads: &grads, threads: t)
    }

    /// `db_enc[j] += latentSums[j]` and `db_dec -= sum_j latentSums[j] W_enc^T[j]` over the
    /// latents that fired (`SparseBackward.firingRowsCombination`'s order).
    static func addEncoderBiasShares(
        _ p: TrainingParameters, byFeature: SparseCodesByFeature, latentSums: [Float], grads: inout TrainingGradients,
        threads t: Int
    ) {
        for j in 0..<p.dSae where byFeature.starts[j] != byFeature.starts[j + 1] { grads.bEnc[j] += latentSums[j] }
        var shift = [Double](repeating: 0, count: p.dIn)
        p.wEncT.withUnsafeBufferPointer { we in latentSums.withUnsafeBufferPointer { ls in shift.withUnsafeMutableBufferPointer { sh in
            SparseBackward.firingRowsCombination(byFeature: byFeature, coefficients: ls.baseAddress!, weights: we.baseAddress!,
                                                 d: p.dIn, into: sh.baseAddress!, threads: t)
        }}}
        for i in 0..<p.dIn { grads.bDec[i] -= Float(shift[i]) }
    }

    /// The same forward and backward with dense GEMMs over the `B x dSae` codes.
    static func denseForwardBackward(
        _ p: TrainingParameters, codes: SparseCodes, xc: [Float], x: UnsafePointer<Float>, rows: Int, l1Grad: Float,
        penalty: DecoderNormPenalty? = nil, xHat: inout [Float], stats: inout ReconstructionStatistics, g: inout [Float], dpre: inout [Float],
        grads: inout TrainingGradients, threads t: Int
    ) {
        let dIn = p.dIn, dSae = p.dSae
        let f = codes.dense()
        // x_hat = F W_dec + b_dec.
        f.withUnsafeBufferPointer { fp in p.wDec.withUnsafeBufferPointer { wd in p.bDec.withUnsafeBufferPointer { bd in
            xHat.withUnsafeMutableBufferPointer { xh in
                GEMM.multiply(.none, .none, m: rows, n: dIn, k: dSae, a: fp.baseAddress!, lda: dSae, b: wd.baseAddress!, ldb: dIn,
                              c: xh.baseAddress!, ldc: dIn, epilogue: GEMMEpilogue(columnBias: bd.baseAddress!), threads: t)
            }
        }}}
        stats = xHat.withUnsafeBufferPointer { Reductions.reconstructionStatistics(x, $0.baseAddress!, rows: rows, d: dIn, threads: t) }
        xHat.withUnsafeBufferPointer { xh in g.withUnsafeMutableBufferPointer { gp in
            grads.bDec.withUnsafeMutableBufferPointer { bd in
                BatchElementwise.scaledDifference(xh.baseAddress!, minus: x, scale: 2 / Float(rows), rows: rows, d: dIn,
                                                  into: gp.baseAddress!, columnSums: bd.baseAddress!, threads: t)
            }
        }}
        // dPre = (G W_dec^T + l1/B) where F > 0.
        var dPre = Matrix(rows: rows, cols: dSae)
        g.withUnsafeBufferPointer { gp in p.wDec.withUnsafeBufferPointer { wd in dPre.withUnsafeMutableBufferPointer { dp in
            GEMM.multiply(.none, .transposed, m: rows, n: dSae, k: dIn, a: gp.baseAddress!, lda: dIn, b: wd.baseAddress!, ldb: dIn,
                          c: dp.baseAddress!, ldc: dSae, threads: t)
        }}}
        f.withUnsafeBufferPointer { fp in dPre.withUnsafeMutableBufferPointer { dp in
            if let penalty {
                for r in 0..<rows { for j in 0..<dSae { let i = r * dSae + j; dp[i] = fp[i] > 0 ? dp[i] + penalty.codeGradient[j] : 0 } }
            } else {
                for i in 0..<fp.count { dp[i] = fp[i] > 0 ? dp[i] + l1Grad : 0 }
            }
        }}
        // The sparse-entry view of dPre, for the caller's bookkeeping.
        dPre.withUnsafeBufferPointer { dp in
            for r in 0..<rows { for e in codes.offsets[r]..<codes.offsets[r + 1] { dpre[e] = dp[r * dSae + Int(codes.indices[e])] } }
        }
        // dW_dec = F^T G, dW_enc^T = dPre^T x_c, db_enc = column sums of dPre, dx_c = dPre W_enc^T.
        f.withUnsafeBufferPointer { fp in g.withUnsafeBufferPointer { gp in grads.wDec.withUnsafeMutableBufferPointer { gw in
            GEMM.multiply(.transposed, .none, m: dSae, n: dIn, k: rows, a: fp.baseAddress!, lda: dSae, b: gp.baseAddress!, ldb: dIn,
                          c: gw.baseAddress!, ldc: dIn, threads: t)
            if let penalty {
                p.wDec.withUnsafeBufferPointer { wd in
                    for j in 0..<dSae { penalty.addRowGradient(j, row: wd.baseAddress! + j * dIn, to: gw.baseAddress! + j * dIn, d: dIn) }
                }
            }
        }}}
        dPre.withUnsafeBufferPointer { dp in
            xc.withUnsafeBufferPointer { xp in grads.wEncT.withUnsafeMutableBufferPointer { gw in
                GEMM.multiply(.transposed, .none, m: dSae, n: dIn, k: rows, a: dp.baseAddress!, lda: dSae, b: xp.baseAddress!, ldb: dIn,
                              c: gw.baseAddress!, ldc: dIn, threads: t)
            }}
            for r in 0..<rows { for j in 0..<dSae { grads.bEnc[j] += dp[r * dSae + j] } }
            var dxc = [Float](repeating: 0, count: rows * dIn)
            p.wEncT.withUnsafeBufferPointer { we in dxc.withUnsafeMutableBufferPointer { out in
                GEMM.multiply(.none, .none, m: rows, n: dIn, k: dSae, a: dp.baseAddress!, lda: dSae, b: we.baseAddress!, ldb: dIn,
                              c: out.baseAddress!, ldc: dIn, threads: t)
            }}
            for r in 0..<rows { for i in 0..<dIn { grads.bDec[i] -= dxc[r * dIn + i] } }
        }
    }
}

extension TrainingStep {
    /// Inference forward in the training layout: the codes and `x_hat` (BatchTopK selects
    /// batch-wide, as in training).
    static func forward(_ p: TrainingParameters, x: UnsafePointer<Float>, rows: Int, options o: Options) -> (codes: SparseCodes, xHat: [Float]) {
        let dIn = p.dIn, dSae = p.dSae
        let codes: SparseCodes = p.bDec.withUnsafeBufferPointer { bd in p.wEncT.withUnsafeBufferPointer { we in p.bEnc.withUnsafeBufferPointer { be in
            switch o.architecture {
            case .topk:
                return Encoder.forwardTopK(x: x, batch: rows, dIn: dIn, dSae: dSae, wEnc: we.baseAddress!, layout: .transposed,
                                           bEnc: be.baseAddress!, bDec: bd.baseAddress!, k: o.k, threads: o.threads)
            case .batchtopk:
                var xc = [Float](repeating: 0, count: rows * dIn)
                for r in 0..<rows { for i in 0..<dIn { xc[r * dIn + i] = x[r * dIn + i] - bd[i] } }
                return xc.withUnsafeBufferPointer {
                    BatchTopK.select(x: $0.baseAddress!, rows: rows, dIn: dIn, dSae: dSae, wEncT: we.baseAddress!, bEnc: be.baseAddress!,
                                     k: o.k, candidatesPerRow: o.batchTopKCandidatesPerRow, threads: o.threads).codes
                }
            case .standard, .jumprelu:
                return Encoder.forwardSparse(x: x, batch: rows, dIn: dIn, dSae: dSae, wEnc: we.baseAddress!, layout: .transposed,
                                             bEnc: be.baseAddress!, bDec: bd.baseAddress!, threads: o.threads)
            }
        }}}
        var xHat = [Float](repeating: 0, count: rows * dIn)
        p.wDec.withUnsafeBufferPointer { wd in p.bDec.withUnsafeBufferPointer { bd in xHat.withUnsafeMutableBufferPointer { xh in
            SparseDecode.decode(codes, weights: wd.baseAddress!, d: dIn, bias: bd.baseAddress!, out: xh.baseAddress!, threads: o.threads)
        }}}
        return (codes, xHat)
    }
}
