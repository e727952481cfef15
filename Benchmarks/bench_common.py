"""Shared helpers for the peer benchmark scripts in this folder.

Runs our `sae-bench` executable, parses its JSON lines, runs peer measurements in
a child process with the thread count set in the environment before the library is
imported, and formats the side-by-side tables. Python 3.11, standard library only.

sae-bench prints one JSON object per line, e.g.
  {"kernel": "gemm_nn", "shape": "4096x2048x2048", "threads": 2,
   "fast_ms": 390.1, "naive_ms": null, "gflops": 176.2}
Any other line (build chatter, a human-readable table) is ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def log(msg: str) -> None:
    """Diagnostics go to stderr so that --json output on stdout stays parseable."""
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Parsing sae-bench output


def parse_records(text: str) -> list[dict[str, Any]]:
    """Every line of `text` that is a JSON object with a "kernel" key."""
    records = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "kernel" in obj:
            records.append(obj)
    return records


def shape_ints(shape: Any) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", str(shape))]


def shape_matches(shape: Any, expected: list[int], exact: bool) -> bool:
    """exact: the integers of `shape` are `expected`, in order (GEMM MxKxN).
    Otherwise every expected integer occurs in `shape` (so "4096x512x16384 k=32"
    or "b32 t128" both match), which tolerates the lead's choice of format."""
    got = shape_ints(shape)
    if exact:
        return got == list(expected)
    have, need = Counter(got), Counter(expected)
    return all(have[k] >= v for k, v in need.items())


def select_record(records: list[dict[str, Any]], kernel: str, threads: int,
                  expected: list[int] | None, exact: bool = False,
                  any_shape: bool = False) -> tuple[dict[str, Any] | None, str]:
    """The record for (kernel, threads, shape), or (None, reason)."""
    same_kernel = [r for r in records if r.get("kernel") == kernel]
    if not same_kernel:
        kinds = sorted({str(r.get("kernel")) for r in records})
        return None, f"no '{kernel}' record (sae-bench printed: {', '.join(kinds) or 'nothing'})"
    same_threads = [r for r in same_kernel if r.get("threads") in (threads, None)]
    if not same_threads:
        got = sorted({str(r.get("threads")) for r in same_kernel})
        return None, f"no '{kernel}' record for threads={threads} (got threads {', '.join(got)})"
    if expected is None or any_shape:
        return same_threads[0], ""
    for r in same_threads:
        if shape_matches(r.get("shape", ""), expected, exact):
            return r, ""
    shapes = ", ".join(sorted({str(r.get("shape")) for r in same_threads}))
    want = "x".join(map(str, expected))
    return None, (f"no '{kernel}' record for shape {want} (sae-bench ran: {shapes}; "
                  f"use --any-shape to compare anyway)")


def fnum(rec: dict[str, Any] | None, key: str) -> float | None:
    if rec is None:
        return None
    v = rec.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return None


# ---------------------------------------------------------------------------
# Running sae-bench


def add_ours_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("our side (sae-bench)")
    g.add_argument("--repo", default=REPO_ROOT,
                   help="SAEKit checkout to build sae-bench from (default: %(default)s)")
    g.add_argument("--sae-bench", metavar="PATH",
                   help="use this sae-bench binary instead of building it with "
                        "`swift build -c release --product sae-bench`")
    g.add_argument("--ours-json", metavar="FILE",
                   help="read sae-bench JSON lines from FILE instead of running it "
                        "(for testing the parsing; not a same-run comparison)")
    g.add_argument("--ours-args", default="",
                   help="extra arguments passed to sae-bench, as one shell-quoted string")
    g.add_argument("--any-shape", action="store_true",
                   help="compare with our record even when its shape string does not match")


class Ours:
    """Builds sae-bench once, then runs it per (filter, threads)."""

    def __init__(self, args: argparse.Namespace, enabled: bool = True):
        self.args = args
        self.enabled = enabled
        self.reason = "" if enabled else "disabled by option"
        self.binary: str | None = None
        self.file_records: list[dict[str, Any]] | None = None
        self.extra = shlex.split(args.ours_args) if args.ours_args else []

    def prepare(self) -> None:
        if not self.enabled:
            return
        a = self.args
        if a.ours_json:
            try:
                with open(a.ours_json) as f:
                    self.file_records = parse_records(f.read())
            except OSError as e:
                self._disable(f"cannot read --ours-json: {e}")
                return
            log(f"[ours] reading {len(self.file_records)} record(s) from {a.ours_json} "
                "(not measured in this run)")
            return
        if a.sae_bench:
            if not (os.path.isfile(a.sae_bench) and os.access(a.sae_bench, os.X_OK)):
                self._disable(f"--sae-bench {a.sae_bench} is not an executable file")
            else:
                self.binary = a.sae_bench
            return
        if shutil.which("swift") is None:
            self._disable("`swift` is not on PATH")
            return
        log(f"[ours] building: swift build -c release --product sae-bench (in {a.repo}) ...")
        b = subprocess.run(["swift", "build", "-c", "release", "--product", "sae-bench"],
                           cwd=a.repo, capture_output=True, text=True)
        if b.returncode != 0:
            tail = "\n".join((b.stdout + b.stderr).strip().splitlines()[-15:])
            self._disable(f"swift build failed (exit {b.returncode}):\n{tail}")
            return
        bp = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"],
                            cwd=a.repo, capture_output=True, text=True)
        path = os.path.join(bp.stdout.strip(), "sae-bench")
        if bp.returncode != 0 or not os.path.isfile(path):
            self._disable(f"built, but no binary at {path!r}")
            return
        self.binary = path
        log(f"[ours] using {path}")

    def _disable(self, reason: str) -> None:
        self.enabled = False
        self.reason = reason
        log(f"[ours] skipped: {reason}")

    def run(self, filt: str, threads: int) -> tuple[list[dict[str, Any]], str]:
        """Records printed by `sae-bench --json --filter filt --threads threads`,
        or ([], reason)."""
        if not self.enabled:
            return [], self.reason
        if self.file_records is not None:
            return [r for r in self.file_records if filt in str(r.get("kernel", ""))], ""
        cmd = [self.binary, "--json", "--filter", filt, "--threads", str(threads), *self.extra]
        log(f"[ours] {' '.join(shlex.quote(c) for c in cmd)}")
        try:
            p = subprocess.run(cmd, cwd=self.args.repo, capture_output=True, text=True)
        except OSError as e:
            return [], f"cannot run sae-bench: {e}"
        recs = parse_records(p.stdout)
        if p.returncode != 0:
            return recs, f"sae-bench exited {p.returncode}: {_failure_summary(p.stderr, p.stdout)}"
        if not recs:
            return [], f"sae-bench printed no JSON record for --filter {filt}"
        return recs, ""


def _failure_summary(stderr: str, stdout: str) -> str:
    """The telling lines of a failed run (Swift's crash report is long)."""
    lines = [l.strip() for l in (stderr or stdout).splitlines() if l.strip()]
    key = [l for l in lines if re.search(r"fatal error|error:|crash|usage", l, re.I)]
    return " | ".join((key or lines)[:3])[:400] or "(no output)"


# ---------------------------------------------------------------------------
# Peer measurements in a child process


def thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for k in THREAD_ENV_VARS:
        env[k] = str(threads)
    return env


def run_worker(script: str, spec: dict[str, Any], threads: int) -> dict[str, Any]:
    """Run `python script --_worker JSON` with the thread variables set before the
    child imports numpy/torch; return the last JSON object it prints."""
    cmd = [sys.executable, script, "--_worker", json.dumps(spec)]
    p = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True)
    if p.returncode != 0:
        tail = "\n".join(p.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"peer worker failed (exit {p.returncode}):\n{tail}")
    for line in reversed(p.stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            continue
    raise RuntimeError(f"peer worker printed no JSON: {p.stdout[-500:]!r}")


def main_guard(main) -> int:
    """Run main(); a failed peer worker ends with its message, not a traceback."""
    try:
        return main()
    except RuntimeError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130


def summarize(times_s: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(times_s) * 1e3,
            "min_ms": min(times_s) * 1e3,
            "max_ms": max(times_s) * 1e3,
            "reps": len(times_s)}


# ---------------------------------------------------------------------------
# Output


def fmt(v: Any, spec: str = ".1f", none: str = "-") -> str:
    if v is None:
        return none
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def fmt_ms(v: float | None) -> str:
    """Milliseconds with 3 significant digits below 100 ms, one decimal above."""
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.1f}"
    return f"{v:.2f}" if v >= 1 else f"{v:.3g}"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


def parse_threads(s: str) -> list[int]:
    try:
        out = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads wants e.g. 1,2 (got {s!r})")
    if not out or any(t < 1 for t in out):
        raise argparse.ArgumentTypeError(f"--threads wants positive integers (got {s!r})")
    return out


def machine_note() -> str:
    try:
        load = os.getloadavg()
        return f"cpus={os.cpu_count()} load average={load[0]:.2f},{load[1]:.2f},{load[2]:.2f}"
    except OSError:
        return f"cpus={os.cpu_count()}"


def warn_if_busy(threads: list[int]) -> None:
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        return
    if load1 > 0.5:
        log(f"[note] load average {load1:.2f}: the machine is not quiet; ours and the peer "
            "are measured back to back, but absolute figures will be low and noisy.")
