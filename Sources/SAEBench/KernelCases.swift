import SAEKernels

/// The kernel benchmarks at the shapes of an SAE on gelu-1l's MLP (d_mlp 2048) and of the
/// 512-wide residual/MLP-out hooks: batch 4096, d_sae 16384.
enum KernelCases {
    static func all() -> [BenchCase] {
        gemm() + encoder() + sparse() + elementwise()
    }

    // MARK: GEMM

    static func gemmCase(_ opA: Transposition, _ opB: Transposition, m: Int, k: Int, n: Int, naiveM: Int) -> BenchCase {
        BenchCase(
            kernel: "gemm_\(opA)\(opB)".lowercased(), shape: "\(m)x\(k)x\(n)",
            work: .flops(2.0 * Double(m * n * k)),
            naiveShape: "\(naiveM)x\(k)x\(n)", naiveWork: 2.0 * Double(naiveM * n * k)
        ) { threads in
            let a = Buffer(m * k, seed: 1), b = Buffer(k * n, seed: 2), c = Buffer(m * n, fill: 0)
            let lda = opA == .none ? k : m, ldb = opB == .none ? n : k
            let naiveC = Buffer(naiveM * n, fill: 0)
            return Runner(
                fast: {
                    GEMM.multiply(opA, opB, m: m, n: n, k: k, a: a.const, lda: lda, b: b.const, ldb: ldb,
                                  c: c.pointer, ldc: n, threads: threads)
                },
                naive: {
                    // The first naiveM rows of op(A) (for a transposed A, its first naiveM columns).
                    Reference.gemm(opA, opB, m: naiveM, n: n, k: k, a: a.const, lda: lda, b: b.const, ldb: ldb,
                                   c: naiveC.pointer, ldc: n)
                },
                keepAlive: [a, b, c, naiveC])
        }
    }

    static func gemm() -> [BenchCase] {
        [
            gemmCase(.none, .none, m: 4096, k: 2048, n: 2048, naiveM: 48),
            gemmCase(.none, .none, m: 4096, k: 512, n: 16384, naiveM: 24),
            // The dense SAE backward: dF = dX_hat W_dec^T (NT) and dW_enc = X^T dPre (TN).
            gemmCase(.none, .transposed, m: 4096, k: 512, n: 16384, naiveM: 24),
            gemmCase(.transposed, .none, m: 512, k: 4096, n: 16384, naiveM: 3),
        ]
    }

    // MARK: Encoder and top-k

    static func encoder() -> [BenchCase] {
        var cases: [BenchCase] = []
        let batch = 4096, dSae = 16384, k = 32
        for dIn in [512, 2048] {
            let naiveBatch = dIn == 512 ? 24 : 6
            cases.append(BenchCase(
                kernel: "encoder", shape: "b\(batch) din\(dIn) dsae\(dSae)",
                work: .flops(2.0 * Double(batch * dIn * dSae)),
                naiveShape: "b\(naiveBatch) din\(dIn) dsae\(dSae)", naiveWork: 2.0 * Double(naiveBatch * dIn * dSae)
            ) { threads in
                let x = Buffer(batch * dIn, seed: 3), w = Buffer(dIn * dSae, seed: 4, scale: 0.05)
                let be = Buffer(dSae, seed: 5, scale: 0.1), bd = Buffer(dIn, seed: 6, scale: 0.1)
                let f = Buffer(batch * dSae, fill: 0)
                return Runner(
                    fast: {
                        Encoder.forward(x: x.const, batch: batch, dIn: dIn, dSae: dSae, wEnc: w.const, layout: .none,
                                        bEnc: be.const, bDec: bd.const, features: f.pointer, threads: threads)
                    },
                    naive: {
                        Reference.encoder(x: x.const, batch: naiveBatch, dIn: dIn, dSae: dSae, wEnc: w.const, layout: .none,
                                          bEnc: be.const, bDec: bd.const, features: f.pointer)
                    },
                    keepAlive: [x, w, be, bd, f])
            })
        }
        let dIn = 512, naiveBatch = 16
        cases.append(BenchCase(
            kernel: "encoder_topk", shape: "b\(batch) din\(dIn) dsae\(dSae) k\(k)",
            work: .flops(2.0 * Double(batch * dIn * dSae)),
            naiveShape: "b\(naiveBatch) din\(dIn) dsae\(dSae) k\(k)", naiveWork: 2.0 * Double(naiveBatch * dIn * dSae)
        ) { threads in
            let x = Buffer(batch * dIn, seed: 3), w = Buffer(dIn * dSae, seed: 4, scale: 0.05)
            let be = Buffer(dSae, seed: 5, scale: 0.1), bd = Buffer(dIn, seed: 6, scale: 0.1)
            let f = Buffer(naiveBatch * dSae, fill: 0)
            let idx = UnsafeMutablePointer<Int32>.allocate(capacity: naiveBatch * k)
            let vals = Buffer(naiveBatch * k, fill: 0)
            return Runner(
                fast: {
                    blackHole(Encoder.forwardTopK(x: x.const, batch: batch, dIn: dIn, dSae: dSae, wEnc: w.const, layout: .none,
                                                  bEnc: be.const, bDec: bd.const, k: k, threads: threads))
                },
                naive: {
                    Reference.encoder(x: x.const, batch: naiveBatch, dIn: dIn, dSae: dSae, wEnc: w.const, layout: .none,
                                      bEnc: be.const, bDec: bd.const, features: f.pointer, relu: false)
                    Reference.topK(f.const, rows: naiveBatch, n: dSae, k: k, relu: true, indices: idx, values: vals.pointer)
                },
                keepAlive: [x, w, be, bd, f, vals])
        })
        let topkNaiveRows = 16
        cases.append(BenchCase(
            kernel: "topk", shape: "\(batch)x\(dSae) k\(k)", work: .bytes(4.0 * Double(batch * dSae)),
            naiveShape: "\(topkNaiveRows)x\(dSae) k\(k)", naiveWork: 4.0 * Double(topkNaiveRows * dSae)
        ) { threads in
            let pre = Buffer(batch * dSae, seed: 7)
            let idx = UnsafeMutablePointer<Int32>.allocate(capacity: batch * k)
            let vals = Buffer(batch * k, fill: 0)
            return Runner(
                fast: { TopK.select(pre.const, rows: batch, n: dSae, k: k, relu: true, indices: idx, values: vals.pointer, threads: threads) },
                naive: { Reference.topK(pre.const, rows: topkNaiveRows, n: dSae, k: k, relu: true, indices: idx, values: vals.pointer) },
                keepAlive: [pre, vals])
        })
        return cases
    }

    // MARK: Sparse decode and backward

    /// TopK-like codes: k distinct latents per row.
    static func codes(rows: Int, width: Int, k: Int) -> SparseCodes {
        var s: UInt64 = 0x1234_5678
        var indices = [Int32](), values = [Float]()
        indices.reserveCapacity(rows * k); values.reserveCapacity(rows * k)
        for _ in 0..<rows {
            var chosen = Set<Int32>()
            while chosen.count < k {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17
                chosen.insert(Int32(s % UInt64(width)))
            }
            for j in chosen { indices.append(j); values.append(Float(s >> 40) * 0x1p-24 + 0.1) }
        }
        return SparseCodes(rows: rows, width: width, k: k, indices: indices, values: values)
    }

    static func sparse() -> [BenchCase] {
        let batch = 4096, dSae = 16384, dIn = 512, k = 32
        let decodeFlops = 2.0 * Double(batch * k * dIn)
        return [
            BenchCase(kernel: "sparse_decode", shape: "b\(batch) dsae\(dSae) din\(dIn) k\(k)", work: .flops(decodeFlops)) { threads in
                let c = codes(rows: batch, width: dSae, k: k)
                let w = Buffer(dSae * dIn, seed: 8), b = Buffer(dIn, seed: 9), out = Buffer(batch * dIn, fill: 0)
                return Runner(
                    fast: { SparseDecode.decode(c, weights: w.const, d: dIn, bias: b.const, out: out.pointer, threads: threads) },
                    naive: { Reference.sparseDecode(c, weights: w.const, d: dIn, bias: b.const, out: out.pointer) },
                    keepAlive: [w, b, out])
            },
            // Decoder side of the backward: dL/df on the active entries and dW_dec rows.
            BenchCase(kernel: "sparse_backward", shape: "b\(batch) dsae\(dSae) din\(dIn) k\(k)", work: .flops(2 * decodeFlops)) { threads in
                let c = codes(rows: batch, width: dSae, k: k)
                let w = Buffer(dSae * dIn, seed: 10), g = Buffer(batch * dIn, seed: 11)
                let gradW = Buffer(dSae * dIn, fill: 0), gradB = Buffer(dSae, fill: 0), gradF = Buffer(c.nonzeroCount, fill: 0)
                return Runner(
                    fast: {
                        SparseBackward.codeGradients(c, outputGradient: g.const, weights: w.const, d: dIn, into: gradF.pointer, threads: threads)
                        let byFeature = SparseCodesByFeature(c)
                        c.values.withUnsafeBufferPointer { v in
                            SparseBackward.accumulateWeightGradients(c, byFeature: byFeature, coefficients: v.baseAddress!, inputs: g.const,
                                                                     d: dIn, gradWeights: gradW.pointer, gradBias: gradB.pointer, threads: threads)
                        }
                    },
                    naive: {
                        Reference.codeGradients(c, outputGradient: g.const, weights: w.const, d: dIn, into: gradF.pointer)
                        c.values.withUnsafeBufferPointer { v in
                            Reference.accumulateWeightGradients(c, coefficients: v.baseAddress!, inputs: g.const, d: dIn,
                                                                gradWeights: gradW.pointer, gradBias: gradB.pointer)
                        }
                    },
                    keepAlive: [w, g, gradW, gradB, gradF])
            },
        ]
    }

    // MARK: Elementwise: GELU, Adam, the training step's gradient; one attention head

    static func elementwise() -> [BenchCase] {
        let n = 4096 * 2048
        var cases: [BenchCase] = []
        for (name, variant) in [("gelu_exact", GELU.Variant.exact), ("gelu_tanh", GELU.Variant.tanh)] {
            cases.append(BenchCase(kernel: name, shape: "4096x2048", work: .bytes(8.0 * Double(n))) { threads in
                let x = Buffer(n, seed: 12, scale: 4), y = Buffer(n, fill: 0)
                return Runner(
                    fast: { GELU.forward(x.const, y.pointer, count: n, variant: variant, threads: threads) },
                    naive: { Reference.gelu(x.const, y.pointer, count: n, variant: variant) },
                    keepAlive: [x, y])
            })
        }
        cases.append(BenchCase(kernel: "gelu_exact_backward", shape: "4096x2048", work: .bytes(12.0 * Double(n))) { threads in
            let x = Buffer(n, seed: 12, scale: 4), dy = Buffer(n, seed: 13), dx = Buffer(n, fill: 0)
            return Runner(
                fast: { GELU.backward(x.const, dy.const, dx.pointer, count: n, variant: .exact, threads: threads) },
                naive: { Reference.geluBackward(x.const, dy.const, dx.pointer, count: n, variant: .exact) },
                keepAlive: [x, dy, dx])
        })
        let rows = 16384, d = 512, p = rows * d
        // Adam reads p, g, m, v and writes p, m, v: 28 bytes per parameter.
        cases.append(BenchCase(kernel: "adam", shape: "\(rows)x\(d)", work: .bytes(28.0 * Double(p))) { threads in
            let w = Buffer(p, seed: 14), g = Buffer(p, seed: 15, scale: 1e-3), m = Buffer(p, fill: 0), v = Buffer(p, fill: 0)
            var t = 0
            return Runner(
                fast: {
                    t += 1
                    Adam.step(parameters: w.pointer, gradients: g.const, firstMoment: m.pointer, secondMoment: v.pointer,
                              count: p, learningRate: 1e-4, step: t, threads: threads)
                },
                naive: {
                    Reference.adamStep(parameters: w.pointer, gradients: g.const, firstMoment: m.pointer, secondMoment: v.pointer,
                                       count: p, learningRate: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: max(1, t))
                },
                keepAlive: [w, g, m, v])
        })
        // The decoder unit-norm constraint: project the gradient, then renormalise the rows.
        cases.append(BenchCase(kernel: "unit_norm", shape: "\(rows)x\(d)", work: .bytes(20.0 * Double(p))) { threads in
            let w = Buffer(p, seed: 16), g = Buffer(p, seed: 17)
            return Runner(
                fast: {
                    Adam.projectGradientOrthogonal(w.const, g.pointer, rows: rows, d: d, threads: threads)
                    Adam.normalizeRows(w.pointer, rows: rows, d: d, threads: threads)
                },
                naive: {
                    Reference.projectGradientOrthogonal(w.const, g.pointer, rows: rows, d: d)
                    Reference.normalizeRows(w.pointer, rows: rows, d: d)
                },
                keepAlive: [w, g])
        })
        // The training step's output gradient and its b_dec column sums: reads xHat and x,
        // writes g (12 bytes per element); the column sums stay in cache.
        let b = 4096, dIn = 512, e = b * dIn
        cases.append(BenchCase(kernel: "scaled_difference", shape: "\(b)x\(dIn)", work: .bytes(12.0 * Double(e))) { threads in
            let xHat = Buffer(e, seed: 18), x = Buffer(e, seed: 19), g = Buffer(e, fill: 0), sums = Buffer(dIn, fill: 0)
            return Runner(
                fast: { BatchElementwise.scaledDifference(xHat.const, minus: x.const, scale: 2.0 / Float(b), rows: b, d: dIn,
                                                          into: g.pointer, columnSums: sums.pointer, threads: threads) },
                naive: { Reference.scaledDifference(xHat.const, minus: x.const, scale: 2.0 / Float(b), rows: b, d: dIn,
                                                    into: g.pointer, columnSums: sums.pointer) },
                keepAlive: [xHat, x, g, sums])
        })
        // One attention head of one context (the transformer runs heads x contexts of these):
        // QK^T and PV, 2 * seq^2 * dHead multiply-adds over the causal half.
        let seq = 128, dHead = 64
        cases.append(BenchCase(kernel: "attention_head", shape: "seq\(seq) dhead\(dHead)",
                               work: .flops(2.0 * Double(seq * (seq + 1) / 2) * Double(dHead) * 2)) { _ in
            let q = Buffer(seq * dHead, seed: 20), k = Buffer(seq * dHead, seed: 21), v = Buffer(seq * dHead, seed: 22)
            let z = Buffer(seq * dHead, fill: 0)
            let scratch = Buffer(CausalAttentionHead.scratchCount(seq: seq, dHead: dHead), fill: 0)
            let scale = 1 / Float(dHead).squareRoot()
            return Runner(
                fast: { CausalAttentionHead.forward(q: q.const, k: k.const, v: v.const, ld: dHead, seq: seq, dHead: dHead,
                                                    scale: scale, z: z.pointer, ldz: dHead, scratch: scratch.pointer) },
                naive: { Reference.causalAttentionHead(q: q.const, k: k.const, v: v.const, ld: dHead, seq: seq, dHead: dHead,
                                                       scale: scale, z: z.pointer, ldz: dHead) },
                keepAlive: [q, k, v, z, scratch])
        })
        return cases
    }
}
