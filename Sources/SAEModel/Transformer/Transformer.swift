import Foundation
import SAEKernels

/// Replaces a hook's value during a run: given the value (`[batch * seq, width]`, rows
/// `b * seq + position`; for `attn.hook_pattern`, `[batch * heads * seq, seq]`), the
/// closure may edit it in place or assign a new matrix of the same shape (an SAE
/// reconstruction, zeros, a mean). The run continues from the edited value.
public typealias HookIntervention = (inout Matrix) throws -> Void

/// What a run computes after the last block (see `Transformer.run`).
public struct TransformerOutputs: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `loss_per_token[b, i] = -log softmax(logits[b, i])[tokens[b, i + 1]]`, `[batch, seq - 1]`,
    /// computed a block of logits at a time (the full logits are never stored).
    public static let lossPerToken = TransformerOutputs(rawValue: 1)
    /// `logits = ln_final(resid) W_U + b_U`, `[batch * seq, d_vocab]`.
    public static let logits = TransformerOutputs(rawValue: 2)
}

/// What `Transformer.run` returns.
public struct TransformerRun: Sendable {
    public let batch: Int
    public let seq: Int
    public let heads: Int
    /// The captured hooks by name. Row `b * seq + position` of a `[batch * seq, width]`
    /// matrix; `attn.hook_pattern` is `[batch * heads * seq, seq]`, row
    /// `(b * heads + h) * seq + query`, column key. Values are as the hook saw them,
    /// after that hook's own intervention if any.
    public var activations: [String: Matrix]
    /// `[batch, seq - 1]` when `.lossPerToken` was asked for.
    public var lossPerToken: Matrix?
    /// `[batch * seq, d_vocab]` when `.logits` was asked for.
    public var logits: Matrix?

    /// The TransformerLens shape of a captured hook: `[batch, seq, width]`, or
    /// `[batch, heads, seq, seq]` for `attn.hook_pattern`.
    public func shape(of name: String) -> [Int]? {
        guard let m = activations[name] else { return nil }
        return name.hasSuffix("attn.hook_pattern") ? [batch, heads, seq, seq] : [batch, seq, m.cols]
    }
}

/// A GPT-2 style transformer as TransformerLens runs it (see `TransformerConfig`), on the
/// CPU with SAEKernels, with TransformerLens hook points.
///
/// Forward pass over `[batch, seq]` tokens, `N = batch * seq` rows throughout:
/// ```
/// resid = W_E[tokens] + W_pos[position]                         hook_embed, hook_pos_embed
/// per block L:                                                  blocks.L.hook_resid_pre
///   x = LN1(resid)                                              ln1.hook_normalized (xhat)
///   [q|k|v] = x [W_Q|W_K|W_V] + [b_Q|b_K|b_V]                    (one GEMM, all heads)
///   pattern = softmax(q k^T / sqrt(d_head), causal)             attn.hook_pattern
///   attn_out = (pattern v) W_O + b_O                            hook_attn_out
///   resid = resid + attn_out                                    hook_resid_mid
///   x = LN2(resid)                                              ln2.hook_normalized
///   pre = x W_in + b_in                                         mlp.hook_pre
///   post = GELU(pre)  (exact or tanh)                           mlp.hook_post
///   resid = resid + post W_out + b_out                          hook_mlp_out, hook_resid_post
/// x = LN_final(resid)                                           ln_final.hook_normalized
/// logits = x W_U + b_U
/// ```
/// LayerNorm: `xhat = (x - mean) / sqrt(var + eps)` (biased variance), output
/// `xhat * w + b` (`LNPre`: `xhat`); `hook_normalized` is `xhat`, as in TransformerLens 3,
/// and an intervention there feeds the edited `xhat` through `w`, `b`. GEMMs run over all `N` rows at once;
/// attention runs per (sequence, head) pair, pairs split over threads.
///
/// `run` is the way in (every other entry point, `lossPerToken` included, goes through it).
/// It reuses the buffers of the previous run of the same `[batch, seq]` shape (one set is
/// kept per model, about `batch * seq * (6 d_model + 3 n_heads d_head + d_mlp)` Floats), so
/// repeated runs allocate only what they return.
public final class Transformer: Sendable {
    public let config: TransformerConfig
    package let weights: TransformerWeights
    private let workspaces = WorkspaceCache()

    /// Loads `config.json` and `model.safetensors` (TransformerLens state-dict names) from
    /// `folder`.
    public convenience init(contentsOf folder: URL) throws {
        let config = try TransformerConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let file = try SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors"))
        try self.init(config: config, weights: file)
    }

    /// A model of `config` with the weights in `weights`. Every missing or mis-shaped
    /// tensor is listed in one `TransformerError.invalidWeights`; extra tensors are ignored.
    public init(config: TransformerConfig, weights file: SafetensorsFile) throws {
        config.checkValid()
        self.config = config
        weights = try TransformerWeights(config: config, file: file)
    }

    /// A model of `config` with random weights (see `TransformerWeights.init(random:seed:)`:
    /// uniform, standard deviation `1/sqrt(fan_in)`); the same seed gives the same model.
    /// For benchmarks and tests.
    public init(randomWeightsFor config: TransformerConfig, seed: UInt64) {
        config.checkValid()
        self.config = config
        weights = TransformerWeights(random: config, seed: seed)
    }

    /// Every hook name, in run order.
    public var hookNames: [String] { HookPoint.all(layers: config.nLayers).map(\.name) }

    /// The number of columns of a hook's value: `d_mlp` for `mlp.hook_pre`/`hook_post`,
    /// `seq` (unknown here, so nil) for `attn.hook_pattern`, else `d_model`.
    public func hookWidth(_ name: String) throws -> Int? {
        width(of: try HookPoint.parse(name, layers: config.nLayers))
    }

    package func width(of hook: HookPoint) -> Int? {
        switch hook.kind {
        case .mlpPre, .mlpPost: return config.dMLP
        case .attnPattern: return nil
        default: return config.dModel
        }
    }

    package func hook(_ name: String) throws -> HookPoint { try HookPoint.parse(name, layers: config.nLayers) }

    /// Runs the model on `tokens` (`[batch, seq]`, `seq <= n_ctx`, ids `< d_vocab`): the
    /// one way into the model. (Inside the package, `run(_:plan:workspace:threads:)` is the
    /// same pass on an already-checked plan; this is that pass's front.)
    ///
    /// - `capture`: hook names whose values to return in `activations`.
    /// - `interventions`: per hook name, a closure that edits the value before the run goes on.
    /// - `stopAfter`: stop right after this hook (no later blocks, no unembedding); no
    ///   `outputs` may be asked for then.
    /// - `outputs`: `.lossPerToken`, `.logits`. When empty and `stopAfter` is nil, the run
    ///   stops after the last hook captured or intervened on.
    ///
    /// Throws `unknownHook` (listing the valid names) for a bad name, `invalidTokens`,
    /// `invalidRequest` for a hook after `stopAfter`, and whatever an intervention throws.
    public func run(
        _ tokens: TokenBatch,
        capture: Set<String> = [],
        interventions: [String: HookIntervention] = [:],
        stopAfter: String? = nil,
        outputs: TransformerOutputs = [],
        threads: Int = Parallel.defaultThreads
    ) throws -> TransformerRun {
        let plan = try makePlan(capture: capture, interventions: interventions, stopAfter: stopAfter, outputs: outputs)
        let workspace = workspaces.take(batch: tokens.batch, seq: tokens.seq)
        defer { workspaces.put(workspace) }
        var result = try run(tokens, plan: plan, workspace: workspace, threads: threads)
        result.stoppedValue = nil
        var named: [String: Matrix] = [:]
        for (hook, value) in result.captured { named[hook.name] = value }
        return TransformerRun(batch: tokens.batch, seq: tokens.seq, heads: config.nHeads, activations: named,
                              lossPerToken: result.lossPerToken, logits: result.logits)
    }

    /// `loss_per_token`, `[batch, seq - 1]`: the cross-entropy of each next token.
    public func lossPerToken(_ tokens: TokenBatch, threads: Int = Parallel.defaultThreads) throws -> Matrix {
        try run(tokens, outputs: .lossPerToken, threads: threads).lossPerToken!
    }

    /// Checks names and builds the internal plan of a run.
    package func makePlan(
        capture: Set<String>, interventions: [String: HookIntervention], stopAfter: String?,
        outputs: TransformerOutputs
    ) throws -> ForwardPlan {
        var plan = ForwardPlan()
        for name in capture.sorted() { plan.capture.insert(try hook(name)) }
        for (name, f) in interventions { plan.interventions[try hook(name)] = f }
        plan.outputs = outputs
        let touched = plan.capture.union(plan.interventions.keys)
        if let stopAfter {
            let stop = try hook(stopAfter)
            guard outputs.isEmpty else {
                throw TransformerError.invalidRequest(reason: "outputs asked for, but the run stops after '\(stopAfter)'")
            }
            let late = touched.filter { $0 > stop }.sorted().map(\.name)
            guard late.isEmpty else {
                throw TransformerError.invalidRequest(
                    reason: "hooks after stopAfter '\(stopAfter)' would never run: \(late.joined(separator: ", "))")
            }
            plan.stopAfter = stop
        } else if outputs.isEmpty {
            plan.stopAfter = touched.max()
        }
        return plan
    }
}

/// The one `ForwardWorkspace` a `Transformer` keeps between `run` calls (thread-safe:
/// concurrent runs each get their own; only one is kept).
private final class WorkspaceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: ForwardWorkspace?

    func take(batch: Int, seq: Int) -> ForwardWorkspace {
        lock.lock()
        defer { lock.unlock() }
        if let w = kept, w.batch == batch, w.seq == seq {
            kept = nil
            return w
        }
        return ForwardWorkspace(batch: batch, seq: seq)
    }

    func put(_ workspace: ForwardWorkspace) {
        lock.lock()
        kept = workspace
        lock.unlock()
    }
}
