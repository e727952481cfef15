/// The SAE encoder, fused: `pre = (x - b_dec) W_enc + b_enc`, `f = ReLU(pre)`.
///
/// Shapes (row-major): `x` is `batch x dIn`; `W_enc` is `dIn x dSae` (`.none`, SAELens's
/// layout) or stored transposed as `dSae x dIn` (`.transposed`, the layout the sparse backward
/// updates row by row); `b_enc` has `dSae` entries, `b_dec` `dIn` (nil: x is already centred).
/// The bias and the ReLU are applied in the GEMM epilogue, on each tile while it is in
/// registers: no extra pass over the `batch x dSae` output.
public enum Encoder {
    /// Dense codes: `features = ReLU(pre)` (`batch x dSae`), and `pre` itself when asked.
    public static func forward(
        x: UnsafePointer<Float>, batch: Int, dIn: Int, dSae: Int,
        wEnc: UnsafePointer<Float>, layout: Transposition, bEnc: UnsafePointer<Float>,
        bDec: UnsafePointer<Float>?, features: UnsafeMutablePointer<Float>,
        pre: UnsafeMutablePointer<Float>? = nil, relu: Bool = true,
        threads: Int = Parallel.defaultThreads
    ) {
        precondition(batch >= 0 && dIn > 0 && dSae > 0, "Encoder: bad shape batch=\(batch) dIn=\(dIn) dSae=\(dSae)")
        withCentered(x, batch: batch, dIn: dIn, bDec: bDec) { xc in
            GEMM.multiply(.none, layout, m: batch, n: dSae, k: dIn, a: xc, lda: dIn,
                          b: wEnc, ldb: layout == .none ? dSae : dIn, c: features, ldc: dSae,
                          epilogue: GEMMEpilogue(columnBias: bEnc, relu: relu, preActivations: pre,
                                                 preLeadingDimension: dSae),
                          threads: threads)
        }
    }

    /// Rows per chunk in the fused sparse encoders: one chunk's pre-activations (at most
    /// 64 Mi floats, 256 MiB) are written by the GEMM and consumed by the selection pass
    /// without ever storing the whole batch's; fewer, larger chunks repack W_enc less often.
    package static func chunkRows(dSae: Int) -> Int {
        max(64, min(4096, (64 << 20) / max(1, dSae)) / 32 * 32)
    }

    /// TopK codes: per row, the `k` largest pre-activations (indices), with values
    /// `max(pre, 0)`, ordered by decreasing value. The `batch x dSae` pre-activations are
    /// produced and consumed a chunk of rows at a time and never stored whole.
    public static func forwardTopK(
        x: UnsafePointer<Float>, batch: Int, dIn: Int, dSae: Int,
        wEnc: UnsafePointer<Float>, layout: Transposition, bEnc: UnsafePointer<Float>,
        bDec: UnsafePointer<Float>?, k: Int, threads: Int = Parallel.defaultThreads
    ) -> SparseCodes {
        precondition(k >= 0 && k <= dSae, "Encoder.forwardTopK: k=\(k) must be in 0...\(dSae)")
        var indices = [Int32](repeating: 0, count: batch * k)
        var values = [Float](repeating: 0, count: batch * k)
        if k == 0 || batch == 0 { return SparseCodes(rows: batch, width: dSae, k: k, indices: indices, values: values) }
        // The GEMM streams each finished tile into the per-row candidates: the dense
        // pre-activations are never written out.
        let candidates = TopKCandidates(rows: min(chunkRows(dSae: dSae), batch), width: dSae, k: k)
        indices.withUnsafeMutableBufferPointer { ip in values.withUnsafeMutableBufferPointer { vp in
            forEachChunk(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: wEnc, layout: layout, bEnc: bEnc,
                         bDec: bDec, relu: false, rowTopK: candidates, threads: threads) { r0, rows, _ in
                candidates.finish(rows: rows, relu: true, indices: ip.baseAddress! + r0 * k, values: vp.baseAddress! + r0 * k,
                                  threads: threads)
            }
        }}
        return SparseCodes(rows: batch, width: dSae, k: k, indices: indices, values: values)
    }

    /// ReLU codes in sparse form: the nonzeros of `ReLU(pre)`, per row in increasing feature
    /// order. The dense output is produced and collected a chunk of rows at a time.
    public static func forwardSparse(
        x: UnsafePointer<Float>, batch: Int, dIn: Int, dSae: Int,
        wEnc: UnsafePointer<Float>, layout: Transposition, bEnc: UnsafePointer<Float>,
        bDec: UnsafePointer<Float>?, threads: Int = Parallel.defaultThreads
    ) -> SparseCodes {
        var builder = SparseCodes.Builder(width: dSae)
        forEachChunk(x: x, batch: batch, dIn: dIn, dSae: dSae, wEnc: wEnc, layout: layout, bEnc: bEnc,
                     bDec: bDec, relu: true, threads: threads) { _, rows, f in
            builder.appendNonzeros(of: f, rows: rows, threads: threads)
        }
        return builder.codes
    }

    /// Runs the encoder GEMM a chunk of rows at a time (`chunkRows(dSae:)` rows) into reused
    /// scratch and hands each chunk (first row, row count, `rows x dSae` output: `pre`, or
    /// `ReLU(pre)` with `relu`; writable, valid only during `body`) to `body`. The one
    /// chunked encoder loop: the fused sparse encoders here and the SAE's encoders
    /// (`SparseAutoencoder+Encode.swift`) all run through it.
    package static func forEachChunk(
        x: UnsafePointer<Float>, batch: Int, dIn: Int, dSae: Int,
        wEnc: UnsafePointer<Float>, layout: Transposition, bEnc: UnsafePointer<Float>,
        bDec: UnsafePointer<Float>?, relu: Bool, blockMaxima: UnsafeMutablePointer<Float>? = nil,
        rowTopK: TopKCandidates? = nil, threads: Int,
        _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        precondition(batch >= 0 && dIn > 0 && dSae > 0, "Encoder: bad shape batch=\(batch) dIn=\(dIn) dSae=\(dSae)")
        let chunk = chunkRows(dSae: dSae)
        withCentered(x, batch: batch, dIn: dIn, bDec: bDec) { xc in
            ScratchPool.withScratch(count: min(chunk, max(1, batch)) * dSae) { out in
                var r0 = 0
                while r0 < batch {
                    let rows = min(chunk, batch - r0)
                    GEMM.multiply(.none, layout, m: rows, n: dSae, k: dIn, a: xc + r0 * dIn, lda: dIn,
                                  b: wEnc, ldb: layout == .none ? dSae : dIn, c: out, ldc: dSae,
                                  epilogue: GEMMEpilogue(columnBias: bEnc, relu: relu, rowBlockMaxima: blockMaxima,
                                                         rowBlockMaximaLeadingDimension: (dSae + GEMM.outputBlockWidth - 1) / GEMM.outputBlockWidth,
                                                         rowTopK: rowTopK),
                                  threads: threads)
                    body(r0, rows, out)
                    r0 += rows
                }
            }
        }
    }

    /// Calls `body` with `x - b_dec` (in scratch), or with `x` itself when `bDec` is nil.
    static func withCentered<R>(_ x: UnsafePointer<Float>, batch: Int, dIn: Int, bDec: UnsafePointer<Float>?,
                                _ body: (UnsafePointer<Float>) -> R) -> R {
        guard let bDec else { return body(x) }
        return ScratchPool.withScratch(count: batch * dIn) { xc in
            for r in 0..<batch {
                let src = x + r * dIn, dst = xc + r * dIn
                for i in 0..<dIn { dst[i] = src[i] - bDec[i] }
            }
            return body(UnsafePointer(xc))
        }
    }
}
