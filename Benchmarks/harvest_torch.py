#!/usr/bin/env python3
"""Activation harvesting and forward+loss: SAEKit vs PyTorch at gelu-1l's shapes, one run.

Model (random weights, float32): d_model 512, n_heads 8, d_head 64, d_mlp 2048,
d_vocab 48262, n_ctx 1024, one layer, LayerNorm (eps 1e-5), exact GELU.

  harvest:      embed + pos-embed -> ln1 -> causal attention -> resid -> ln2
                -> W_in + b_in -> GELU = blocks.0.mlp.hook_post [batch, ctx, 2048]; stop.
  forward_loss: ... -> W_out + b_out -> resid -> ln_final -> unembed [batch, ctx, 48262]
                -> log_softmax -> per-token next-token cross-entropy [batch, ctx-1]
                (TransformerLens' loss_per_token).

Plain torch under torch.inference_mode(); attention written out as TransformerLens does
(scores, causal mask, softmax, pattern @ v; --attn sdpa uses scaled_dot_product_attention).
With --tlens and transformer_lens importable, HookedTransformer is measured too:
run_with_cache(names_filter=hook_post, stop_at_layer=1) as SAELens' ActivationsStore does,
and model(tokens, return_type="loss", loss_per_token=True).

tokens/s counts batch x ctx input tokens per call.
ratio = ours tokens/s / torch tokens/s   (> 1 means SAEKit is faster).

Examples:
  python3 Benchmarks/harvest_torch.py --threads 2          # full size: quiet machine only
  python3 Benchmarks/harvest_torch.py --batch 2 --torch-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

MODES = ("harvest", "forward_loss")
HOOK = "blocks.0.mlp.hook_post"


# ---------------------------------------------------------------------------
# Child process


def plain_model(spec: dict):
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    dm, nh, dh, dmlp, V, nctx = (spec[k] for k in ("d_model", "n_heads", "d_head", "d_mlp",
                                                   "d_vocab", "n_ctx"))
    std = 0.8 / math.sqrt(dm)  # TransformerLens' default initializer range

    def randn(*shape):
        return torch.randn(*shape, generator=g) * std

    P = {
        "W_E": randn(V, dm), "W_pos": randn(nctx, dm),
        "ln1_w": torch.ones(dm), "ln1_b": torch.zeros(dm),
        "W_QKV": randn(dm, 3 * nh * dh), "b_QKV": torch.zeros(3 * nh * dh),
        "W_O": randn(nh * dh, dm), "b_O": torch.zeros(dm),
        "ln2_w": torch.ones(dm), "ln2_b": torch.zeros(dm),
        "W_in": randn(dm, dmlp), "b_in": torch.zeros(dmlp),
        "W_out": randn(dmlp, dm), "b_out": torch.zeros(dm),
        "lnf_w": torch.ones(dm), "lnf_b": torch.zeros(dm),
        "W_U": randn(dm, V), "b_U": torch.zeros(V),
    }
    sdpa = spec["attn"] == "sdpa"
    mask_cache = {}

    def run(tokens, mode):
        B, T = tokens.shape
        resid = P["W_E"][tokens] + P["W_pos"][:T]
        h = F.layer_norm(resid, (dm,), P["ln1_w"], P["ln1_b"], 1e-5)
        qkv = (h @ P["W_QKV"] + P["b_QKV"]).view(B, T, 3, nh, dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, H, T, dh]
        if sdpa:
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            if T not in mask_cache:
                mask_cache[T] = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            scores = scores.masked_fill(mask_cache[T], float("-inf"))
            z = torch.softmax(scores, dim=-1) @ v
        z = z.transpose(1, 2).reshape(B, T, nh * dh)
        resid = resid + (z @ P["W_O"] + P["b_O"])
        h = F.layer_norm(resid, (dm,), P["ln2_w"], P["ln2_b"], 1e-5)
        post = F.gelu(h @ P["W_in"] + P["b_in"])  # exact GELU: blocks.0.mlp.hook_post
        if mode == "harvest":
            return post
        resid = resid + (post @ P["W_out"] + P["b_out"])
        h = F.layer_norm(resid, (dm,), P["lnf_w"], P["lnf_b"], 1e-5)
        logits = h @ P["W_U"] + P["b_U"]
        log_probs = torch.log_softmax(logits, dim=-1)
        return -log_probs[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]

    return run


def tlens_model(spec: dict):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(
        n_layers=1, d_model=spec["d_model"], n_heads=spec["n_heads"], d_head=spec["d_head"],
        d_mlp=spec["d_mlp"], d_vocab=spec["d_vocab"], n_ctx=spec["n_ctx"], act_fn="gelu",
        normalization_type="LN", positional_embedding_type="standard", device="cpu", seed=0)
    model = HookedTransformer(cfg)
    model.eval()

    def run(tokens, mode):
        if mode == "harvest":
            _, cache = model.run_with_cache(tokens, names_filter=[HOOK], stop_at_layer=1)
            return cache[HOOK]
        return model(tokens, return_type="loss", loss_per_token=True)

    return run


def torch_worker(spec: dict) -> dict:
    import time
    import torch

    torch.set_num_threads(spec["threads"])
    run = tlens_model(spec) if spec["impl"] == "tlens" else plain_model(spec)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, spec["d_vocab"], (spec["batch"], spec["ctx"]), generator=g)
    times = []
    with torch.inference_mode():
        for i in range(spec["warmup"] + spec["iters"]):
            t0 = time.perf_counter()
            out = run(tokens, spec["mode"])
            dt = time.perf_counter() - t0
            if i >= spec["warmup"]:
                times.append(dt)
        out_shape = list(out.shape)
        check = float(out.float().mean())
    s = bc.summarize(times)
    s.update({"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "tokens_per_s": spec["batch"] * spec["ctx"] / (s["median_ms"] * 1e-3),
              "out_shape": out_shape, "out_mean": check})
    return s


# ---------------------------------------------------------------------------
# Parent


def main() -> int:
    p = argparse.ArgumentParser(
        description="Activation harvest (to blocks.0.mlp.hook_post) and full forward with "
                    "per-token loss at gelu-1l's shapes: SAEKit (sae-bench harvest, forward_loss) "
                    "vs plain PyTorch. ratio = ours tokens/s / torch tokens/s (>1: SAEKit faster).",
        epilog="Full-size figures only on a quiet machine. Random weights; no download.")
    p.add_argument("--threads", type=bc.parse_threads, default=[2],
                   help="comma-separated thread counts (default: 2)")
    p.add_argument("--mode", choices=("both",) + MODES, default="both", help="default: both")
    p.add_argument("--batch", type=int, default=32, help="sequences per call (default: 32)")
    p.add_argument("--ctx", type=int, default=128, help="tokens per sequence (default: 128)")
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--n-heads", type=int, default=8)
    p.add_argument("--d-head", type=int, default=64)
    p.add_argument("--d-mlp", type=int, default=2048)
    p.add_argument("--d-vocab", type=int, default=48262)
    p.add_argument("--n-ctx", type=int, default=1024)
    p.add_argument("--attn", choices=("naive", "sdpa"), default="naive",
                   help="attention as TransformerLens writes it, or fused SDPA (default: naive)")
    p.add_argument("--tlens", action="store_true",
                   help="also measure TransformerLens' HookedTransformer if importable")
    p.add_argument("--iters", type=int, default=5, help="timed calls (median; default: 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls first (default: 2)")
    p.add_argument("--repeat", type=int, default=1,
                   help="alternate ours/torch this many rounds (default: 1)")
    p.add_argument("--torch-only", action="store_true", help="do not run sae-bench")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    bc.add_ours_arguments(p)
    args = p.parse_args()
    if args.ctx > args.n_ctx or min(args.batch, args.ctx, args.iters, args.repeat) < 1:
        p.error("need 1 <= --ctx <= --n-ctx and --batch, --iters, --repeat >= 1")
    if args.ctx < 2 and args.mode != "harvest":
        p.error("forward_loss needs --ctx >= 2")

    impls = ["plain"]
    if args.tlens:
        try:
            import importlib.util
            if importlib.util.find_spec("transformer_lens") is None:
                raise ImportError
            impls.append("tlens")
        except ImportError:
            bc.log("[tlens] transformer_lens is not importable; measuring plain torch only")

    bc.warn_if_busy(args.threads)
    ours = bc.Ours(args, enabled=not args.torch_only)
    ours.prepare()
    modes = MODES if args.mode == "both" else (args.mode,)
    tokens = args.batch * args.ctx

    rows = []
    for rnd in range(1, args.repeat + 1):
        for t in args.threads:
            for mode in modes:
                recs, err = ours.run(mode, t)
                if not ours.enabled:
                    rec, why = None, ours.reason
                elif not recs:
                    rec, why = None, err
                else:
                    rec, why = bc.select_record(recs, mode, t, [args.batch, args.ctx],
                                                any_shape=args.any_shape)
                if rec is None and ours.enabled:
                    bc.log(f"[ours] {mode} threads={t}: skipped: {why}")
                ours_ms = bc.fnum(rec, "fast_ms")
                ours_tps = bc.fnum(rec, "tokens_per_s")
                if ours_tps is None and ours_ms:
                    ours_tps = tokens / (ours_ms * 1e-3)  # assumes our batch x ctx is the same
                for impl in impls:
                    spec = {k: getattr(args, k) for k in ("batch", "ctx", "d_model", "n_heads",
                                                          "d_head", "d_mlp", "d_vocab", "n_ctx",
                                                          "attn", "iters", "warmup")}
                    spec.update({"mode": mode, "impl": impl, "threads": t})
                    bc.log(f"[torch/{impl}] {mode} threads={t} batch={args.batch} ctx={args.ctx} ...")
                    peer = bc.run_worker(os.path.abspath(__file__), spec, t)
                    rows.append({"round": rnd, "mode": mode, "impl": impl, "threads": t,
                                 "batch": args.batch, "ctx": args.ctx,
                                 "ours_ms": ours_ms, "ours_tokens_per_s": ours_tps,
                                 "ours_shape": rec.get("shape") if rec else None,
                                 "torch_ms": peer["median_ms"], "torch_min_ms": peer["min_ms"],
                                 "torch_tokens_per_s": peer["tokens_per_s"],
                                 "ratio_ours_over_torch": (ours_tps / peer["tokens_per_s"]
                                                           if ours_tps else None),
                                 "torch": peer["torch"], "torch_threads": peer["torch_threads"],
                                 "torch_out_shape": peer["out_shape"],
                                 "ours_skipped": None if rec else why})

    summary = []
    if args.repeat > 1:
        for t in args.threads:
            for mode in modes:
                for impl in impls:
                    rs = [r for r in rows if (r["mode"], r["impl"], r["threads"]) == (mode, impl, t)]
                    def med(key):
                        vals = [r[key] for r in rs if r[key] is not None]
                        return statistics.median(vals) if vals else None
                    summary.append({**rs[0], "round": "median", "ours_ms": med("ours_ms"),
                                    "ours_tokens_per_s": med("ours_tokens_per_s"),
                                    "torch_ms": med("torch_ms"), "torch_min_ms": None,
                                    "torch_tokens_per_s": med("torch_tokens_per_s"),
                                    "ratio_ours_over_torch": med("ratio_ours_over_torch")})

    if args.json:
        for r in rows + summary:
            print(json.dumps({"bench": "harvest_torch", "attn": args.attn, **r}))
        return 0
    print(f"gelu-1l shapes, random weights, batch {args.batch} x ctx {args.ctx} = {tokens} tokens "
          f"per call; torch {rows[0]['torch']}, attention {args.attn}; {bc.machine_note()}")
    headers = ["round", "mode", "peer", "thr", "ours ms", "ours tok/s", "torch ms", "torch tok/s",
               "ours/torch"]
    table = [[str(r["round"]), r["mode"], r["impl"], str(r["threads"]), bc.fmt_ms(r["ours_ms"]),
              bc.fmt(r["ours_tokens_per_s"], ".0f"), bc.fmt_ms(r["torch_ms"]),
              bc.fmt(r["torch_tokens_per_s"], ".0f"),
              bc.fmt(r["ratio_ours_over_torch"], ".2f", "n/a")] for r in rows + summary]
    bc.print_table(headers, table)
    print("ratio = ours tokens/s / torch tokens/s (> 1: SAEKit faster); n/a: ours skipped (see stderr)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_worker":
        print(json.dumps(torch_worker(json.loads(sys.argv[2]))))
        sys.exit(0)
    sys.exit(bc.main_guard(main))
