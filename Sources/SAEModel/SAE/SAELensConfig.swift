import Foundation

// Reading and writing SAELens's `cfg.json` (layout at the top of SAELensFormat.swift).

/// The fields of an SAELens `cfg.json` SAEKit models, and the rest kept as read.
struct SAELensConfig {
    let path: String
    var architecture: SAEArchitecture
    var dIn: Int
    var dSae: Int
    var k: Int?
    var applyBDecToInput: Bool
    var rescaleActsByDecoderNorm: Bool
    var normalization: ActivationNormalization
    var metadata: SAEMetadata

    /// Top-level keys `load` interprets (everything else goes to `metadata.otherConfig`).
    static let modelledKeys: Set<String> = [
        "architecture", "d_in", "d_sae", "dtype", "apply_b_dec_to_input", "normalize_activations",
        "k", "rescale_acts_by_decoder_norm", "metadata",
    ]
    /// `metadata` keys `load` interprets.
    static let modelledMetadataKeys: Set<String> = [
        "hook_name", "context_size", "prepend_bos", "model_name", "training_architecture",
    ]

    init(url: URL) throws {
        path = url.path
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch {
            throw SAEFormatError.invalidConfig(file: path, reason: "cannot read: \(error.localizedDescription)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch let e as JSONValue.ParseError {
            throw SAEFormatError.invalidConfig(file: path, reason: "not valid JSON: \(e.description)")
        }
        guard let cfg = json.objectValue else {
            throw SAEFormatError.invalidConfig(file: path, reason: "is a JSON \(json.kind), not an object")
        }
        var seen = Set<String>()
        for m in cfg.members where !seen.insert(m.key).inserted {
            throw SAEFormatError.invalidConfig(file: path, reason: "key '\(m.key)' appears more than once")
        }
        let path = self.path
        func invalid(_ reason: String) -> SAEFormatError { .invalidConfig(file: path, reason: reason) }

        // Metadata first: it can say a jumprelu file holds a batchtopk SAE.
        var metaObject = JSONObject()
        if let m = cfg["metadata"], m != .null {
            guard let o = m.objectValue else { throw invalid("'metadata' is a \(m.kind), not an object") }
            metaObject = o
        }
        let trainingArchitecture = metaObject["training_architecture"]?.stringValue

        guard let archValue = cfg["architecture"] else { throw invalid("missing key 'architecture'") }
        guard let archName = archValue.stringValue else { throw invalid("'architecture' is a \(archValue.kind), not a string") }
        guard var architecture = SAEArchitecture(rawValue: archName) else {
            throw SAEFormatError.unknownArchitecture(file: path, architecture: archName)
        }
        if architecture == .jumprelu && trainingArchitecture == SAEArchitecture.batchtopk.rawValue {
            architecture = .batchtopk
        }
        self.architecture = architecture

        func positiveInt(_ key: String) throws -> Int {
            guard let v = cfg[key] else { throw invalid("missing key '\(key)'") }
            guard let n = v.intValue else { throw invalid("'\(key)' is \(v.jsonText), not an integer") }
            guard n > 0 else { throw invalid("'\(key)' must be positive, found \(n)") }
            return n
        }
        func bool(_ key: String, default d: Bool) throws -> Bool {
            guard let v = cfg[key], v != .null else { return d }
            guard let b = v.boolValue else { throw invalid("'\(key)' is \(v.jsonText), not a boolean") }
            return b
        }
        dIn = try positiveInt("d_in")
        dSae = try positiveInt("d_sae")
        applyBDecToInput = try bool("apply_b_dec_to_input", default: true)

        // normalize_activations: SAELens also reads pre-6.0 booleans (true = expected_average_only_in).
        switch cfg["normalize_activations"] {
        case nil, .null?: normalization = .none
        case let .bool(b)?: normalization = b ? .expectedAverageOnlyIn : .none
        case let .string(s)?:
            guard let n = ActivationNormalization(rawValue: s) else {
                throw SAEFormatError.unsupportedNormalization(file: path, value: s)
            }
            normalization = n
        case let v?: throw SAEFormatError.unsupportedNormalization(file: path, value: v.jsonText)
        }

        switch architecture {
        case .topk:
            if let v = cfg["k"], v != .null {
                guard let n = v.intValue else { throw invalid("'k' is \(v.jsonText), not an integer") }
                k = n
            } else {
                k = 100  // SAELens TopKSAEConfig's default
            }
            rescaleActsByDecoderNorm = try bool("rescale_acts_by_decoder_norm", default: false)
        case .batchtopk:
            let v = cfg["k"] ?? metaObject["training_architecture_details"]?.objectValue?["k"]
            if let v, v != .null {
                guard let n = v.intValue else { throw invalid("batchtopk 'k' is \(v.jsonText), not an integer") }
                k = n
            } else {
                k = nil
            }
            // A jumprelu file holding a batchtopk SAE was folded when saved: no rescale.
            let rescale = try bool("rescale_acts_by_decoder_norm", default: false)
            rescaleActsByDecoderNorm = archName == SAEArchitecture.batchtopk.rawValue && rescale
        case .standard, .jumprelu:
            k = nil
            rescaleActsByDecoderNorm = false
        }
        if let k, k < 1 || k > dSae { throw invalid("'k' = \(k) must be in 1...\(dSae) (d_sae)") }
        if let v = cfg["dtype"], v.stringValue == nil { throw invalid("'dtype' is \(v.jsonText), not a string") }

        // Metadata.
        var meta = SAEMetadata()
        var other = JSONObject()
        var defaulted: [String] = []
        for (key, value) in metaObject.members {
            switch (key, value) {
            case ("hook_name", .string(let s)): meta.hookName = s
            case ("context_size", _) where value.intValue != nil:
                let n = value.intValue!
                guard n > 0 else { throw invalid("metadata 'context_size' must be positive, found \(n)") }
                meta.contextSize = n
            case ("prepend_bos", .bool(let b)): meta.prependBos = b
            case ("model_name", .string(let s)): meta.modelName = s
            case ("training_architecture", .string): break  // rewritten from `architecture` on save
            case (_, .string(let s)) where !Self.modelledMetadataKeys.contains(key): meta.extra[key] = s
            case ("hook_name", _), ("context_size", _), ("prepend_bos", _):
                if value != .null { throw invalid("metadata '\(key)' has the wrong type: \(value.jsonText)") }
            default: other.members.append((key, value))
            }
        }
        for key in ["hook_name", "context_size", "prepend_bos"] where metaObject[key] == nil || metaObject[key] == .null {
            defaulted.append(key)
        }
        meta.otherMetadata = other
        meta.defaultedKeys = defaulted
        let consumed = architecture.usesK ? Self.modelledKeys
                                          : Self.modelledKeys.subtracting(["k", "rescale_acts_by_decoder_norm"])
        meta.otherConfig = JSONObject(cfg.members.filter { !consumed.contains($0.key) })
        metadata = meta
    }

    /// The `expected_average_only_in` factor stored with the SAE, removed from the kept
    /// config: `activation_scaler.json`'s `scaling_factor`, else `cfg.json`'s
    /// `norm_scaling_factor`. Nil when neither holds a number.
    mutating func takeNormScalingFactor(folder: URL) throws -> Float? {
        let scalerURL = folder.appendingPathComponent(SparseAutoencoder.activationScalerFileName)
        var factor: Double? = nil
        if FileManager.default.fileExists(atPath: scalerURL.path) {
            let scalerPath = scalerURL.path
            let json: JSONValue
            do { json = try JSONValue.parse(Array(try Data(contentsOf: scalerURL))) } catch {
                throw SAEFormatError.invalidConfig(file: scalerPath, reason: "not valid JSON: \(error)")
            }
            let value = json.objectValue?["scaling_factor"]
            switch value {
            case nil: throw SAEFormatError.invalidConfig(file: scalerPath, reason: "missing key 'scaling_factor'")
            case .null?: break
            case let v?:
                guard let d = v.doubleValue else {
                    throw SAEFormatError.invalidConfig(file: scalerPath, reason: "'scaling_factor' is \(v.jsonText), not a number")
                }
                factor = d
            }
        }
        if let v = metadata.otherConfig.removeValue(forKey: "norm_scaling_factor"), v != .null, factor == nil {
            guard let d = v.doubleValue else {
                throw SAEFormatError.invalidConfig(file: path, reason: "'norm_scaling_factor' is \(v.jsonText), not a number")
            }
            factor = d
        }
        guard let factor else { return nil }
        // Checked as a Float too: 1e300 is finite as a Double, 1e-300 is positive.
        guard factor.isFinite && factor > 0 && Float(factor).isFinite && Float(factor) > 0 else {
            throw SAEFormatError.invalidConfig(
                file: path, reason: "norm scaling factor \(factor) must be a positive number within Float range")
        }
        return Float(factor)
    }

    /// SAELens's `cfg.json` name of a weight dtype.
    static func dtypeName(_ dtype: DType) -> String {
        switch dtype {
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .f64: return "float64"
        default: return "float32"
        }
    }

    /// The `cfg.json` object for `sae` (a batchtopk SAE already folded when it rescales).
    static func json(for sae: SparseAutoencoder) -> JSONValue {
        let m = sae.metadata
        var meta = JSONObject()
        meta["hook_name"] = .string(m.hookName)
        meta["context_size"] = .integer(m.contextSize)
        meta["prepend_bos"] = .bool(m.prependBos)
        if let name = m.modelName { meta["model_name"] = .string(name) }
        for key in m.extra.keys.sorted() where !modelledMetadataKeys.contains(key) { meta[key] = .string(m.extra[key]!) }
        for (key, value) in m.otherMetadata.members where meta[key] == nil && !modelledMetadataKeys.contains(key) {
            meta[key] = value
        }
        if meta["sae_lens_version"] == nil { meta["sae_lens_version"] = .string(SparseAutoencoder.saeLensFormatVersion) }
        if meta["sae_lens_training_version"] == nil {
            meta["sae_lens_training_version"] = .string(SparseAutoencoder.saeLensFormatVersion)
        }
        meta["training_architecture"] = .string(sae.architecture.rawValue)
        if sae.architecture == .batchtopk, let k = sae.k {
            var details = meta["training_architecture_details"]?.objectValue ?? [:]
            details["k"] = .integer(k)
            meta["training_architecture_details"] = .object(details)
        }

        var cfg = JSONObject()
        cfg["d_in"] = .integer(sae.dIn)
        cfg["d_sae"] = .integer(sae.dSae)
        cfg["dtype"] = .string(dtypeName(sae.weightDType))
        cfg["apply_b_dec_to_input"] = .bool(sae.applyBDecToInput)
        cfg["normalize_activations"] = .string(sae.normalizeActivations.rawValue)
        if sae.architecture == .topk {
            cfg["k"] = .integer(sae.k!)
            cfg["rescale_acts_by_decoder_norm"] = .bool(sae.rescaleActsByDecoderNorm)
        }
        let written = sae.architecture == .topk ? modelledKeys
                                                : modelledKeys.subtracting(["k", "rescale_acts_by_decoder_norm"])
        for (key, value) in m.otherConfig.members where cfg[key] == nil && !written.contains(key) {
            cfg[key] = value
        }
        if cfg["device"] == nil { cfg["device"] = .string("cpu") }
        if cfg["reshape_activations"] == nil { cfg["reshape_activations"] = .string("none") }
        cfg["metadata"] = .object(meta)
        cfg["architecture"] = .string(sae.architecture == .batchtopk ? SAEArchitecture.jumprelu.rawValue
                                                                     : sae.architecture.rawValue)
        return .object(cfg)
    }
}
