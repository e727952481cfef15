#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SAEKernels

// SAELens's SAE folder (`save_inference_model` / `SAE.load_from_disk`, SAELens 6.x):
//
//   sae_weights.safetensors   W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in],
//                             b_dec [d_in], and threshold [d_sae] for jumprelu
//   cfg.json                  {"d_in", "d_sae", "dtype", "device", "apply_b_dec_to_input",
//                              "normalize_activations", "reshape_activations",
//                              "architecture", "k" and "rescale_acts_by_decoder_norm" (topk),
//                              "metadata": {"sae_lens_version", "hook_name", "context_size",
//                                           "prepend_bos", "model_name", ...}}
//
// SAELens saves a trained batchtopk SAE as a jumprelu SAE (its decoder norms folded into the
// encoder, its global threshold repeated per feature); SAEKit does the same and records the
// training architecture in `metadata.training_architecture` = "batchtopk" (as SAELens 6.54
// records it) and k in `metadata.training_architecture_details.k`, so the folder loads back
// as batchtopk here and as an equivalent jumprelu SAE in SAELens. A `cfg.json` that says
// "batchtopk" itself (a training checkpoint) is read too: its threshold comes from
// `threshold` [d_sae] or SAELens's scalar buffer `topk_threshold`.

extension SparseAutoencoder {
    /// The weights file in an SAE folder.
    public static let weightsFileName = "sae_weights.safetensors"
    /// The config file in an SAE folder.
    public static let configFileName = "cfg.json"
    /// SAELens's training checkpoint file holding the `expected_average_only_in` factor.
    public static let activationScalerFileName = "activation_scaler.json"
    /// The SAELens version whose folder format SAEKit writes; put in `metadata.sae_lens_version`
    /// when the metadata has none (SAELens reads folders without it as pre-6.0 configs).
    public static let saeLensFormatVersion = "6.54.12"

    /// Loads an SAELens SAE folder (`sae_weights.safetensors` + `cfg.json`).
    ///
    /// Weights may be F32, F16, BF16 or F64 (converted to Float32; `weightDType` keeps the
    /// file's type of `W_enc`). Defaults follow SAELens: `apply_b_dec_to_input` true,
    /// `normalize_activations` "none", topk `k` 100, `rescale_acts_by_decoder_norm` false;
    /// metadata defaults as `SAEMetadata` documents. Tensors the architecture does not use
    /// are ignored. With `normalize_activations` = "expected_average_only_in" and a stored
    /// scaling factor, the factor is folded into the weights (see `ActivationNormalization`).
    ///
    /// Throws `SAEFormatError` (missing file, bad config, unknown architecture, unsupported
    /// normalisation, missing or mis-shaped tensor, d_in / d_sae disagreeing with the
    /// weights, NaN or infinite weight) or `SafetensorsError` for a malformed weights file.
    public static func load(from folder: URL) throws -> SparseAutoencoder {
        let cfgURL = folder.appendingPathComponent(configFileName)
        let weightsURL = folder.appendingPathComponent(weightsFileName)
        for url in [cfgURL, weightsURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw SAEFormatError.missingFile(path: url.path)
        }
        var cfg = try SAELensConfig(url: cfgURL)
        let weights = try SafetensorsFile(contentsOf: weightsURL)
        let reader = WeightReader(file: weights, dIn: cfg.dIn, dSae: cfg.dSae)

        let wEnc = try reader.matrix("W_enc", rows: cfg.dIn, cols: cfg.dSae)
        let wDec = try reader.matrix("W_dec", rows: cfg.dSae, cols: cfg.dIn)
        let bEnc = try reader.vector("b_enc", count: cfg.dSae)
        let bDec = try reader.vector("b_dec", count: cfg.dIn)
        var threshold: [Float]? = nil
        if cfg.architecture.usesThreshold {
            if cfg.architecture == .batchtopk, !weights.contains("threshold"), weights.contains("topk_threshold") {
                let t = try reader.vector("topk_threshold", count: 1)
                threshold = [Float](repeating: t[0], count: cfg.dSae)
            } else {
                threshold = try reader.vector("threshold", count: cfg.dSae)
            }
        }
        let normScale = cfg.normalization == .expectedAverageOnlyIn ? try cfg.takeNormScalingFactor(folder: folder) : nil
        var sae = SparseAutoencoder(
            architecture: cfg.architecture, dIn: cfg.dIn, dSae: cfg.dSae, k: cfg.k,
            wEnc: wEnc.matrix, bEnc: bEnc, wDec: wDec.matrix, bDec: bDec, threshold: threshold,
            applyBDecToInput: cfg.applyBDecToInput, rescaleActsByDecoderNorm: cfg.rescaleActsByDecoderNorm,
            normalizeActivations: cfg.normalization, weightDType: wEnc.dtype, metadata: cfg.metadata)

        if let normScale {
            sae.foldActivationScale(normScale)
            // W_enc ⊙ s or W_dec / s can leave Float range for an extreme s.
            for (name, values) in [("W_enc", sae.wEnc.values), ("W_dec", sae.wDec.values), ("b_dec", sae.bDec)] {
                if let i = values.firstIndex(where: { !$0.isFinite }) {
                    throw SAEFormatError.invalidConfig(
                        file: cfgURL.path,
                        reason: "norm scaling factor \(normScale) makes \(name) element \(i) \(values[i]) when folded into the weights")
                }
            }
        }
        return sae
    }

    /// Writes the SAE as an SAELens folder at `folder` (created if needed), replacing
    /// `sae_weights.safetensors` and `cfg.json` there.
    ///
    /// Both files are first written in full (and `fsync`ed) under temporary names in the
    /// folder, then renamed into place, weights first; on any error the temporaries are
    /// removed and the folder is left as it was. Weights are stored as `weightDType`; the
    /// config holds every modelled field plus the metadata and config keys the SAE was
    /// loaded with (`SAEMetadata.otherMetadata`, `.otherConfig`, `.extra`). A batchtopk SAE
    /// is written as SAELens writes one (see the top of this file); with
    /// `rescaleActsByDecoderNorm` its decoder norms are folded first
    /// (`W_enc ⊙= n`, `b_enc ⊙= n`, `W_dec ⊘= n` row-wise), which changes no output.
    public func save(to folder: URL) throws {
        let path = folder.path
        if let problem = shapeProblem() { throw SAEFormatError.cannotWrite(path: path, reason: problem) }
        var sae = self
        if sae.architecture == .batchtopk && sae.rescaleActsByDecoderNorm { sae.foldDecoderNorms() }
        for (name, values) in [("W_enc", sae.wEnc.values), ("b_enc", sae.bEnc), ("W_dec", sae.wDec.values),
                               ("b_dec", sae.bDec), ("threshold", sae.threshold ?? [])] {
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw SAEFormatError.cannotWrite(path: path, reason: "\(name) element \(i) is \(values[i])")
            }
        }

        var writer = SafetensorsWriter()
        do {
            try writer.add("W_enc", matrix: sae.wEnc, as: weightDType)
            try writer.add("W_dec", matrix: sae.wDec, as: weightDType)
            try writer.add("b_enc", shape: [dSae], floats: sae.bEnc, as: weightDType)
            try writer.add("b_dec", shape: [dIn], floats: sae.bDec, as: weightDType)
            if let t = sae.threshold { try writer.add("threshold", shape: [dSae], floats: t, as: weightDType) }
        } catch let e as SafetensorsError {
            throw SAEFormatError.cannotWrite(path: path, reason: e.description)
        }
        let cfgText = SAELensConfig.json(for: sae).jsonText

        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw SAEFormatError.cannotWrite(path: path, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        let token = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let finalWeights = folder.appendingPathComponent(Self.weightsFileName)
        let finalCfg = folder.appendingPathComponent(Self.configFileName)
        let tmpWeights = folder.appendingPathComponent(".\(Self.weightsFileName).saving-\(token)")
        let tmpCfg = folder.appendingPathComponent(".\(Self.configFileName).saving-\(token)")
        do {
            try writer.write(to: tmpWeights)
            try AtomicFile.write(to: tmpCfg) { out in try out.append(Array(cfgText.utf8)) }
            for (tmp, final) in [(tmpWeights, finalWeights), (tmpCfg, finalCfg)] {
                guard rename(tmp.path, final.path) == 0 else {
                    throw SAEFormatError.cannotWrite(
                        path: final.path, reason: "cannot rename \(tmp.path) into place: \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            unlink(tmpWeights.path)
            unlink(tmpCfg.path)
            switch error {
            case let e as SAEFormatError: throw e
            case let e as SafetensorsError: throw SAEFormatError.cannotWrite(path: path, reason: e.description)
            case let e as FileAccessError: throw SAEFormatError.cannotWrite(path: path, reason: e.description)
            default: throw SAEFormatError.cannotWrite(path: path, reason: "\(error)")
            }
        }
        // Make the renames durable.
        let dirFD = open(path, O_RDONLY)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }
}

/// Reads the SAE tensors of a weights file with the checks `load` promises.
private struct WeightReader {
    let file: SafetensorsFile
    let dIn: Int
    let dSae: Int
    var path: String { file.url.path }

    func info(_ name: String) throws -> SafetensorsFile.TensorInfo {
        guard file.contains(name) else {
            throw SAEFormatError.missingTensor(file: path, tensor: name, available: file.names)
        }
        let info = try file.info(name)
        guard info.dtype.isFloatingPoint else {
            throw SAEFormatError.unsupportedDType(file: path, tensor: name, dtype: info.dtype)
        }
        return info
    }

    func finite(_ name: String, _ values: [Float]) throws -> [Float] {
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw SAEFormatError.nonFiniteWeight(file: path, tensor: name, index: i, value: values[i])
        }
        return values
    }

    /// A 2-D weight; its shape defines d_in / d_sae, so a different shape is reported
    /// against the config.
    func matrix(_ name: String, rows: Int, cols: Int) throws -> (matrix: Matrix, dtype: DType) {
        let info = try info(name)
        guard info.shape == [rows, cols] else {
            if info.shape.count == 2 {
                throw SAEFormatError.dimensionMismatch(file: path, tensor: name, shape: info.shape, dIn: dIn, dSae: dSae)
            }
            throw SAEFormatError.tensorShape(file: path, tensor: name, shape: info.shape, expected: [rows, cols])
        }
        let values = try finite(name, file.floats(name))
        return (Matrix(rows: rows, cols: cols, values: values), info.dtype)
    }

    /// A 1-D weight of `count` entries (`count == 1` also takes a scalar, shape `[]`).
    func vector(_ name: String, count: Int) throws -> [Float] {
        let info = try info(name)
        guard info.shape == [count] || (count == 1 && info.shape.isEmpty) else {
            throw SAEFormatError.tensorShape(file: path, tensor: name, shape: info.shape, expected: [count])
        }
        return try finite(name, file.floats(name))
    }
}
