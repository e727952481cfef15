#!/usr/bin/env python3
"""One SAE training step: SAEKit vs PyTorch done the SAELens way (dense), one run.

Peer step (float32, CPU, torch.set_num_threads(N)), following SAELens:
  sae_in     = x - b_dec
  hidden_pre = sae_in @ W_enc + b_enc                      [batch, d_sae], dense GEMM
  standard:  f = relu(hidden_pre)
  topk:      v, i = topk(hidden_pre, k); f = zeros.scatter(i, relu(v))   (dense f)
  x_hat      = f @ W_dec + b_dec                           dense GEMM
  mse        = ((x_hat - x)^2).sum(-1).mean()              summed over d_in, mean over batch
  standard:  loss = mse + l1 * (f * ||W_dec rows||).sum(-1).mean()   (--l1-form weighted,
             SAELens' L1 with W_dec norms; --l1-form plain: l1 * f.sum(-1).mean())
  topk:      loss = mse (no auxiliary dead-latent loss)
  loss.backward(); W_dec.grad -= (W_dec.grad . W_dec rows) W_dec rows  (unit-norm constraint)
  [optional --clip-grad-norm C, as SAELens' trainer does with 1.0]
  Adam step (betas 0.9, 0.999); W_dec rows /= their norm.
Not included: LR/coefficient schedulers, dead-feature statistics, logging.

Our side: `sae-bench --json --filter train_step_standard|train_step_topk --threads N`,
run right before the torch step of the same kind.
speed-up = torch_ms / ours_ms   (> 1 means SAEKit is faster).

Examples:
  python3 Benchmarks/sae_step_torch.py --threads 2            # full size: quiet machine only
  python3 Benchmarks/sae_step_torch.py --d-sae 1024 --batch 256 --torch-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

VARIANTS = ("standard", "topk")


# ---------------------------------------------------------------------------
# Child process: the torch step


def torch_worker(spec: dict) -> dict:
    import time
    import torch

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    b, d_in, d_sae, k = spec["batch"], spec["d_in"], spec["d_sae"], spec["k"]
    variant = spec["variant"]

    # SAELens-style init: W_dec rows unit norm, W_enc = W_dec^T, zero biases.
    w_dec = torch.empty(d_sae, d_in)
    torch.nn.init.kaiming_uniform_(w_dec)
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    W_dec = torch.nn.Parameter(w_dec)
    W_enc = torch.nn.Parameter(w_dec.t().clone().contiguous())
    b_enc = torch.nn.Parameter(torch.zeros(d_sae))
    b_dec = torch.nn.Parameter(torch.zeros(d_in))
    params = [W_enc, b_enc, W_dec, b_dec]
    opt = torch.optim.Adam(params, lr=spec["lr"], betas=(0.9, 0.999))
    x = torch.randn(b, d_in)
    unit_norm = spec["unit_norm"]
    l1 = spec["l1"]

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        opt.zero_grad(set_to_none=True)
        sae_in = x - b_dec
        hidden_pre = sae_in @ W_enc + b_enc
        if variant == "standard":
            f = torch.relu(hidden_pre)
        else:
            top = torch.topk(hidden_pre, k, dim=-1)
            f = torch.zeros_like(hidden_pre).scatter(-1, top.indices, torch.relu(top.values))
        x_hat = f @ W_dec + b_dec
        mse = torch.nn.functional.mse_loss(x_hat, x, reduction="none").sum(-1).mean()
        if variant == "standard":
            if spec["l1_form"] == "weighted":
                sparsity = (f * W_dec.norm(dim=1)).sum(-1).mean()
            else:
                sparsity = f.sum(-1).mean()
            loss = mse + l1 * sparsity
        else:
            loss = mse
        loss.backward()
        with torch.no_grad():
            if unit_norm:
                par = (W_dec.grad * W_dec).sum(-1, keepdim=True)
                W_dec.grad.sub_(par * W_dec)
            if spec["clip"] > 0:
                torch.nn.utils.clip_grad_norm_(params, spec["clip"])
        opt.step()
        if unit_norm:
            with torch.no_grad():
                W_dec.div_(W_dec.norm(dim=1, keepdim=True))
        return loss.detach(), f.detach()

    for _ in range(spec["warmup"]):
        step()
    times = []
    for _ in range(spec["steps"]):
        t0 = time.perf_counter()
        loss, f = step()
        times.append(time.perf_counter() - t0)
    s = bc.summarize(times)
    s.update({"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "loss": float(loss), "l0": float((f > 0).float().sum(-1).mean()),
              "tokens_per_s": b / (s["median_ms"] * 1e-3)})
    return s


# ---------------------------------------------------------------------------
# Parent


def main() -> int:
    p = argparse.ArgumentParser(
        description="One SAE training step (forward, backward, Adam, decoder unit norm): "
                    "SAEKit (sae-bench train_step_*) vs PyTorch the SAELens way, dense. "
                    "speed-up = torch_ms / ours_ms (>1: SAEKit faster).",
        epilog="Full-size figures only on a quiet machine. See the module docstring for the "
               "exact step.")
    p.add_argument("--threads", type=bc.parse_threads, default=[2],
                   help="comma-separated thread counts (default: 2)")
    p.add_argument("--variant", choices=("both",) + VARIANTS, default="both",
                   help="which SAE (default: both)")
    p.add_argument("--batch", type=int, default=4096, help="tokens per step (default: 4096)")
    p.add_argument("--d-in", type=int, default=512, help="default: 512")
    p.add_argument("--d-sae", type=int, default=16384, help="default: 16384")
    p.add_argument("--k", type=int, default=32, help="TopK k (default: 32)")
    p.add_argument("--l1", type=float, default=5.0, help="L1 coefficient, standard SAE (default: 5)")
    p.add_argument("--l1-form", choices=("weighted", "plain"), default="weighted",
                   help="weighted: l1*(f*||W_dec row||).sum(-1).mean() as SAELens; "
                        "plain: l1*f.sum(-1).mean() (default: weighted)")
    p.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate (default: 3e-4)")
    p.add_argument("--clip-grad-norm", type=float, default=0.0,
                   help="clip_grad_norm_ before the step, as SAELens' trainer (1.0); "
                        "0 = off (default: 0)")
    p.add_argument("--no-unit-norm", action="store_true",
                   help="skip the decoder unit-norm constraint")
    p.add_argument("--steps", type=int, default=5, help="timed steps (median; default: 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: 2)")
    p.add_argument("--repeat", type=int, default=1,
                   help="alternate ours/torch this many rounds (default: 1)")
    p.add_argument("--torch-only", action="store_true", help="do not run sae-bench")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    bc.add_ours_arguments(p)
    args = p.parse_args()
    for name in ("batch", "d_in", "d_sae", "k", "steps", "repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.k > args.d_sae:
        p.error("--k must be <= --d-sae")

    bc.warn_if_busy(args.threads)
    ours = bc.Ours(args, enabled=not args.torch_only)
    ours.prepare()
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    shape = f"{args.batch}x{args.d_in}x{args.d_sae}"

    rows = []
    for rnd in range(1, args.repeat + 1):
        for t in args.threads:
            for v in variants:
                kernel = f"train_step_{v}"
                recs, err = ours.run(kernel, t)
                if not ours.enabled:
                    rec, why = None, ours.reason
                elif not recs:
                    rec, why = None, err
                else:
                    rec, why = bc.select_record(recs, kernel, t, [args.batch, args.d_in, args.d_sae],
                                                any_shape=args.any_shape)
                if rec is None and ours.enabled:
                    bc.log(f"[ours] {kernel} threads={t}: skipped: {why}")
                spec = {"variant": v, "threads": t, "batch": args.batch, "d_in": args.d_in,
                        "d_sae": args.d_sae, "k": args.k, "l1": args.l1, "l1_form": args.l1_form,
                        "lr": args.lr, "clip": args.clip_grad_norm,
                        "unit_norm": not args.no_unit_norm,
                        "steps": args.steps, "warmup": args.warmup}
                bc.log(f"[torch] {v} step threads={t} {shape}"
                       + (f" k={args.k}" if v == "topk" else "") + " ...")
                peer = bc.run_worker(os.path.abspath(__file__), spec, t)
                ours_ms = bc.fnum(rec, "fast_ms")
                rows.append({"round": rnd, "variant": v, "shape": shape, "threads": t,
                             "k": args.k if v == "topk" else None,
                             "ours_ms": ours_ms, "ours_shape": rec.get("shape") if rec else None,
                             "ours_l0": bc.fnum(rec, "l0"),
                             "torch_ms": peer["median_ms"], "torch_min_ms": peer["min_ms"],
                             "torch_l0": peer["l0"], "torch_tokens_per_s": peer["tokens_per_s"],
                             "speedup_torch_over_ours": peer["median_ms"] / ours_ms if ours_ms else None,
                             "torch": peer["torch"], "torch_threads": peer["torch_threads"],
                             "ours_skipped": None if rec else why})

    summary = []
    if args.repeat > 1:
        for t in args.threads:
            for v in variants:
                rs = [r for r in rows if r["variant"] == v and r["threads"] == t]
                def med(key):
                    vals = [r[key] for r in rs if r[key] is not None]
                    return statistics.median(vals) if vals else None
                summary.append({**rs[0], "round": "median", "ours_ms": med("ours_ms"),
                                "torch_ms": med("torch_ms"), "torch_min_ms": None,
                                "speedup_torch_over_ours": med("speedup_torch_over_ours")})

    if args.json:
        for r in rows + summary:
            print(json.dumps({"bench": "sae_step_torch", "l1_form": args.l1_form,
                              "unit_norm": not args.no_unit_norm, **r}))
        return 0
    print(f"SAE training step, {shape} (batch x d_in x d_sae), float32; torch {rows[0]['torch']}, "
          f"L1 {args.l1_form}, unit norm {'on' if not args.no_unit_norm else 'off'}, "
          f"clip {args.clip_grad_norm or 'off'}; {bc.machine_note()}")
    headers = ["round", "variant", "thr", "ours ms", "torch ms", "torch min", "torch tok/s", "torch L0",
               "speed-up torch/ours"]
    table = [[str(r["round"]), r["variant"] + (f" k={r['k']}" if r["k"] else ""), str(r["threads"]),
              bc.fmt_ms(r["ours_ms"]), bc.fmt_ms(r["torch_ms"]), bc.fmt_ms(r["torch_min_ms"]),
              bc.fmt(r["torch_tokens_per_s"], ".0f"),
              bc.fmt(r["torch_l0"], ".1f"), bc.fmt(r["speedup_torch_over_ours"], ".2f", "n/a")]
             for r in rows + summary]
    bc.print_table(headers, table)
    print("speed-up = torch ms / ours ms (> 1: SAEKit faster); n/a: ours skipped (see stderr)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_worker":
        print(json.dumps(torch_worker(json.loads(sys.argv[2]))))
        sys.exit(0)
    sys.exit(bc.main_guard(main))
