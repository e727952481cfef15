import SAEKernels
import SAEModel

/// Ground-truth recovery on synthetic activations with planted features: unit directions in
/// superposition, power-law firing probabilities (exponent 0.5), |N(1, 0.25)| magnitudes,
/// noise 0.01. Times the whole training run once and reports the mean max cosine between the
/// true features and the learned decoder rows and the fraction recovered (cosine > 0.9).
/// - TopK (k 12): 1024 true features in 256 dimensions (p in [1e-4, 0.1], mean 8 active),
///   2048 latents, 4M rows of batch 1024.
/// - Standard (L1 1, re-init resampling): 256 true features in 64 dimensions (p in [1e-3, 0.2],
///   mean 4 active), 512 latents, 1M rows of batch 256.
enum SyntheticCases {
    struct Setting {
        var arch: SAEArchitecture, nTrue: Int, dIn: Int, dSae: Int, targetL0: Double, minP: Double, maxP: Double
        var rows: Int, batch: Int, lr: Double
    }

    static func all() -> [BenchCase] {
        [run(Setting(arch: .topk, nTrue: 1024, dIn: 256, dSae: 2048, targetL0: 8, minP: 1e-4, maxP: 0.1, rows: 4_000_000, batch: 1024, lr: 1e-3)),
         run(Setting(arch: .standard, nTrue: 256, dIn: 64, dSae: 512, targetL0: 4, minP: 1e-3, maxP: 0.2, rows: 1_024_000, batch: 256, lr: 3e-3))]
    }

    static func run(_ s: Setting) -> BenchCase {
        BenchCase(kernel: "synthetic_recovery_\(s.arch.rawValue)",
                  shape: "\(s.nTrue) true in d\(s.dIn), dsae\(s.dSae), \(s.rows / 1000)k rows",
                  work: .flops(Double(s.rows / s.batch) * 2 * Double(s.batch * s.dIn * s.dSae))) { threads in
            final class Result { var mean = 0.0, recovered = 0.0 }
            let result = Result()
            return Runner(
                fast: {
                    var c = TrainingConfig.plain
                    c.architecture = s.arch
                    c.dSae = s.dSae; c.k = 12; c.l1Coefficient = 1
                    c.batchSize = s.batch; c.trainTokens = s.rows
                    c.learningRate = s.lr; c.lrWarmupSteps = 50; c.lrDecay = .linear
                    c.bufferBatches = 16; c.threads = threads; c.seed = 7
                    c.resampling = .reinit(everyTokens: s.rows / 6, frequencyBelow: 1e-4)
                    c.logEverySteps = 1_000_000
                    let src = SyntheticActivations(.init(dIn: s.dIn, nTrue: s.nTrue, targetL0: s.targetL0, powerLawExponent: 0.5,
                                                         minProbability: s.minP, maxProbability: s.maxP, noiseStd: 0.01, seed: 9))
                    let truth = src.features
                    let t = try! SAETrainer(config: c, source: src)
                    try! t.train()
                    let r = FeatureRecovery.evaluate(decoder: t.autoencoder().wDec, trueFeatures: truth, threads: threads)
                    result.mean = r.meanMaxCosine; result.recovered = r.fractionRecovered
                },
                keepAlive: [result],
                report: { ["mean_max_cosine": result.mean, "fraction_recovered": result.recovered] })
        }
    }
}
