import Foundation
import SAEKernels
@testable import SAEModel

/// One function per parser: each takes a libFuzzer input, parses it, uses what it got the
/// way the tools do, and checks the parser's promises. Bad input must throw an error whose
/// message names the file; anything else (a trap, a sanitizer report, a broken promise
/// checked with `precondition` here) is a crash libFuzzer reports.
public enum FuzzTargets {
    /// The input is a safetensors file: open it, read every tensor as the readers do.
    public static func safetensors(_ input: UnsafeRawBufferPointer) {
        let url = ScratchFiles.write(input, as: "input.safetensors")
        expectNamedError(url.path) {
            let file = try SafetensorsFile(contentsOf: url)
            for name in file.names {
                let info = try file.info(name)
                if info.dtype.isFloatingPoint {
                    let values = try file.floats(name)
                    precondition(values.count == info.count, "floats(\(name)): \(values.count) for shape \(info.shape)")
                    if !info.shape.isEmpty {
                        let m = try file.matrix(name)
                        precondition(m.rows * m.cols == info.count, "matrix(\(name)) is \(m.rows)x\(m.cols)")
                    }
                } else {
                    let values = try file.ints(name)
                    precondition(values.count == info.count, "ints(\(name)): \(values.count) for shape \(info.shape)")
                }
            }
        }
    }

    /// The input is a .npy file: open it, read its elements, and read it as activation rows.
    public static func npy(_ input: UnsafeRawBufferPointer) {
        let url = ScratchFiles.write(input, as: "input.npy")
        expectNamedError(url.path) {
            let file = try NPYFile(contentsOf: url)
            let n = file.dtype.isFloatingPoint ? try file.floats().count : try file.ints().count
            precondition(n == file.count, "\(n) elements for shape \(file.shape)")
            guard file.dtype.isFloatingPoint, let d = file.shape.last, d > 0, d <= 1 << 16 else { return }
            var source = try FileActivationSource(url: url)
            var rows = [Float](repeating: 0, count: 4 * d)
            _ = try rows.withUnsafeMutableBufferPointer { try source.fill($0.baseAddress!, maxRows: 4) }
        }
    }

    /// The input is JSON text: parse it strictly; what parses must print as JSON that
    /// parses again (as `cfg.json` is written back).
    public static func json(_ input: UnsafeRawBufferPointer) {
        guard let value = try? JSONValue.parse(input) else { return }
        let text = value.jsonText
        do { _ = try JSONValue.parse(Array(text.utf8)) } catch {
            preconditionFailure("written JSON does not parse again: \(error): \(text)")
        }
    }

    /// The input is a `tokenizer.json`: load it, then encode and decode a fixed text and
    /// the input's own bytes.
    public static func tokenizer(_ input: UnsafeRawBufferPointer) {
        let path = "fuzz/tokenizer.json"
        expectNamedError(path) {
            let tokenizer = try BPETokenizer(jsonData: Data(input), path: path)
            for text in ["Hello world! <|endoftext|> it's 2024\n\t é 日本", String(decoding: input.prefix(64), as: UTF8.self)] {
                let ids = tokenizer.encode(text)
                precondition(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabSize }, "id outside the vocabulary")
                _ = tokenizer.decode(ids)
            }
        }
    }

    /// The input is a token file: byte 0 picks `.npy` (bit 0) or a headerless `.bin` of
    /// uint16 / uint32 (bit 1), byte 1 a context length, byte 2 a vocabulary size (0: none)
    /// and byte 3 a BOS id (bit 7 set: none); the rest is the file.
    public static func tokens(_ input: UnsafeRawBufferPointer) {
        var parts = InputParts(input)
        let (mode, length, vocab, bosByte) = (parts.byte(), Int(parts.byte()), Int(parts.byte()), parts.byte())
        let name = mode & 1 == 1 ? "tokens.npy" : "tokens.bin"
        let url = ScratchFiles.write(parts.remainder(), as: name)
        let bos: Int32? = bosByte & 0x80 == 0 ? Int32(bosByte) : nil
        expectNamedError(url.path) {
            let dataset = try TokenDataset(contentsOf: url, binaryElementType: mode & 2 == 0 ? .u16 : .u32,
                                           vocabSize: vocab == 0 ? nil : vocab)
            do { try dataset.validate() } catch let e as TokenDatasetError { checkNamed(e, url.path) }
            let contexts = try dataset.contexts(length: length, bos: bos, startingAt: min(Int(mode >> 2), dataset.count))
            for i in 0..<min(contexts.count, 8) {
                do {
                    let ids = try contexts.context(i)
                    precondition(ids.count == length, "context \(i) has \(ids.count) ids, not \(length)")
                    if let bos { precondition(ids[0] == bos, "context \(i) does not start with BOS") }
                } catch let e as TokenDatasetError { checkNamed(e, url.path) }
            }
        }
    }

    /// The input is an SAELens folder: `cfg.json` (a length-prefixed part, see
    /// `InputParts`), `activation_scaler.json` (a second part; absent when empty), and
    /// `sae_weights.safetensors` (the rest). Loads it and encodes one row.
    public static func saelens(_ input: UnsafeRawBufferPointer) {
        var parts = InputParts(input)
        let cfg = parts.next(), scaler = parts.next(), weights = parts.remainder()
        let folder = ScratchFiles.directory.appendingPathComponent("sae")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        _ = ScratchFiles.write(cfg, as: "sae/" + SparseAutoencoder.configFileName)
        _ = ScratchFiles.write(weights, as: "sae/" + SparseAutoencoder.weightsFileName)
        if scaler.isEmpty {
            ScratchFiles.remove("sae/" + SparseAutoencoder.activationScalerFileName)
        } else {
            _ = ScratchFiles.write(scaler, as: "sae/" + SparseAutoencoder.activationScalerFileName)
        }
        expectNamedError(folder.path) {
            let sae = try SparseAutoencoder.load(from: folder)
            precondition(sae.shapeProblem() == nil, "loaded an inconsistent SAE: \(sae.shapeProblem()!)")
            guard sae.dIn * sae.dSae <= 1 << 16 else { return }
            let x = Matrix(rows: 2, cols: sae.dIn) { i, j in Float(i + j) * 0.25 - 1 }
            let (codes, xHat) = sae.reconstruct(x, threads: 1)
            precondition(xHat.rows == 2 && xHat.cols == sae.dIn && codes.width == sae.dSae, "reconstruct shapes")
        }
    }

    /// The input is a TransformerLens model folder: `config.json` (a length-prefixed part)
    /// and, when the rest is not empty, `model.safetensors`. Reads the config; with weights,
    /// loads the model and runs it on two tokens.
    public static func transformerConfig(_ input: UnsafeRawBufferPointer) {
        var parts = InputParts(input)
        let configBytes = parts.next(), weights = parts.remainder()
        let folder = ScratchFiles.directory.appendingPathComponent("model")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let configURL = ScratchFiles.write(configBytes, as: "model/config.json")
        expectNamedError(folder.path) {
            let config = try TransformerConfig(contentsOf: configURL)
            precondition(config.attentionWidth > 0 && config.eps.isFinite, "config \(config)")
            guard !weights.isEmpty else { return }
            _ = ScratchFiles.write(weights, as: "model/model.safetensors")
            let model = try Transformer(contentsOf: folder)
            guard model.config.nCtx >= 2 else { return }
            let loss = try model.lossPerToken(TokenBatch([[0, Int32(model.config.dVocab - 1)]]), threads: 1)
            precondition(loss.rows == 1 && loss.cols == 1, "loss shape \(loss.rows)x\(loss.cols)")
        }
    }
}

/// Runs `body`; an error it throws must name `path` in its message.
private func expectNamedError(_ path: String, _ body: () throws -> Void) {
    do { try body() } catch { checkNamed(error, path) }
}

private func checkNamed(_ error: Error, _ path: String) {
    let message = String(describing: error)
    precondition(message.contains(path), "error message does not name \(path): \(message)")
}
