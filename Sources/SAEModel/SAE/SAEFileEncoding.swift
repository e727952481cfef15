import Foundation
import SAEKernels

/// Runs an SAE over activations stored in a safetensors file and writes `feature_acts`
/// (leading shape + `[d_sae]`) and `sae_out` (leading shape + `[d_in]`) to another,
/// atomically. The input tensor may have any leading shape; its last dimension must be d_in.
public enum SAEFileEncoding {
    public static func encode(
        sae: SparseAutoencoder, input: URL, tensor: String? = nil, output: URL, rowsPerBatch: Int = 4096,
        threads: Int = Parallel.defaultThreads
    ) throws {
        var source = try FileActivationSource(url: input, tensor: tensor)
        guard source.dIn == sae.dIn else {
            throw SAEFormatError.invalidConfig(file: input.path, reason: "tensor '\(source.tensorName ?? "array")' has last dimension \(source.dIn), the SAE's d_in is \(sae.dIn)")
        }
        let leading: [Int]
        if let name = source.tensorName {
            leading = Array(try SafetensorsFile(contentsOf: input).info(name).shape.dropLast())
        } else {
            leading = Array(try NPYFile(contentsOf: input).shape.dropLast())
        }
        let rows = source.rowCount
        var acts = [Float](), outs = [Float]()
        acts.reserveCapacity(rows * sae.dSae); outs.reserveCapacity(rows * sae.dIn)
        var batch = [Float](repeating: 0, count: rowsPerBatch * sae.dIn)
        while true {
            let got = try batch.withUnsafeMutableBufferPointer { try source.fill($0.baseAddress!, maxRows: rowsPerBatch) }
            if got == 0 { break }
            let x = Matrix(rows: got, cols: sae.dIn, values: Array(batch[0..<(got * sae.dIn)]))
            // `encode` returns what SAELens's `encode` does; `decode` inverts any rescaling.
            let f = sae.encode(x, threads: threads)
            acts += f.values
            outs += sae.decode(dense: f, threads: threads).values
        }
        var w = SafetensorsWriter(metadata: ["format": "saekit-sae-encode"])
        try w.add("feature_acts", shape: leading + [sae.dSae], floats: acts)
        try w.add("sae_out", shape: leading + [sae.dIn], floats: outs)
        try w.write(to: output)
    }
}
