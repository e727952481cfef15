import Foundation
import XCTest

/// Pins what `sae train` computes, bit for bit, so that reorganising the code cannot change
/// it unnoticed: three short runs (TopK with the analyses, standard with Anthropic
/// resampling, BatchTopK with AuxK) on the bundled model, and the FNV-1a 64 hash of each
/// file they write that holds numbers (the weights, the frequency snapshots, metrics.json,
/// analysis.json).
///
/// The runs use the AVX2 kernels (`SAE_DISABLE_AVX512=1`): the AVX-512 GEMM sums in another
/// order, so its bits differ, and the AVX2 path runs on every x86_64 machine. The pinned
/// values were recorded at commit 4596844 (before issue 12's reorganisation). A change that
/// is meant to change these numbers updates the pins and says why in its commit.
extension CLITests {
    struct Pin {
        var name: String
        var options: [String]
        var hashes: [String: UInt64]
    }

    static let pinCommon = ["--train-tokens", "131072", "--batch", "1024", "--eval-contexts", "8"]

    static let pins: [Pin] = [
        Pin(name: "topk", options: [], hashes: [
            "sae/sae_weights.safetensors": 0x78b2_c3f6_642c_73f7,
            "feature_frequencies.safetensors": 0x421c_7b7b_b33c_a233,
            "metrics.json": 0x91f5_f634_6148_af31,
            "analysis.json": 0x6d61_c208_83b9_2dcb,
        ]),
        Pin(name: "standard", options: ["--arch", "standard", "--resample", "anthropic", "--no-analysis"], hashes: [
            "sae/sae_weights.safetensors": 0x4073_42d8_cb97_2004,
            "feature_frequencies.safetensors": 0xdefd_d6ea_5115_f131,
            "metrics.json": 0x51d2_f2f4_309c_fae3,
        ]),
        Pin(name: "batchtopk", options: ["--arch", "batchtopk", "--k-aux", "64", "--no-analysis"], hashes: [
            "sae/sae_weights.safetensors": 0x7389_16cd_ac1d_1331,
            "feature_frequencies.safetensors": 0x0ec8_67b2_6d19_995d,
            "metrics.json": 0x3ad8_8ece_813f_51d4,
        ]),
    ]

    /// FNV-1a, 64 bits.
    static func fnv1a(_ data: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    func testShortRunsWriteThePinnedBits() throws {
        #if !arch(x86_64)
        throw XCTSkip("the pins were recorded with the x86_64 AVX2 kernels")
        #else
        for pin in Self.pins {
            let out = temp("pin-\(pin.name)")
            defer { try? FileManager.default.removeItem(at: out) }
            let r = try run(["train"] + Self.pinCommon + pin.options + ["--out", out.path], environment: ["SAE_DISABLE_AVX512": "1"])
            XCTAssertEqual(r.status, 0, "\(pin.name): \(r.err)")
            for (file, expected) in pin.hashes.sorted(by: { $0.key < $1.key }) {
                let data = try Data(contentsOf: out.appendingPathComponent(file))
                let h = Self.fnv1a(data)
                XCTAssertEqual(h, expected, "\(pin.name): \(file) hashes to 0x\(String(h, radix: 16)), pinned 0x\(String(expected, radix: 16))")
            }
        }
        #endif
    }
}
