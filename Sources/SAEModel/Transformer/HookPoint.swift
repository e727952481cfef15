/// A place in the forward pass whose value can be captured or replaced, named as
/// TransformerLens names it (`blocks.0.mlp.hook_post`).
///
/// Order of the hooks in a run (each block in turn):
/// `hook_embed`, `hook_pos_embed`, then per block `L`: `blocks.L.hook_resid_pre`,
/// `blocks.L.ln1.hook_normalized`, `blocks.L.attn.hook_pattern`, `blocks.L.hook_attn_out`,
/// `blocks.L.hook_resid_mid`, `blocks.L.ln2.hook_normalized`, `blocks.L.mlp.hook_pre`,
/// `blocks.L.mlp.hook_post`, `blocks.L.hook_mlp_out`, `blocks.L.hook_resid_post`; then
/// `ln_final.hook_normalized`.
package struct HookPoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    package enum Kind: Int, Sendable, CaseIterable {
        case embed, posEmbed
        case residPre, ln1Normalized, attnPattern, attnOut, residMid, ln2Normalized, mlpPre, mlpPost, mlpOut, residPost
        case lnFinalNormalized

        var isBlockHook: Bool { self != .embed && self != .posEmbed && self != .lnFinalNormalized }

        /// The name inside `blocks.L.` (block hooks) or the full name.
        var suffix: String {
            switch self {
            case .embed: return "hook_embed"
            case .posEmbed: return "hook_pos_embed"
            case .residPre: return "hook_resid_pre"
            case .ln1Normalized: return "ln1.hook_normalized"
            case .attnPattern: return "attn.hook_pattern"
            case .attnOut: return "hook_attn_out"
            case .residMid: return "hook_resid_mid"
            case .ln2Normalized: return "ln2.hook_normalized"
            case .mlpPre: return "mlp.hook_pre"
            case .mlpPost: return "mlp.hook_post"
            case .mlpOut: return "hook_mlp_out"
            case .residPost: return "hook_resid_post"
            case .lnFinalNormalized: return "ln_final.hook_normalized"
            }
        }
    }

    package let kind: Kind
    /// The block, for block hooks; 0 otherwise.
    package let layer: Int

    package init(_ kind: Kind, layer: Int = 0) {
        self.kind = kind
        self.layer = kind.isBlockHook ? layer : 0
    }

    package var name: String { kind.isBlockHook ? "blocks.\(layer).\(kind.suffix)" : kind.suffix }
    package var description: String { name }

    /// Position in the run: earlier hooks compare smaller.
    package var order: Int {
        switch kind {
        case .embed: return 0
        case .posEmbed: return 1
        case .lnFinalNormalized: return Int.max
        default: return 2 + layer * 16 + (kind.rawValue - Kind.residPre.rawValue)
        }
    }

    package static func < (a: HookPoint, b: HookPoint) -> Bool { a.order < b.order }

    /// Every hook of a model with `layers` blocks, in run order.
    package static func all(layers: Int) -> [HookPoint] {
        var hooks = [HookPoint(.embed), HookPoint(.posEmbed)]
        for l in 0..<layers {
            for k in Kind.allCases where k.isBlockHook { hooks.append(HookPoint(k, layer: l)) }
        }
        hooks.append(HookPoint(.lnFinalNormalized))
        return hooks
    }

    /// The hook called `name` in a model with `layers` blocks, or `unknownHook` listing
    /// the valid names.
    package static func parse(_ name: String, layers: Int) throws -> HookPoint {
        for k in Kind.allCases where !k.isBlockHook && k.suffix == name { return HookPoint(k) }
        if name.hasPrefix("blocks.") {
            let rest = name.dropFirst("blocks.".count)
            if let dot = rest.firstIndex(of: "."), let l = Int(rest[..<dot]), l >= 0, l < layers,
               String(rest[..<dot]) == String(l) {
                let suffix = rest[rest.index(after: dot)...]
                for k in Kind.allCases where k.isBlockHook && k.suffix == suffix { return HookPoint(k, layer: l) }
            }
        }
        throw TransformerError.unknownHook(name: name, valid: all(layers: layers).map(\.name))
    }
}
