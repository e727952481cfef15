import XCTest
import SAEKernels
@testable import SAEModel

/// The trainers recover planted features: activations built from known directions in
/// superposition (more features than dimensions, power-law firing probabilities), and the
/// learned decoder rows compared with the true directions.
final class SyntheticRecoveryTests: XCTestCase {
    func source(seed: UInt64) -> SyntheticActivations {
        SyntheticActivations(.init(dIn: 32, nTrue: 96, targetL0: 4, powerLawExponent: 0.5, minProbability: 1e-3,
                                   maxProbability: 0.2, noiseStd: 0.01, seed: seed))
    }

    func train(_ arch: SAEArchitecture) throws -> (mean: Double, recovered: Double) {
        var c = TrainingConfig.plain
        c.architecture = arch
        c.dSae = 192
        c.k = 5
        c.l1Coefficient = 1
        c.batchSize = 256
        c.trainTokens = 256 * (arch == .standard ? 3000 : 1500)
        c.learningRate = 3e-3
        c.lrWarmupSteps = 50
        c.lrDecay = .linear
        c.bufferBatches = 8
        c.threads = 2
        c.seed = 5
        c.resampling = .reinit(everyTokens: 256 * 250, frequencyBelow: 1e-4)
        let src = source(seed: 9)
        let truth = src.features
        let t = try SAETrainer(config: c, source: src)
        try t.train()
        let r = FeatureRecovery.evaluate(decoder: t.autoencoder().wDec, trueFeatures: truth)
        return (r.meanMaxCosine, r.fractionRecovered)
    }

    func testStandardSAERecoversMostPlantedFeatures() throws {
        let r = try train(.standard)
        print("synthetic recovery, standard: mean max cosine \(r.mean), recovered \(r.recovered)")
        XCTAssertGreaterThan(r.recovered, 0.8)
        XCTAssertGreaterThan(r.mean, 0.9)
    }

    func testTopKSAERecoversMostPlantedFeatures() throws {
        let r = try train(.topk)
        print("synthetic recovery, topk: mean max cosine \(r.mean), recovered \(r.recovered)")
        XCTAssertGreaterThan(r.recovered, 0.8)
        XCTAssertGreaterThan(r.mean, 0.9)
    }

    /// A random dictionary recovers almost nothing (the metric can fail).
    func testRandomDictionaryRecoversLittle() {
        let truth = source(seed: 9).features
        let random = SparseAutoencoder.random(architecture: .standard, dIn: 32, dSae: 192, seed: 1).wDec
        let r = FeatureRecovery.evaluate(decoder: random, trueFeatures: truth)
        XCTAssertLessThan(r.fractionRecovered, 0.2)
    }
}
