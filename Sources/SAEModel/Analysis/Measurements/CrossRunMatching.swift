import SAEKernels

/// Matching the features of two SAEs on the same hook: for each feature of one, its best
/// cosine among the features of the other, for decoder rows and for encoder columns.
///
/// With unit rows `a_j` (SAE A) and `b_k` (SAE B), `bestInB_j = max_k a_j · b_k` and
/// `bestInA_k = max_j a_j · b_k` (index of the maximum in `matchInB` / `matchInA`). All pairs
/// come from one GEMM `A B^T`, `blockRows` rows of A at a time (`[blockRows, n_B]` scores in
/// memory). Zero rows have cosine 0 with everything.
public struct CrossRunMatchingResult: Codable, Sendable, Equatable {
    public struct Side: Codable, Sendable, Equatable {
        /// Per feature of A: best cosine in B, and which feature of B.
        public var bestInB: [Float]
        public var matchInB: [Int]
        /// Per feature of B: best cosine in A, and which feature of A.
        public var bestInA: [Float]
        public var matchInA: [Int]
        public var medianInB: Double
        public var medianInA: Double
        /// Histograms of `bestInB` and `bestInA` over `[-1, 1]`.
        public var histogramInB: Histogram
        public var histogramInA: Histogram
    }

    public var decoder: Side
    public var encoder: Side
}

public enum CrossRunMatching {
    public static func measure(_ a: SparseAutoencoder, _ b: SparseAutoencoder, bins: Int = 40,
                               blockRows: Int = 512, threads: Int = Parallel.defaultThreads) throws -> CrossRunMatchingResult {
        guard a.dIn == b.dIn else { throw AnalysisError.shapeMismatch("the SAEs have d_in \(a.dIn) and \(b.dIn)") }
        return CrossRunMatchingResult(
            decoder: best(a.wDec, b.wDec, bins: bins, blockRows: blockRows, threads: threads),
            encoder: best(a.wEnc.transposed(), b.wEnc.transposed(), bins: bins, blockRows: blockRows, threads: threads))
    }

    /// Best cosines between the rows of `a` (`[n_A, d]`) and of `b` (`[n_B, d]`), both ways.
    public static func best(_ a: Matrix, _ b: Matrix, bins: Int = 40, blockRows: Int = 512,
                            threads: Int = Parallel.defaultThreads) -> CrossRunMatchingResult.Side {
        precondition(a.cols == b.cols, "CrossRunMatching: rows of \(a.cols) and \(b.cols) entries")
        precondition(blockRows > 0, "CrossRunMatching: blockRows must be positive")
        let ua = VectorMath.unitRows(a), ub = VectorMath.unitRows(b)
        let (na, nb, d) = (a.rows, b.rows, a.cols)
        var bestInB = [Float](repeating: -.infinity, count: na), matchInB = [Int](repeating: -1, count: na)
        var bestInA = [Float](repeating: -.infinity, count: nb), matchInA = [Int](repeating: -1, count: nb)
        if na > 0 && nb > 0 {
            var scores = Matrix(rows: min(blockRows, na), cols: nb)
            ua.withUnsafeBufferPointer { ap in ub.withUnsafeBufferPointer { bp in
                var r0 = 0
                while r0 < na {
                    let m = min(blockRows, na - r0)
                    scores.withUnsafeMutableBufferPointer { s in
                        GEMM.multiply(.none, .transposed, m: m, n: nb, k: d, a: ap.baseAddress! + r0 * d, lda: d,
                                      b: bp.baseAddress!, ldb: d, c: s.baseAddress!, ldc: nb, threads: threads)
                    }
                    scores.withUnsafeBufferPointer { s in
                        for i in 0..<m {
                            let row = s.baseAddress! + i * nb
                            var best = -Float.infinity, arg = -1
                            for k in 0..<nb {
                                let v = row[k]
                                if v > best { best = v; arg = k }
                                if v > bestInA[k] { bestInA[k] = v; matchInA[k] = r0 + i }
                            }
                            bestInB[r0 + i] = best; matchInB[r0 + i] = arg
                        }
                    }
                    r0 += m
                }
            }}
        }
        return .init(bestInB: bestInB, matchInB: matchInB, bestInA: bestInA, matchInA: matchInA,
                     medianInB: Quantiles.median(bestInB), medianInA: Quantiles.median(bestInA),
                     histogramInB: Histogram(bestInB.map { min(1, max(-1, $0)) }, lower: -1, upper: 1, bins: bins),
                     histogramInA: Histogram(bestInA.map { min(1, max(-1, $0)) }, lower: -1, upper: 1, bins: bins))
    }
}
