import SAEKernels

/// The interventions that splice a reconstruction into a model run, in one place for
/// every caller that measures an SAE inside the model (`ModelLoss` and the analyses'
/// `SplicedBatch`).
///
/// A hook's value is `[batch * seq, width]`, row `b * seq + position`.
package enum Splice {
    /// Replaces the hook's value `x` by `reconstruct(x)` (same shape); at the positions
    /// `excluded` leaves out (position 0 for `.bos`) the clean `x` is kept, so the SAE is
    /// not spliced where it was not trained. `hook` names the hook in the error thrown when
    /// the reconstruction has another shape.
    package static func reconstruction(
        hook: String, excluded: ExcludedPositions, seq: Int,
        _ reconstruct: @escaping (Matrix) throws -> Matrix
    ) -> HookIntervention {
        { m in
            var spliced = try reconstruct(m)
            if excluded != .none {
                guard spliced.rows == m.rows && spliced.cols == m.cols else {
                    throw TransformerError.invalidRequest(
                        reason: "the reconstruction of '\(hook)' is \(spliced.rows)x\(spliced.cols), not \(m.rows)x\(m.cols)")
                }
                excluded.restoreExcludedRows(of: &spliced, from: m, seq: seq)
            }
            m = spliced
        }
    }

    /// Zero ablation: every entry of the hook's value set to 0 (every position).
    package static var zeroAblation: HookIntervention {
        { m in m.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    /// Mean ablation: every row of the hook's value set to `mean` (`width` entries; every
    /// position).
    package static func meanAblation(_ mean: [Float]) -> HookIntervention {
        let width = mean.count
        return { m in
            let rows = m.rows
            m.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows { for j in 0..<width { p[r * width + j] = mean[j] } }
            }
        }
    }
}
