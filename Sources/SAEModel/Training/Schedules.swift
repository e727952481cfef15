import Foundation

/// Learning-rate and L1-coefficient schedules, as functions of the step (0-based).
///
/// Learning rate: linear warm-up from `lr / warmup` to `lr` over `lrWarmupSteps`; constant;
/// then over the last `lrDecayFraction` of the steps, linear decay to 0 or cosine decay to
/// `minLearningRateFraction * lr`. L1 coefficient: linear warm-up from `l1 / warmup` over
/// `l1WarmupSteps`, then constant.
package struct Schedules: Sendable {
    package let config: TrainingConfig
    package let totalSteps: Int

    package init(config: TrainingConfig, totalSteps: Int) {
        self.config = config
        self.totalSteps = max(1, totalSteps)
    }

    package func learningRate(step: Int) -> Double {
        let lr = config.learningRate
        if step < config.effectiveLRWarmupSteps { return lr * Double(step + 1) / Double(config.effectiveLRWarmupSteps) }
        guard config.lrDecay != .constant else { return lr }
        let decaySteps = Int((Double(totalSteps) * config.lrDecayFraction).rounded())
        let decayStart = totalSteps - decaySteps
        guard decaySteps > 0, step >= decayStart else { return lr }
        let progress = Double(step - decayStart + 1) / Double(decaySteps)
        switch config.lrDecay {
        case .linear: return lr * max(0, 1 - progress)
        case .cosine:
            let floor = config.minLearningRateFraction * lr
            return floor + (lr - floor) * 0.5 * (1 + cos(Double.pi * min(1, progress)))
        case .constant: return lr
        }
    }

    package func l1Coefficient(step: Int) -> Float {
        let l1 = config.l1Coefficient
        guard step < config.effectiveL1WarmupSteps else { return l1 }
        return l1 * Float(step + 1) / Float(config.effectiveL1WarmupSteps)
    }
}
