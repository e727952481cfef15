import SAEKernels

/// Activations of one hook of a `Transformer`, harvested over a token dataset's contexts
/// and handed out as rows, streaming: one batch of contexts at a time is run (stopping
/// right after the hook) and its rows are handed out before the next batch runs, so the
/// memory used is one batch's worth whatever the number of tokens.
///
/// Row order: context by context in dataset order, positions in order within a context
/// (row `position` of context `i`); with `skipBOS`, position 0 of every context is left
/// out (the BOS token when the contexts have one; its activations are outliers).
///
/// Contexts visited: `startContext`, `startContext + 1`, ... — at most `contextCount`
/// of them (all remaining when nil). At the end of the contexts the source is exhausted,
/// or with `wrapAround` goes on from context 0 (endlessly when `contextCount` is nil).
public final class ModelActivationSource: ResumableActivationSource {
    public let model: Transformer
    public let contexts: TokenContexts
    /// The hook harvested, e.g. `blocks.0.mlp.hook_post`.
    public let hookName: String
    public let dIn: Int
    public let batchSize: Int
    public let skipBOS: Bool
    public let wrapAround: Bool
    public let threads: Int
    /// Contexts run so far.
    public private(set) var contextsRun = 0
    /// The index of the next context to run.
    public private(set) var nextContext: Int

    private let hook: HookPoint
    private let contextLimit: Int?
    private let plan: ForwardPlan
    private var workspace: ForwardWorkspace?
    /// The current batch's hook values, `[contexts * seq, dIn]` (shares the workspace buffer).
    private var current = Matrix(rows: 0, cols: 0)
    private var currentContexts = 0
    /// The context index of each context of the current batch.
    private var currentIndices: [Int] = []
    /// Where to start in the first context of the next batch (after `restore`).
    private var pendingPosition: Int?
    /// The next row of `current` to hand out, as (context in batch, position).
    private var cursorContext = 0, cursorPosition = 0

    /// - `contexts`: e.g. `dataset.contexts(length: 128, bos: 0)`.
    /// - `hook`: any hook but `attn.hook_pattern`.
    /// - `batchSize`: contexts per forward pass (32 by default).
    /// - `contextCount`: contexts to run in all; nil runs to the end (or forever with
    ///   `wrapAround`).
    public init(
        model: Transformer, contexts: TokenContexts, hook: String, batchSize: Int = 32, skipBOS: Bool = false,
        startContext: Int = 0, contextCount: Int? = nil, wrapAround: Bool = false,
        threads: Int = Parallel.defaultThreads
    ) throws {
        let point = try model.hook(hook)
        guard let width = model.width(of: point) else {
            throw TransformerError.invalidRequest(reason: "cannot harvest '\(hook)': it is not a [token, width] activation")
        }
        guard batchSize > 0, threads > 0 else {
            throw TransformerError.invalidRequest(reason: "batch size \(batchSize) and threads \(threads) must be positive")
        }
        guard contexts.length <= model.config.nCtx else {
            throw TransformerError.invalidRequest(reason: "context length \(contexts.length) exceeds n_ctx \(model.config.nCtx)")
        }
        guard contexts.length > (skipBOS ? 1 : 0) else {
            throw TransformerError.invalidRequest(reason: "context length \(contexts.length) leaves no rows after skipping BOS")
        }
        guard startContext >= 0 && startContext <= contexts.count else {
            throw TransformerError.invalidRequest(reason: "start context \(startContext) outside 0...\(contexts.count)")
        }
        guard contextCount.map({ $0 >= 0 }) ?? true else {
            throw TransformerError.invalidRequest(reason: "negative context count \(contextCount!)")
        }
        self.model = model
        self.contexts = contexts
        hookName = hook
        self.hook = point
        dIn = width
        self.batchSize = batchSize
        self.skipBOS = skipBOS
        self.wrapAround = wrapAround
        self.threads = threads
        nextContext = startContext
        contextLimit = contextCount
        var plan = ForwardPlan()
        plan.stopAfter = point
        self.plan = plan
    }

    /// Rows handed out per context: `length`, or `length - 1` with `skipBOS`.
    public var rowsPerContext: Int { contexts.length - (skipBOS ? 1 : 0) }

    public func fill(_ buffer: UnsafeMutablePointer<Float>, maxRows: Int) throws -> Int {
        precondition(maxRows >= 0, "ModelActivationSource.fill: negative maxRows \(maxRows)")
        var written = 0
        while written < maxRows {
            if cursorContext >= currentContexts {
                guard try runNextBatch() else { break }
            }
            let seq = contexts.length
            let available = seq - cursorPosition
            let n = min(available, maxRows - written)
            let src = MatrixAccess.read(current) + ((cursorContext * seq) + cursorPosition) * dIn
            (buffer + written * dIn).update(from: src, count: n * dIn)
            written += n
            cursorPosition += n
            if cursorPosition == seq {
                cursorContext += 1
                cursorPosition = skipBOS ? 1 : 0
            }
        }
        return written
    }

    /// Runs the next batch of contexts; false when none are left.
    private func runNextBatch() throws -> Bool {
        current = Matrix(rows: 0, cols: 0)  // release the workspace buffer before writing it again
        currentContexts = 0
        var ids: [Int32] = []
        ids.reserveCapacity(batchSize * contexts.length)
        var taken = 0
        currentIndices.removeAll(keepingCapacity: true)
        while taken < batchSize {
            if let limit = contextLimit, contextsRun + taken >= limit { break }
            if nextContext >= contexts.count {
                guard wrapAround, contexts.count > 0 else { break }
                nextContext = 0
            }
            ids += try contexts.context(nextContext)
            currentIndices.append(nextContext)
            nextContext += 1
            taken += 1
        }
        guard taken > 0 else { return false }
        let tokens = TokenBatch(ids: ids, batch: taken, seq: contexts.length)
        if workspace?.batch != taken { workspace = ForwardWorkspace(batch: taken, seq: contexts.length) }
        let result = try model.run(tokens, plan: plan, workspace: workspace!, threads: threads)
        current = result.stoppedValue!
        contextsRun += taken
        currentContexts = taken
        cursorContext = 0
        cursorPosition = pendingPosition ?? (skipBOS ? 1 : 0)
        pendingPosition = nil
        return true
    }

    // MARK: - Checkpoints

    /// `context`: the context of the next row; `position`: that row's position in it;
    /// `contextsRun`: contexts fully or partly handed out before it. Also the stream's shape
    /// (`hook`, `contexts`, `contextLength`, `skipBOS`, `contextLimit`), which `restore`
    /// requires to match: a position in another stream means nothing.
    public func checkpointState() -> [String: String] {
        var state = Dictionary(uniqueKeysWithValues: streamShape)
        if cursorContext < currentContexts {
            state["context"] = String(currentIndices[cursorContext])
            state["position"] = String(cursorPosition)
            state["contextsRun"] = String(contextsRun - currentContexts + cursorContext)
        } else {
            state["context"] = String(nextContext)
            state["position"] = String(pendingPosition ?? (skipBOS ? 1 : 0))
            state["contextsRun"] = String(contextsRun)
        }
        return state
    }

    /// What identifies the row stream a position refers to.
    private var streamShape: [(String, String)] {
        [("hook", hookName), ("contextLength", String(contexts.length)), ("contexts", String(contexts.count)),
         ("skipBOS", String(skipBOS)), ("contextLimit", contextLimit.map(String.init) ?? "none")]
    }

    /// Resumes at the row `checkpointState()` described; the next `fill` reruns that row's
    /// batch from its context on.
    public func restore(checkpointState state: [String: String]) throws {
        for (key, value) in streamShape where state[key] != value {
            throw TransformerError.invalidRequest(
                reason: "ModelActivationSource checkpoint state is for another stream: \(key) \(state[key] ?? "missing"), this source's \(value)")
        }
        guard let context = state["context"].flatMap(Int.init), let position = state["position"].flatMap(Int.init),
              let run = state["contextsRun"].flatMap(Int.init),
              context >= 0, context <= contexts.count, position >= (skipBOS ? 1 : 0), position < contexts.length, run >= 0,
              run <= (contextLimit ?? Int.max) else {
            throw TransformerError.invalidRequest(reason: "bad ModelActivationSource checkpoint state \(state)")
        }
        current = Matrix(rows: 0, cols: 0)
        currentContexts = 0
        cursorContext = 0
        nextContext = context
        contextsRun = run
        pendingPosition = position
    }
}
