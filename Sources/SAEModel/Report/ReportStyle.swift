/// The report's inline style sheet (no external fonts or files). Written without `>` or `<`
/// so the page stays simple to parse.
enum ReportStyle {
    static let css = """
    body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f4f5f7; color: #222; }
    header { background: #233044; color: #fff; padding: 18px 28px; }
    header h1 { margin: 0 0 6px 0; font-size: 22px; }
    header p { margin: 0; color: #c9d3e0; font-size: 13px; }
    nav { background: #fff; border-bottom: 1px solid #ddd; padding: 8px 28px; font-size: 13px; }
    nav a { margin-right: 14px; color: #2a5db0; text-decoration: none; }
    main { padding: 10px 28px 40px 28px; }
    section { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; margin: 16px 0; padding: 14px 18px; }
    section h2 { margin: 0 0 8px 0; font-size: 17px; color: #233044; }
    p.note { color: #555; font-size: 12.5px; margin: 4px 0 10px 0; max-width: 1100px; }
    .plots { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
    svg.plot { background: #fff; border: 1px solid #eee; }
    table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
    th, td { border: 1px solid #dde; padding: 4px 9px; text-align: right; }
    th { background: #f0f2f6; text-align: left; }
    td.l { text-align: left; }
    .cards { display: flex; flex-wrap: wrap; gap: 14px; }
    .card { box-sizing: border-box; border: 1px solid #d5d9e0; border-radius: 6px; padding: 10px 12px; width: 640px; background: #fcfcfd; }
    .card h3 { margin: 0 0 6px 0; font-size: 15px; }
    .card .stats { font-size: 12px; color: #444; margin-bottom: 6px; }
    .card h4 { margin: 8px 0 4px 0; font-size: 12.5px; color: #333; }
    .ctx { font-family: Menlo, Consolas, monospace; font-size: 12px; line-height: 1.7; border-bottom: 1px dotted #e3e3e3; overflow-wrap: anywhere; }
    .ctx .act { display: inline-block; width: 56px; color: #888; text-align: right; margin-right: 8px; }
    .tok { white-space: pre; border-radius: 2px; }
    mark.fire { background: #ff9f1c; color: #000; outline: 1px solid #c46d00; border-radius: 2px; white-space: pre; }
    .band { font-size: 11.5px; color: #666; margin-top: 4px; }
    .logits { display: flex; gap: 18px; font-size: 12px; }
    .logits table { font-size: 12px; }
    .pos { color: #1a7f37; }
    .neg { color: #b42318; }
    .prompt .tok { border: 1px solid #eee; margin: 1px; display: inline-block; padding: 0 2px; }
    .prompt .feats { font-size: 10px; color: #666; display: block; }
    .muted { color: #888; }
    """
}
