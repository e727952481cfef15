#!/usr/bin/env python3
"""SAEKit GEMM vs NumPy sgemm (OpenBLAS), measured back to back in one run.

C = A @ B, float32, row-major, shapes M x K x N. For each thread count, our
`sae-bench --json --filter gemm_nn --threads N` runs first, then NumPy in a child
process whose OPENBLAS_NUM_THREADS / OMP_NUM_THREADS are set before numpy is
imported. NumPy: warm-up calls, then the median of --reps timed calls of
np.matmul(a, b, out=c) into a preallocated c.

ratio = ours GFLOP/s / OpenBLAS GFLOP/s  (> 1 means SAEKit is faster).

Examples:
  python3 Benchmarks/gemm_vs_numpy.py                      # 1 and 2 threads, both shapes
  python3 Benchmarks/gemm_vs_numpy.py --threads 2 --repeat 3
  python3 Benchmarks/gemm_vs_numpy.py --numpy-only --shapes 256x256x256
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

DEFAULT_SHAPES = "4096x2048x2048,4096x512x16384"


# ---------------------------------------------------------------------------
# Child process: NumPy timing (thread variables already set by the parent)


def _openblas_info() -> tuple[int | None, str | None]:
    """Ask the OpenBLAS that numpy loaded for its thread count and kernel family."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f
                    if "openblas" in line.lower() and ".so" in line.split()[-1]}
    except OSError:
        return None, None
    threads, core = None, None
    for lib in libs:
        try:
            h = ctypes.CDLL(lib)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                fn = getattr(h, f"{prefix}get_num_threads{suffix}", None)
                if fn is not None and threads is None:
                    fn.restype = ctypes.c_int
                    threads = int(fn())
                fn = getattr(h, f"{prefix}get_corename{suffix}", None)
                if fn is not None and core is None:
                    fn.restype = ctypes.c_char_p
                    core = fn().decode()
    return threads, core


def numpy_worker(spec: dict) -> dict:
    import time
    import numpy as np

    threads = spec["threads"]
    limiter = None
    try:  # optional: also pin the pool with threadpoolctl when it is installed
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=threads, user_api="blas")
    except ImportError:
        pass
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:
        pass
    out = {"numpy": np.__version__, "blas": blas, "threads": threads,
           "blas_threads": None, "blas_core": None, "results": []}
    for m, k, n in spec["shapes"]:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        for _ in range(spec["warmup"]):
            np.matmul(a, b, out=c)
        times = []
        for _ in range(spec["reps"]):
            t0 = time.perf_counter()
            np.matmul(a, b, out=c)
            times.append(time.perf_counter() - t0)
        s = bc.summarize(times)
        s["shape"] = f"{m}x{k}x{n}"
        s["gflops"] = 2.0 * m * k * n / (s["median_ms"] * 1e-3) / 1e9
        out["results"].append(s)
        del a, b, c
    out["blas_threads"], out["blas_core"] = _openblas_info()
    if limiter is not None:
        limiter.restore_original_limits()
    return out


# ---------------------------------------------------------------------------
# Parent


def parse_shapes(s: str) -> list[list[int]]:
    shapes = []
    for part in s.split(","):
        dims = part.strip().lower().split("x")
        if len(dims) != 3 or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise argparse.ArgumentTypeError(f"shape {part!r} is not MxKxN")
        shapes.append([int(d) for d in dims])
    return shapes


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " ratio = ours/OpenBLAS throughput (>1: we are faster).",
        epilog="Take figures on a quiet machine: the peer and ours share the same cores.")
    p.add_argument("--threads", type=bc.parse_threads, default=[1, 2],
                   help="comma-separated thread counts (default: 1,2)")
    p.add_argument("--shapes", type=parse_shapes, default=parse_shapes(DEFAULT_SHAPES),
                   help=f"comma-separated MxKxN shapes (default: {DEFAULT_SHAPES})")
    p.add_argument("--reps", type=int, default=7, help="timed NumPy calls per shape (default: 7)")
    p.add_argument("--warmup", type=int, default=2, help="untimed NumPy calls first (default: 2)")
    p.add_argument("--repeat", type=int, default=1,
                   help="alternate ours/NumPy this many rounds and report each (default: 1)")
    p.add_argument("--kernel", default="gemm_nn",
                   help="sae-bench kernel name to compare (default: gemm_nn)")
    p.add_argument("--numpy-only", action="store_true", help="do not run sae-bench")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    bc.add_ours_arguments(p)
    args = p.parse_args()
    if args.reps < 1 or args.repeat < 1 or args.warmup < 0:
        p.error("--reps and --repeat must be >= 1, --warmup >= 0")

    bc.warn_if_busy(args.threads)
    ours = bc.Ours(args, enabled=not args.numpy_only)
    ours.prepare()

    rows: list[dict] = []
    peer_info = None
    for rnd in range(1, args.repeat + 1):
        for t in args.threads:
            recs, err = ours.run(args.kernel, t)
            spec = {"shapes": args.shapes, "threads": t, "reps": args.reps, "warmup": args.warmup}
            bc.log(f"[numpy] threads={t} shapes={','.join('x'.join(map(str, s)) for s in args.shapes)}")
            peer = bc.run_worker(os.path.abspath(__file__), spec, t)
            peer_info = peer
            if peer.get("blas_threads") not in (None, t):
                bc.log(f"[numpy] warning: OpenBLAS reports {peer['blas_threads']} threads, wanted {t}")
            for (m, k, n), res in zip(args.shapes, peer["results"]):
                shape = f"{m}x{k}x{n}"
                if not ours.enabled:
                    rec, why = None, ours.reason
                elif not recs:
                    rec, why = None, err
                else:
                    rec, why = bc.select_record(recs, args.kernel, t, [m, k, n], exact=True,
                                                any_shape=args.any_shape)
                ours_ms = bc.fnum(rec, "fast_ms")
                ours_gf = bc.fnum(rec, "gflops")
                if ours_gf is None and ours_ms:
                    ours_gf = 2.0 * m * k * n / (ours_ms * 1e-3) / 1e9
                if rec is None and ours.enabled:
                    bc.log(f"[ours] {shape} threads={t}: skipped: {why}")
                ratio = ours_gf / res["gflops"] if ours_gf else None
                rows.append({"round": rnd, "shape": shape, "threads": t,
                             "ours_ms": ours_ms, "ours_gflops": ours_gf,
                             "numpy_ms": res["median_ms"], "numpy_min_ms": res["min_ms"],
                             "numpy_gflops": res["gflops"], "ratio_ours_over_openblas": ratio,
                             "ours_skipped": None if rec else why})

    summary = []
    if args.repeat > 1:
        for t in args.threads:
            for m, k, n in args.shapes:
                shape = f"{m}x{k}x{n}"
                rs = [r for r in rows if r["shape"] == shape and r["threads"] == t]
                med = lambda key: (statistics.median([r[key] for r in rs if r[key] is not None])
                                   if any(r[key] is not None for r in rs) else None)
                summary.append({"round": "median", "shape": shape, "threads": t,
                                "ours_ms": med("ours_ms"), "ours_gflops": med("ours_gflops"),
                                "numpy_ms": med("numpy_ms"), "numpy_gflops": med("numpy_gflops"),
                                "ratio_ours_over_openblas": med("ratio_ours_over_openblas")})

    if args.json:
        for r in rows + summary:
            print(json.dumps({"bench": "gemm_vs_numpy", "kernel": args.kernel, **r,
                              "numpy": peer_info["numpy"], "blas": peer_info["blas"],
                              "blas_core": peer_info.get("blas_core")}))
        return 0
    print(f"GEMM C = A @ B (float32, row-major), ours ({args.kernel}) vs NumPy {peer_info['numpy']} "
          f"/ {peer_info['blas']} ({peer_info.get('blas_core')} kernels); {bc.machine_note()}")
    headers = ["round", "shape MxKxN", "thr", "ours ms", "ours GF/s", "numpy ms", "numpy GF/s",
               "ours/OpenBLAS"]
    table = [[str(r["round"]), r["shape"], str(r["threads"]), bc.fmt_ms(r["ours_ms"]),
              bc.fmt(r["ours_gflops"]), bc.fmt_ms(r["numpy_ms"]), bc.fmt(r["numpy_gflops"]),
              bc.fmt(r["ratio_ours_over_openblas"], ".2f", "n/a")] for r in rows + summary]
    bc.print_table(headers, table)
    print("ratio = ours GFLOP/s / OpenBLAS GFLOP/s (> 1: SAEKit faster); n/a: ours skipped (see stderr)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_worker":
        print(json.dumps(numpy_worker(json.loads(sys.argv[2]))))
        sys.exit(0)
    sys.exit(bc.main_guard(main))
