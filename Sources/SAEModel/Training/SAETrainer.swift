import Foundation
import SAEKernels

/// Trains an SAE on the rows an activation source produces.
///
/// Each step: a batch from the shuffled buffer, the forward and backward pass of
/// `TrainingStep` (sparse once the codes are sparse), the decoder-gradient projection, optional
/// gradient clipping, Adam with the scheduled learning rate, decoder rows renormalised to unit
/// norm (the projection and renormalisation only under `.unitNorm`; the default standard SAE,
/// `.l1Weighted`, leaves its decoder rows free and weights the L1 by their norms), the optional
/// encoder orthogonality constraint; then firing statistics, resampling,
/// frequency snapshots, checkpoints and the log on their own cadences. The same config and
/// seed give bitwise the same weights for any thread count.
///
/// On a sparse step without clipping or an AuxK term, the weight matrices' update (projection,
/// Adam, renormalisation) runs inside the backward pass, on each latent's rows as their
/// gradients are formed; the weights come out bitwise as with the separate passes.
public final class SAETrainer<Source: ActivationSource> {
    public let config: TrainingConfig
    public let dIn: Int
    package let schedules: Schedules
    package internal(set) var parameters: TrainingParameters
    public internal(set) var step = 0
    public internal(set) var tokensSeen = 0
    public internal(set) var frequencies: FeatureFrequencies
    /// Per-feature firing frequencies, one entry per `frequencySnapshotTokens` tokens.
    public internal(set) var snapshots = FrequencySnapshots()
    /// Inputs are multiplied by this before the SAE sees them (1 unless `normalizeInput`).
    public internal(set) var inputScale: Float = 1
    /// BatchTopK: the running inference threshold.
    public internal(set) var threshold: Float? = nil
    public var metadata: SAEMetadata
    public internal(set) var source: Source

    var buffer: ActivationBuffer
    var rng: SeededRandom
    var initialized = false
    var useDensePath: Bool
    var grads: TrainingGradients
    let workspace = TrainingWorkspace()
    var batch: [Float]
    var lastLogTime: UInt64 = 0
    var lastLogTokens = 0
    var template: SparseAutoencoder
    /// Training continues a given SAE: its b_dec is kept, and it is brought into the trainer's
    /// form (scaled inputs, unit-norm decoder rows) once the input scale is known.
    let continuesInitial: Bool

    public init(config: TrainingConfig, source: Source, metadata: SAEMetadata = SAEMetadata(),
                initial: SparseAutoencoder? = nil) throws {
        let dIn = source.dIn
        try config.validate(dIn: dIn)
        if let initial { try Self.checkContinuable(initial, config: config, dIn: dIn) }
        self.config = config
        self.dIn = dIn
        self.source = source
        self.metadata = metadata
        let totalSteps = config.trainTokens / config.batchSize
        schedules = Schedules(config: config, totalSteps: totalSteps)
        let k = (config.architecture == .topk || config.architecture == .batchtopk) ? config.k : nil
        // `.l1Weighted`: rows at `decoderInitNorm` (SAELens: 0.1), W_enc = W_dec^T; else unit rows.
        let initNorm: Float = config.effectiveDecoderNorm == .l1Weighted ? config.decoderInitNorm : 1
        template = initial.map { Self.continuation(of: $0, inputScale: 1, unitNormDecoder: config.effectiveDecoderNorm == .unitNorm) }
            ?? SparseAutoencoder.random(architecture: config.architecture, dIn: dIn, dSae: config.dSae, k: k,
                                        seed: config.seed, decoderNorm: initNorm, metadata: metadata)
        parameters = TrainingParameters(template)
        frequencies = FeatureFrequencies(dSae: config.dSae, windowTokens: config.effectiveFrequencyWindowTokens)
        buffer = ActivationBuffer(dIn: dIn, capacity: config.batchSize * config.bufferBatches, seed: config.seed)
        rng = SeededRandom(seed: config.seed ^ 0x5EED_0F_7EA1)
        // A ReLU SAE starts dense; TopK codes are sparse from the first step.
        useDensePath = config.architecture == .standard
        grads = TrainingGradients(dIn: dIn, dSae: config.dSae)
        batch = [Float](repeating: 0, count: config.batchSize * dIn)
        continuesInitial = initial != nil
        // A learned BatchTopK threshold carries on (0 means none learned yet).
        if let t = initial?.threshold?.first, t > 0, config.architecture == .batchtopk { threshold = t }
    }

    var totalSteps: Int { config.trainTokens / config.batchSize }

    var stepOptions: TrainingStep.Options {
        var o = TrainingStep.Options(architecture: config.architecture)
        o.k = config.k
        o.l1Coefficient = schedules.l1Coefficient(step: step)
        o.decoderNorm = config.effectiveDecoderNorm
        o.threads = config.threads
        o.kAux = config.kAux
        o.auxCoefficient = config.auxCoefficient
        o.batchTopKCandidatesPerRow = 4 * config.k
        if config.kAux > 0 && config.architecture != .standard {
            o.deadLatents = frequencies.dead(afterTokens: config.effectiveDeadTokens)
        }
        return o
    }

    /// Fills the buffer and sets b_dec and the input scale from a sample of it.
    func initialize() throws {
        initialized = true
        var probe = [Float](repeating: 0, count: dIn)
        // The first batch request fills the buffer; take the sample from its storage in source order.
        let ok = try probe.withUnsafeMutableBufferPointer { try buffer.nextBatch(into: $0.baseAddress!, count: 1, from: &source) }
        guard ok else { throw TrainingError.sourceExhausted(tokens: 0) }
        buffer.position -= 1  // give the probed row back
        let rows = min(config.initSampleRows, buffer.filled)
        var sample = Array(buffer.rows[0..<(rows * dIn)])
        if config.normalizeInput {
            var meanNorm = 0.0
            for r in 0..<rows {
                var s = 0.0
                for i in 0..<dIn { s += Double(sample[r * dIn + i]) * Double(sample[r * dIn + i]) }
                meanNorm += s.squareRoot()
            }
            meanNorm /= Double(max(1, rows))
            guard meanNorm > 0, meanNorm.isFinite else {
                throw TrainingError.invalidConfig("cannot normalise inputs: their mean norm is \(meanNorm)")
            }
            inputScale = Float(Double(dIn).squareRoot() / meanNorm)
            for i in sample.indices { sample[i] *= inputScale }
        }
        if continuesInitial {
            parameters = TrainingParameters(Self.continuation(of: template, inputScale: inputScale,
                                                              unitNormDecoder: config.effectiveDecoderNorm == .unitNorm))
            return
        }
        switch config.bDecInit {
        case .zeros: break
        case .mean: parameters.bDec = DecoderBiasInit.mean(sample, rows: rows, dIn: dIn)
        case .geometricMedian: parameters.bDec = DecoderBiasInit.geometricMedian(sample, rows: rows, dIn: dIn)
        }
    }

    /// Runs one step. Returns the log record when this step is a log step (or the last),
    /// nil otherwise; throws `sourceExhausted` when no full batch is left.
    @discardableResult
    public func trainStep() throws -> TrainingLogRecord? {
        if !initialized { try initialize(); lastLogTime = DispatchTime.now().uptimeNanoseconds }
        let b = config.batchSize
        let got = try batch.withUnsafeMutableBufferPointer { try buffer.nextBatch(into: $0.baseAddress!, count: b, from: &source, threads: config.threads) }
        guard got else { throw TrainingError.sourceExhausted(tokens: tokensSeen) }
        if inputScale != 1 { for i in batch.indices { batch[i] *= inputScale } }
        let options = stepOptions
        let path: TrainingStep.Path = useDensePath ? .dense : .sparse
        // Without clipping (which needs every gradient first) or an AuxK term (added after the
        // main backward), Adam runs on the weight rows inside the sparse backward.
        let fused = path == .sparse && config.gradientClipNorm == nil && (options.deadLatents ?? []).isEmpty
        let weightUpdate = fused ? adamStep : nil
        let outcome = batch.withUnsafeBufferPointer {
            TrainingStep.run(&parameters, x: $0.baseAddress!, rows: b, options: options, path: path, grads: &grads,
                             workspace: workspace, weightUpdate: weightUpdate)
        }
        guard outcome.loss.isFinite else { throw TrainingError.nonFinite(step: step, what: "the loss") }
        applyUpdate(weightsUpdated: outcome.weightsUpdated)
        guard parameters.bDec.allSatisfy(\.isFinite), parameters.bEnc.allSatisfy(\.isFinite) else {
            throw TrainingError.nonFinite(step: step, what: "a bias")
        }
        frequencies.record(outcome.codes)
        if let m = outcome.batchTopKMinimum {
            threshold = threshold.map { Float(config.thresholdMomentum * Double($0) + (1 - config.thresholdMomentum) * Double(m)) } ?? m
        }
        useDensePath = outcome.codes.meanEntriesPerRow > config.denseDensity * Double(parameters.dSae)
        let previousTokens = tokensSeen
        step += 1
        tokensSeen += b
        func crossed(_ every: Int) -> Bool { every > 0 && previousTokens / every != tokensSeen / every }
        var resampled: Int? = nil
        switch config.resampling {
        case .none: break
        case .reinit(_, let below) where crossed(config.effectiveResamplingTokens ?? 0):
            let (f, _) = frequencies.takeResamplePeriod()
            let latents = (0..<parameters.dSae).filter { f[$0] < below }
            Resampler.reinitialize(latents, in: &parameters, rng: &rng)
            resampled = latents.count
        case .anthropic(_, let sampleRows) where crossed(config.effectiveResamplingTokens ?? 0):
            let (f, _) = frequencies.takeResamplePeriod()
            let latents = (0..<parameters.dSae).filter { f[$0] == 0 }
            if !latents.isEmpty { resampleAnthropic(latents, alive: (0..<parameters.dSae).filter { f[$0] > 0 }, sampleRows: sampleRows) }
            resampled = latents.count
        default: break
        }
        if crossed(config.effectiveFrequencySnapshotTokens) { snapshots.append(tokens: tokensSeen, frequencies: frequencies.takeSnapshot()) }
        // The checkpoint goes after the log record is made, and holds it (a resumed run's log lacks no step).
        let checkpoint = crossed(config.checkpointTokens) ? config.checkpointDirectory.map {
            URL(fileURLWithPath: $0).appendingPathComponent(CheckpointDirectory.name(step: step))
        } : nil
        guard step % max(1, config.logEverySteps) == 0 || step == totalSteps || resampled != nil else {
            if let checkpoint { try saveCheckpoint(to: checkpoint, logRecord: nil) }
            return nil
        }
        let now = DispatchTime.now().uptimeNanoseconds
        let seconds = Double(now - lastLogTime) / 1e9
        let rate = seconds > 0 ? Double(tokensSeen - lastLogTokens) / seconds : 0
        lastLogTime = now; lastLogTokens = tokensSeen
        let w = frequencies.currentSummary
        let total = outcome.statistics.totalSumOfSquares
        let record = TrainingLogRecord(
            step: step, tokens: tokensSeen, learningRate: schedules.learningRate(step: step - 1),
            l1Coefficient: Double(options.l1Coefficient), loss: outcome.loss,
            mse: outcome.statistics.meanSquaredError,
            normalizedMSE: total > 0 ? outcome.statistics.sumSquaredError / total : .nan,
            explainedVariance: outcome.statistics.explainedVariance, l0: outcome.l0, l1: outcome.l1,
            auxLoss: outcome.auxLoss, deadFraction: w.dead, below1e5Fraction: w.below1e5, below1e4Fraction: w.below1e4,
            frequencyWindowTokens: w.tokens, tokensPerSecond: rate, densePath: outcome.path == .dense, resampled: resampled)
        if let checkpoint { try saveCheckpoint(to: checkpoint, logRecord: record) }
        return record
    }

    /// This step's Adam constants (scheduled learning rate, 1-based step number).
    var adamStep: Adam.Step {
        Adam.Step(learningRate: schedules.learningRate(step: step), beta1: config.adamBeta1, beta2: config.adamBeta2,
                  epsilon: config.adamEpsilon, step: step + 1)
    }

    /// Decoder projection, clipping, Adam, decoder renormalisation (projection and
    /// renormalisation under `.unitNorm` only), encoder orthogonality;
    /// with `weightsUpdated` (the step's backward already ran Adam on both weight matrices),
    /// only the biases' Adam and the orthogonality constraint are left.
    func applyUpdate(weightsUpdated: Bool = false) {
        let dIn = self.dIn, dSae = parameters.dSae, t = config.threads
        // Without clipping (which needs every projected gradient first), the decoder's
        // projection, step and renormalisation run fused, one pass over its rows.
        let unitNorm = config.effectiveDecoderNorm == .unitNorm
        let fusedDecoder = unitNorm && config.gradientClipNorm == nil
        let lr = schedules.learningRate(step: step)
        func adam(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float]) {
            p.withUnsafeMutableBufferPointer { pp in g.withUnsafeBufferPointer { gp in
                m.withUnsafeMutableBufferPointer { mp in v.withUnsafeMutableBufferPointer { vp in
                    Adam.step(parameters: pp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                              secondMoment: vp.baseAddress!, count: pp.count, learningRate: lr, beta1: config.adamBeta1,
                              beta2: config.adamBeta2, epsilon: config.adamEpsilon, step: step + 1, threads: t)
                }}
            }}
        }
        let weights = !weightsUpdated
        if weights && unitNorm && !fusedDecoder {
            parameters.wDec.withUnsafeBufferPointer { w in grads.wDec.withUnsafeMutableBufferPointer { g in
                Adam.projectGradientOrthogonal(w.baseAddress!, g.baseAddress!, rows: dSae, d: dIn, threads: t)
            }}
        }
        if weights, let clip = config.gradientClipNorm {
            let norm = grads.globalNorm()
            if norm > clip { grads.scale(by: Float(clip / norm)) }
        }
        // Work on a local (swapped out, no copy): one exclusive access for all four tensors.
        var p = TrainingParameters(placeholderFor: parameters)
        swap(&p, &parameters)
        defer { swap(&p, &parameters) }
        if weights { adam(&p.wEncT, grads.wEncT, &p.moments.mEncT, &p.moments.vEncT) }
        adam(&p.bEnc, grads.bEnc, &p.moments.mBEnc, &p.moments.vBEnc)
        if weights && fusedDecoder {
            p.wDec.withUnsafeMutableBufferPointer { pp in grads.wDec.withUnsafeMutableBufferPointer { gp in
                p.moments.mDec.withUnsafeMutableBufferPointer { mp in p.moments.vDec.withUnsafeMutableBufferPointer { vp in
                    Adam.unitNormRowsStep(parameters: pp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                                          secondMoment: vp.baseAddress!, rows: dSae, d: dIn, learningRate: lr,
                                          beta1: config.adamBeta1, beta2: config.adamBeta2, epsilon: config.adamEpsilon,
                                          step: step + 1, threads: t)
                }}
            }}
        } else if weights {
            adam(&p.wDec, grads.wDec, &p.moments.mDec, &p.moments.vDec)
        }
        adam(&p.bDec, grads.bDec, &p.moments.mBDec, &p.moments.vBDec)
        if weights && unitNorm && !fusedDecoder {
            p.wDec.withUnsafeMutableBufferPointer { w in Adam.normalizeRows(w.baseAddress!, rows: dSae, d: dIn, threads: t) }
        }
        if !orthonormalDirections.isEmpty { Self.orthogonalize(&p.wEncT, dIn: dIn, against: orthonormalDirections) }
    }

    /// The orthonormalised `encoderOrthogonalTo` directions (Gram-Schmidt in Double).
    lazy var orthonormalDirections: [[Float]] = {
        var basis: [[Double]] = []
        for d in config.encoderOrthogonalTo {
            var v = d.map(Double.init)
            for u in basis { let c = zip(v, u).reduce(0) { $0 + $1.0 * $1.1 }; for i in v.indices { v[i] -= c * u[i] } }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if n > 1e-12 { basis.append(v.map { $0 / n }) }
        }
        return basis.map { $0.map(Float.init) }
    }()

    /// Removes from every encoder column (row of W_enc^T) its component along each
    /// (orthonormal) direction.
    static func orthogonalize(_ wEncT: inout [Float], dIn: Int, against directions: [[Float]]) {
        let rows = wEncT.count / dIn
        wEncT.withUnsafeMutableBufferPointer { w in
            for u in directions {
                for j in 0..<rows {
                    var c: Float = 0
                    for i in 0..<dIn { c.addProduct(w[j * dIn + i], u[i]) }
                    for i in 0..<dIn { w[j * dIn + i].addProduct(-c, u[i]) }
                }
            }
        }
    }

    func resampleAnthropic(_ latents: [Int], alive: [Int], sampleRows: Int) {
        let rows = min(sampleRows, buffer.filled)
        guard rows > 0 else { return }
        // A sample of the buffer's rows (without consuming them), scaled as training sees them.
        var x = [Float](repeating: 0, count: rows * dIn)
        for r in 0..<rows {
            let slot = Int(rng.next() % UInt64(buffer.filled))
            for i in 0..<dIn { x[r * dIn + i] = buffer.rows[slot * dIn + i] * inputScale }
        }
        let (codes, xHat) = x.withUnsafeBufferPointer { TrainingStep.forward(parameters, x: $0.baseAddress!, rows: rows, options: stepOptions) }
        let l1 = Double(schedules.l1Coefficient(step: step))
        // The L1 term as training weighs it: by the decoder-row norms under `.l1Weighted`.
        var rowNorms: [Double]? = nil
        if config.effectiveDecoderNorm == .l1Weighted {
            rowNorms = (0..<parameters.dSae).map { j in
                var s = 0.0
                for i in 0..<dIn { s += Double(parameters.wDec[j * dIn + i]) * Double(parameters.wDec[j * dIn + i]) }
                return s.squareRoot()
            }
        }
        var losses = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var s = 0.0
            for i in 0..<dIn { let d = Double(x[r * dIn + i] - xHat[r * dIn + i]); s += d * d }
            if config.architecture == .standard {
                for e in codes.offsets[r]..<codes.offsets[r + 1] {
                    if let rowNorms { s += l1 * Double(codes.values[e]) * rowNorms[Int(codes.indices[e])] }
                    else { s += l1 * Double(codes.values[e]) }
                }
            }
            losses[r] = s
        }
        Resampler.anthropic(latents, in: &parameters, sample: x, rows: rows, losses: losses, alive: alive, rng: &rng)
    }

    /// Trains until `trainTokens` (or the source runs out after at least one step), calling
    /// `onLog` with each log record. Returns the last record.
    @discardableResult
    public func train(onLog: (TrainingLogRecord) -> Void = { _ in }) throws -> TrainingLogRecord? {
        var last: TrainingLogRecord? = nil
        while step < totalSteps {
            do {
                if let record = try trainStep() { onLog(record); last = record }
            } catch TrainingError.sourceExhausted(let tokens) where step > 0 {
                _ = tokens
                break
            }
        }
        return last
    }

    /// The SAE as trained, in SAELens's layout for raw (unscaled) inputs: the input scale is
    /// folded into the weights; a BatchTopK SAE keeps its learned threshold repeated per
    /// latent (the JumpReLU it runs as at inference) and its k, and is saved as SAELens saves
    /// one: `architecture` jumprelu, `metadata.training_architecture` batchtopk, the k in
    /// `metadata.training_architecture_details`.
    public func autoencoder() -> SparseAutoencoder {
        var sae = template
        sae.metadata = metadata
        parameters.write(into: &sae)
        if config.architecture == .batchtopk {
            sae.threshold = [Float](repeating: threshold ?? 0, count: parameters.dSae)
        }
        if inputScale != 1 {
            sae.foldActivationScale(inputScale)
            // The JumpReLU threshold applies to pre-activations, which the fold leaves unchanged.
        }
        return sae
    }
}
