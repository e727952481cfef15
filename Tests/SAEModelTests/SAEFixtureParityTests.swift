import Foundation
import SAEKernels
@testable import SAEModel
import SAETestAssertions
import SAETestSupport
import XCTest

/// The fixture SAEs (trained and saved by SAELens 6.54) against SAELens's own outputs in
/// `encode-reference.safetensors`: `feature_acts = sae.encode(sae_in)`,
/// `sae_out = sae.decode(feature_acts)`.
///
/// Tolerance, elementwise: `|got - want| <= 1e-4 · (1 + |want|)`. Both sides are Float32
/// with different summation orders over d_in = 512 (encode) or the active latents (decode),
/// so the expected error is ~1e-6; topk parity also needs the same k latents chosen (the
/// smallest gap between the 32nd and 33rd score in the reference batch is ~5e-5).
final class SAEFixtureParityTests: XCTestCase {
    static let tolerance = (atol: 1e-4, rtol: 1e-4)

    func testStandardMatchesSAELens() throws { try checkParity("saelens-standard", architecture: .standard) }

    func testTopKMatchesSAELens() throws { try checkParity("saelens-topk", architecture: .topk) }

    private func checkParity(_ name: String, architecture: SAEArchitecture,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = Fixtures.url("tiny-gelu-1l/\(name)")
        let sae = try SparseAutoencoder.load(from: folder)
        XCTAssertEqual(sae.architecture, architecture, file: file, line: line)
        XCTAssertEqual(sae.dIn, 512)
        XCTAssertEqual(sae.dSae, 2048)
        XCTAssertTrue(sae.applyBDecToInput)
        XCTAssertEqual(sae.normalizeActivations, .none)
        XCTAssertEqual(sae.metadata.hookName, SAEMetadata.defaultHookName)
        XCTAssertEqual(sae.metadata.defaultedKeys, ["hook_name", "context_size", "prepend_bos"])
        if architecture == .topk {
            XCTAssertEqual(sae.k, 32)
            XCTAssertTrue(sae.rescaleActsByDecoderNorm)
        }

        let ref = try SafetensorsFile(contentsOf: folder.appendingPathComponent("encode-reference.safetensors"))
        let x = try ref.matrix("sae_in", rows: 256, cols: 512)
        let wantActs = try ref.floats("feature_acts")
        let wantOut = try ref.floats("sae_out")
        let (atol, rtol) = Self.tolerance

        for threads in [1, Parallel.defaultThreads] {
            let acts = sae.encode(x, threads: threads)
            assertClose(acts.values, wantActs, atol: atol, rtol: rtol, "\(name) feature_acts (encode)", file: file, line: line)
            let codes = sae.encodeSparse(x, threads: threads)
            assertBitwiseEqual(codes.dense().values, acts.values, "\(name) encodeSparse vs encode", file: file, line: line)
            let out = sae.decode(codes, threads: threads)
            assertClose(out.values, wantOut, atol: atol, rtol: rtol, "\(name) sae_out (decode)", file: file, line: line)
            let (rc, recon) = sae.reconstruct(x, threads: threads)
            XCTAssertEqual(rc, codes)
            assertBitwiseEqual(recon.values, out.values, "\(name) reconstruct", file: file, line: line)
            // Decoding SAELens's own activations isolates the decoder.
            let outFromRef = sae.decode(dense: Matrix(rows: 256, cols: 2048, values: wantActs), threads: threads)
            assertClose(outFromRef.values, wantOut, atol: atol, rtol: rtol, "\(name) decode(dense: feature_acts)", file: file, line: line)
            if threads == 1 {
                print("SAELens parity \(name): max |Δ feature_acts| = \(Closeness.largestAbsoluteDifference(acts.values, wantActs)), "
                      + "max |Δ sae_out| = \(Closeness.largestAbsoluteDifference(out.values, wantOut)), "
                      + "mean L0 = \(Double(acts.values.filter { $0 != 0 }.count) / 256)")
            }
        }
    }
}
