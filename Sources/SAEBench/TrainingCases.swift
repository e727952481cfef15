import SAEKernels
import SAEModel

/// Whole SAE training steps (batch from the shuffled buffer, forward, backward, decoder
/// projection, Adam, unit-norm) at d_in 512, d_sae 16384, batch 4096: a standard ReLU SAE
/// whose encoder bias puts its mean L0 near 60, and a TopK SAE with k = 32.
enum TrainingCases {
    static func all() -> [BenchCase] {
        let dIn = 512, dSae = 16384, batch = 4096
        // The encoder GEMM's flops: the one dense product a sparse step needs.
        let flops = 2.0 * Double(batch * dIn * dSae)
        return [
            BenchCase(kernel: "train_step_standard", shape: "b\(batch) din\(dIn) dsae\(dSae)", work: .flops(flops)) { threads in
                stepRunner(.standard, dIn: dIn, dSae: dSae, batch: batch, threads: threads)
            },
            BenchCase(kernel: "train_step_topk", shape: "b\(batch) din\(dIn) dsae\(dSae) k32", work: .flops(flops)) { threads in
                stepRunner(.topk, dIn: dIn, dSae: dSae, batch: batch, threads: threads)
            },
        ]
    }

    final class Box { var trainer: SAETrainer<ArrayActivationSource>; init(_ t: SAETrainer<ArrayActivationSource>) { trainer = t } }

    static func stepRunner(_ arch: SAEArchitecture, dIn: Int, dSae: Int, batch: Int, threads: Int) -> Runner {
        var c = TrainingConfig.plain
        c.architecture = arch
        c.dSae = dSae
        c.k = 32
        c.batchSize = batch
        c.trainTokens = batch * 1000
        c.bufferBatches = 4
        c.threads = threads
        c.learningRate = 1e-5
        c.l1Coefficient = 1
        c.decoderNorm = .unitNorm  // the step the README's figures time
        c.bDecInit = .zeros
        c.logEverySteps = 1
        var sae = SparseAutoencoder.random(architecture: arch, dIn: dIn, dSae: dSae, k: 32, seed: 1)
        // x ~ N(0, I) and unit encoder columns make each pre-activation ~ N(0, 1) - 2.68:
        // about 0.37% of 16384 latents fire, a mean L0 near 60.
        if arch == .standard { sae.bEnc = [Float](repeating: -2.68, count: dSae) }
        var rng = SeededRandom(seed: 2)
        let rows = (0..<(4 * batch * dIn)).map { _ in rng.normal() }
        let trainer = try! SAETrainer(config: c, source: ArrayActivationSource(rows: rows, dIn: dIn, cycle: true), initial: sae)
        let box = Box(trainer)
        // First step outside the timing: fills the buffer and (ReLU) leaves the dense first step.
        _ = try! trainer.trainStep()
        var l0 = 0.0
        return Runner(
            fast: { l0 = (try! box.trainer.trainStep())?.l0 ?? l0 },
            naive: nil,
            extra: [:],
            keepAlive: [box],
            report: { ["l0": l0] })
    }
}
