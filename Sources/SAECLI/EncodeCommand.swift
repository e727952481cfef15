import Foundation
import SAEKernels
import SAEModel

/// `sae encode`: an SAE's feature activations and reconstruction for stored activations.
enum EncodeCommand {
    static let command = Command(
        name: "encode",
        summary: "Runs an SAE (any the library loads, SAELens's included) over the activations in a safetensors\ntensor (any leading shape, last dimension d_in) and writes `feature_acts` and `sae_out`.",
        usage: "--sae DIR --in FILE.safetensors [--tensor NAME] --out FILE.safetensors",
        options: [
            OptionSpec(name: "sae", value: "DIR", defaultValue: nil, help: "SAE folder; required"),
            OptionSpec(name: "in", value: "FILE", defaultValue: nil, help: "input .safetensors (or .npy); required"),
            OptionSpec(name: "tensor", value: "NAME", defaultValue: "the only tensor, or the SAE's hook_name, or the first 2-D+ one", help: "input tensor"),
            OptionSpec(name: "threads", value: "N", defaultValue: "all cores", help: "threads"),
            OptionSpec(name: "out", value: "FILE", defaultValue: nil, help: "output .safetensors; required"),
        ],
        run: run)

    static func run(_ p: ParsedOptions) throws {
        let saeDir = try p.existingPath("sae") ?? { throw UsageError(message: "--sae is required") }()
        let input = try p.existingPath("in") ?? { throw UsageError(message: "--in is required") }()
        let out = URL(fileURLWithPath: try p.required("out"))
        let sae = try SparseAutoencoder.load(from: saeDir)
        var tensor = p.string("tensor")
        if tensor == nil, input.pathExtension != "npy", let f = try? SafetensorsFile(contentsOf: input),
           f.names.count > 1, f.contains(sae.metadata.hookName) {
            tensor = sae.metadata.hookName
        }
        try SAEFileEncoding.encode(sae: sae, input: input, tensor: tensor, output: out,
                                   threads: try p.threads())
        FileHandle.standardError.write(Data("sae: wrote feature_acts and sae_out to \(out.path)\n".utf8))
        try JSONOutput.print(["out": out.path, "tensors": ["feature_acts", "sae_out"]])
    }
}
