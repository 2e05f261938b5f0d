"""Closed-form log-det of the MGN Jacobian vs. the autograd route (CPU, float64).

For C-MGN (layers=3) and M-MGN (modules=4) at several dimensions and hidden widths, time
forward + backward (to the model parameters) of

* closed:   ``model.logdet_jacobian(x).mean()``                      (method "auto")
* autograd: ``torch.linalg.slogdet(autodiff.jacobian(model, x))[1].mean()``
* cholesky: ``model.logdet_jacobian(x, method="cholesky").mean()``   (only where "auto"
  took the matrix-determinant lemma, to show what the lemma buys)

interleaved (closed, autograd, cholesky, closed, autograd, ...) after a warm-up, and
report medians, the ratio autograd/closed and the max |Δ log det| between the routes.

Usage::

    .venv/bin/python benchmarks/logdet.py --quick            # ~20 s, dims 2, 16, 64
    .venv/bin/python benchmarks/logdet.py --out results.json # ~6 min, adds dim 784

Timings are single-thread, so only ratios measured in the same run mean anything; the
absolute numbers depend on the machine and on its load.
"""

from __future__ import annotations

import time

_T_PROCESS = time.perf_counter()  # before importing torch: imports take 5-20 s on a loaded machine

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys

import torch

import mgn_utils.models
from mgn_utils import autodiff
from mgn_utils.models import CMGN, MMGN

# One thread, always, and before any torch work:
# * with >= 2 threads, batched LU (slogdet, used by the autograd route) on
#   matrices >= ~160x160 with batch >= 2 hangs forever in oneMKL; d=784, B=256 would hang.
# * a busy process on the other core slows 2-thread torch 3.7-7x, but leaves a
#   1-thread run nearly unaffected, so 1-thread ratios are robust to other load.
torch.set_num_threads(1)

DTYPE = torch.float64
TARGET = dict(model="C-MGN", dim=784, hidden=256, min_ratio=15.0, max_err=1e-8)
LARGE_DIM = 512  # at or above: warm-up on a few rows only (one full-batch call costs minutes)


def machine_info() -> dict:
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    models_file = mgn_utils.models.__file__
    with open(models_file, "rb") as f:
        models_sha = hashlib.sha256(f.read()).hexdigest()[:12]
    try:  # which code was measured: the package can change between runs
        repo = os.path.dirname(os.path.dirname(os.path.abspath(models_file)))
        commit = (
            subprocess.run(
                ["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
        dirty = (
            subprocess.run(
                ["git", "-C", repo, "status", "--porcelain", "--", "mgn_utils/models.py"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            != ""
        )
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {
        "git_commit": commit,
        "models_py_sha256": models_sha + (" (models.py has uncommitted changes)" if dirty else ""),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu or platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": "cpu",
        "dtype": str(DTYPE).replace("torch.", ""),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def configs(dims, include_large_above: bool):
    """(model name, constructor, dim, hidden label, rank) for every benchmarked case."""
    out = []
    for d in dims:
        # C-MGN: hidden below dim (lemma) and above dim (cholesky).
        c_below = 256 if d == 784 else max(1, d // 4)
        c_above = min(2 * d, 1024)
        for h in dict.fromkeys([c_below, c_above]):
            if d >= LARGE_DIM and h >= d and not include_large_above:
                continue
            out.append(("C-MGN", lambda d=d, h=h: CMGN(d, h, layers=3), d, str(h), h))
        # M-MGN, K=4 modules of width h: total rank K(h+1); "above" keeps K(h+1) > d.
        K = 4
        m_below = 64 if d == 784 else max(1, d // 16)
        m_above = max(2, d // 2)
        for h in dict.fromkeys([m_below, m_above]):
            r = K * (h + 1)
            if d >= LARGE_DIM and r >= d and not include_large_above:
                continue
            out.append(("M-MGN", lambda d=d, h=h: MMGN(d, h, modules=K), d, f"{K}x{h}", r))
    return out


def _zero_grad(model):
    for p in model.parameters():
        p.grad = None


# Each route returns (wall seconds, CPU seconds, log-dets). Wall (perf_counter) is the
# measure; process CPU time is kept in the JSON as a check when the machine is oversubscribed
# (with 1 thread it counts only this process's work, not the time it waited for a core).
def route_closed(model, x, method="auto"):
    _zero_grad(model)
    c0, t0 = time.process_time(), time.perf_counter()
    ld = model.logdet_jacobian(x, method=method)
    ld.mean().backward()
    return time.perf_counter() - t0, time.process_time() - c0, ld.detach()


def route_autograd(model, x, chunk=None):
    """slogdet(vmap(jacrev) Jacobian).mean() + backward; in row chunks if ``chunk`` (memory)."""
    _zero_grad(model)
    B = x.shape[0]
    chunk = chunk or B
    c0, t0 = time.process_time(), time.perf_counter()
    vals = []
    for i in range(0, B, chunk):
        ld = torch.linalg.slogdet(autodiff.jacobian(model, x[i : i + chunk]))[1]
        (ld.sum() / B).backward()  # same gradient as ld_full.mean().backward()
        vals.append(ld.detach())
    return time.perf_counter() - t0, time.process_time() - c0, torch.cat(vals)


def bench_one(name, make, dim, hidden, rank, args):
    torch.manual_seed(args.seed)
    model = make().to(DTYPE)
    x = torch.randn(args.batch, dim, dtype=DTYPE)
    lemma = model.hidden_rank() < model.dim  # the rule "auto" applies
    route = "lemma" if lemma else "cholesky"
    # M-MGN with a wide hidden layer at large d: vmap(jacrev) intermediates of B*d x K*h
    # (2.5 GB each at d=784, K*h=1568, B=256) exceed RAM, so do the autograd route in chunks.
    chunk = 32 if (dim >= LARGE_DIM and rank > dim) else None

    routes = [
        ("closed", lambda xx: route_closed(model, xx)),
        ("autograd", lambda xx: route_autograd(model, xx, chunk)),
    ]
    if lemma:
        routes.append(("cholesky", lambda xx: route_closed(model, xx, "cholesky")))

    # Warm-up: one interleaved round (first calls pay for lazy init, functorch tracing,
    # allocator growth). At large d a full-batch call costs minutes, so warm up on 8 rows.
    xw = x[:8] if dim >= LARGE_DIM else x
    for _, fn in routes:
        fn(xw)

    times = {k: [] for k, _ in routes}
    cpu = {k: [] for k, _ in routes}
    vals = {}
    t_start = time.perf_counter()
    for rep in range(args.repeats):
        for k, fn in routes:  # interleaved: closed, autograd, [cholesky], closed, ...
            t, c, v = fn(x)
            times[k].append(t)
            cpu[k].append(c)
            vals[k] = v
        spent = time.perf_counter() - t_start
        per_round = spent / (rep + 1)
        if spent + per_round > args.budget:  # repeats scaled by size: stop at the budget
            break

    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    err = (vals["closed"] - vals["autograd"]).abs().max().item()
    row = dict(
        model=name,
        dim=dim,
        hidden=hidden,
        rank=rank,
        route=route,
        batch=args.batch,
        repeats=len(times["closed"]),
        autograd_chunk=chunk,
        closed_ms=1e3 * med["closed"],
        autograd_ms=1e3 * med["autograd"],
        ratio=med["autograd"] / med["closed"],
        max_abs_dlogdet=err,
        logdet_mean=vals["autograd"].mean().item(),
        samples_ms={k: [1e3 * t for t in v] for k, v in times.items()},
        ratio_cpu=med_cpu["autograd"] / med_cpu["closed"],
        samples_cpu_ms={k: [1e3 * t for t in v] for k, v in cpu.items()},
    )
    if lemma:
        row.update(
            cholesky_ms=1e3 * med["cholesky"],
            ratio_cholesky=med["autograd"] / med["cholesky"],
            max_abs_dlogdet_cholesky=(vals["cholesky"] - vals["autograd"]).abs().max().item(),
        )
    return row


COLUMNS = [
    "model",
    "dim",
    "hidden",
    "rank",
    "route",
    "closed ms",
    "autograd ms",
    "ratio",
    r"max \|Δ logdet\|",
    "n",
    "cholesky ms",
    "ratio (cholesky)",
]  # \| : pipe inside a cell
HEADER = "| " + " | ".join(COLUMNS) + " |"


def fmt_row(r) -> str:
    chol = f"{r['cholesky_ms']:.1f} | {r['ratio_cholesky']:.2f}" if "cholesky_ms" in r else "- | -"
    return (
        f"| {r['model']} | {r['dim']} | {r['hidden']} | {r['rank']} | {r['route']} "
        f"| {r['closed_ms']:.1f} | {r['autograd_ms']:.1f} | {r['ratio']:.1f} "
        f"| {r['max_abs_dlogdet']:.1e} | {r['repeats']} | {chol} |"
    )


def target_line(rows) -> tuple[str, dict]:
    t = TARGET
    hit = [
        r
        for r in rows
        if r["model"] == t["model"] and r["dim"] == t["dim"] and r["hidden"] == str(t["hidden"])
    ]
    if not hit:
        return (
            f"target (C-MGN d=784 h=256: closed >= {t['min_ratio']:g}x faster than autograd, "
            f"error <= {t['max_err']:g}): NOT MEASURED (dim 784 not run)"
        ), {"status": "not measured"}
    r = hit[0]
    ok = r["ratio"] >= t["min_ratio"] and r["max_abs_dlogdet"] <= t["max_err"]
    status = "PASS" if ok else "FAIL"
    return (
        f"target (C-MGN d=784 h=256, B={r['batch']}): ratio {r['ratio']:.1f}x "
        f"(need >= {t['min_ratio']:g}x), max |Δ logdet| {r['max_abs_dlogdet']:.1e} "
        f"(need <= {t['max_err']:g}): {status}  [n={r['repeats']}; CPU-time ratio "
        f"{r['ratio_cpu']:.1f}x]"
    ), {
        "status": status,
        "ratio": r["ratio"],
        "ratio_cpu": r["ratio_cpu"],
        "max_abs_dlogdet": r["max_abs_dlogdet"],
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="seconds-long run: dims 2, 16, 64 only")
    p.add_argument("--out", metavar="FILE", help="also write the results as JSON")
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="max measured repeats per route (default 15, quick 5); fewer are run "
        "once a case's time budget is spent (always >= 1)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds of measurement per case before repeats stop (default 6, quick 0.8)",
    )
    p.add_argument(
        "--dims", type=int, nargs="+", default=None, help="default 2 16 64 784 (quick: 2 16 64)"
    )
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--include-large-above",
        action="store_true",
        help="also run hidden rank above dim at dim >= 512 (C-MGN h=1024, M-MGN 4x392 "
        "at d=784): adds more than 10 minutes on a 2-core machine",
    )
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 5 if args.quick else 15
    if args.budget is None:
        args.budget = 0.8 if args.quick else 6.0
    if args.dims is None:
        args.dims = [2, 16, 64] if args.quick else [2, 16, 64, 784]
    if args.repeats < 1:
        p.error("--repeats must be >= 1")

    t_all = time.perf_counter()
    info = machine_info()
    print("# log-det benchmark: closed form vs autograd (forward + backward to parameters)")
    for k, v in info.items():
        print(f"# {k}: {v}")
    print(
        f"# batch {args.batch}, C-MGN layers=3, M-MGN modules=4 (hidden = K x h), max repeats "
        f"{args.repeats}, budget {args.budget:g} s/case, times = medians"
    )
    print(
        "# ratio = autograd ms / closed ms; ratio (cholesky) = autograd ms / cholesky-route ms "
        "(shown where the closed form used the lemma)"
    )
    print()
    print(HEADER)
    print("|" + "---|" * len(COLUMNS))
    sys.stdout.flush()

    rows = []
    for name, make, dim, hidden, rank in configs(args.dims, args.include_large_above):
        r = bench_one(name, make, dim, hidden, rank, args)
        rows.append(r)
        print(fmt_row(r), flush=True)
    print()
    line, target = target_line(rows)
    print(line)
    total = time.perf_counter() - t_all
    info["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    print(
        f"# total run time {total:.1f} s (benchmark) / {time.perf_counter() - _T_PROCESS:.1f} s "
        f"(including imports); load average at end {info['loadavg_end']}"
    )
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(
                dict(
                    machine=info,
                    args=vars(args),
                    rows=rows,
                    target=target,
                    total_s=total,
                    total_with_imports_s=time.perf_counter() - _T_PROCESS,
                ),
                f,
                indent=1,
            )
        print(f"# wrote {args.out}")


if __name__ == "__main__":
    main()
