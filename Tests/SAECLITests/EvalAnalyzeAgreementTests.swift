import Foundation
import SAETestAssertions
import SAETestSupport
import XCTest

/// One rule for `sae eval` and `sae analyze`: on the same SAE and contexts they leave out
/// the same positions (BOS, which training skipped) and give the same reconstruction and
/// loss figures, and `sae eval` names the rule (`excluded_positions`).
extension CLITests {
    func testEvalAndAnalyzeGiveTheSameFiguresForOneSAE() throws {
        let sae = CLITests.fixtures.appendingPathComponent("saelens-topk").path
        let e = try run(["eval", "--sae", sae, "--contexts", "8", "--threads", "2"])
        XCTAssertEqual(e.status, 0, e.err)
        let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.out.utf8)) as? [String: Any], e.out)
        XCTAssertEqual(metrics["excluded_positions"] as? String, "bos", "the rule is stated")
        XCTAssertEqual(metrics["tokens"] as? Int, 8 * 127, "BOS left out")

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-agree-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let a = try run(["analyze", "--sae", sae, "--contexts", "8", "--features", "1", "--threads", "2", "--out", out.path])
        XCTAssertEqual(a.status, 0, a.err)
        let analysis = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("analysis.json"))) as? [String: Any])
        let subject = try XCTUnwrap(analysis["subject"] as? [String: Any])
        XCTAssertEqual(subject["excludedFirstPosition"] as? Bool, true)
        let quality = try XCTUnwrap((analysis["summary"] as? [String: Any])?["quality"] as? [String: Any])
        XCTAssertEqual(quality["tokens"] as? Int, 8 * 127)
        XCTAssertEqual(quality["predictedTokens"] as? Int, 8 * 126, "the prediction made at BOS left out, as sae eval does")

        func number(_ d: [String: Any], _ k: String) throws -> Double {
            let v = try XCTUnwrap((d[k] as? NSNumber)?.doubleValue, "\(k) is not a number: \(String(describing: d[k]))")
            XCTAssertTrue(v.isFinite, "\(k) = \(v)")
            return v
        }
        // Same tokens, same reconstructions (encode + decode vs reconstruct), sums in Double:
        // equal to rounding.
        for (evalKey, analysisKey, tol) in [("explained_variance", "explainedVariance", 1e-6), ("mse", "mse", 1e-6),
                                            ("l0", "l0", 1e-9), ("ce_clean", "cleanLoss", 1e-6),
                                            ("ce_spliced", "splicedLoss", 1e-6), ("ce_zero_ablation", "zeroAblationLoss", 1e-6),
                                            ("loss_recovered", "lossRecovered", 1e-5)] {
            let x = try number(metrics, evalKey), y = try number(quality, analysisKey)
            assertClose(y, x, atol: tol, rtol: tol, "\(evalKey): analysis vs sae eval")
        }
        // The report shows the same explained variance.
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        let ev = String(format: "%.4g", try number(metrics, "explained_variance"))
        XCTAssertTrue(html.contains("<td class=\"l\">Explained variance</td><td>\(ev)</td>"), "report shows EV \(ev)")
    }

    /// `sae train` records the positions it skipped in cfg.json, and metrics.json and
    /// `sae eval` follow it: BOS by default, nothing with --keep-bos.
    func testTrainRecordsTheRuleAndEvaluationFollowsIt() throws {
        for keepBOS in [false, true] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("saekit-rule-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: out) }
            let t = try run(["train", "--train-tokens", "4096", "--batch", "1024", "--d-sae", "64", "--eval-contexts", "2",
                             "--no-analysis", "--threads", "2", "--out", out.path] + (keepBOS ? ["--keep-bos"] : []))
            XCTAssertEqual(t.status, 0, t.err)
            let rule = keepBOS ? "none" : "bos", counted = keepBOS ? 128 : 127
            let cfg = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("sae/cfg.json"))) as? [String: Any])
            XCTAssertEqual((cfg["metadata"] as? [String: Any])?["excluded_positions"] as? String, rule, "cfg.json metadata")
            let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [String: Any])
            XCTAssertEqual(metrics["excluded_positions"] as? String, rule, "metrics.json")
            XCTAssertEqual(metrics["tokens"] as? Int, 2 * counted)
            let e = try run(["eval", "--sae", out.appendingPathComponent("sae").path, "--contexts", "2", "--threads", "2"])
            XCTAssertEqual(e.status, 0, e.err)
            let m = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.out.utf8)) as? [String: Any])
            XCTAssertEqual(m["excluded_positions"] as? String, rule, "sae eval")
            XCTAssertEqual(m["tokens"] as? Int, 2 * counted)
        }
    }
}
