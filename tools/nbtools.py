"""Maintenance of the chapter notebooks: execute and stamp, check freshness, verify, pages.

    python tools/nbtools.py execute [CHAPTER ...] [-j N] [--all]
                                                   run in the full profile, store outputs, stamp
                                                   (no CHAPTER: only the stale ones; N at once)
    python tools/nbtools.py stale [CHAPTER ...]    which chapters are stale, and why (exit 0)
    python tools/nbtools.py check [CHAPTER ...]    fail if a chapter's stored outputs are stale
    python tools/nbtools.py verify [CHAPTER ...]   re-run in the full profile into a temporary
                                                   copy and compare the recorded results
    python tools/nbtools.py sync-url               rewrite every Colab setup cell from _config.yml
    python tools/nbtools.py pages                  write book/results.md, status.md, performance.md
    python tools/nbtools.py smoke-times            time every chapter in the smoke profile

CHAPTER is a chapter number such as ``03`` or a notebook path; the default is every chapter.
``make execute``, ``make freshness``, ``make verify`` and ``make pages`` call these.

The stamp (``metadata["mgn"]``, written by ``execute``) covers what the stored outputs depend
on. Computed in the chapter's kernel after its last cell, by a snippet that is not stored:
``python_executable``, ``python``, ``torch``, ``threads``, ``mgn_utils`` (version),
``mgn_utils_path``, ``mgn_utils_files`` (SHA-256 of each package module the kernel loaded, and
of the package data beside them) and ``mgn_utils_sha256`` (one digest over those),
``device``, ``data`` and ``checkpoints`` (from ``mgn_utils.course.env.provenance()``: the
device the results were computed on, the SHA-256 of each data file read and the digest of the
manifest entry of each checkpoint found), ``provenance`` (where those came from) and
``profile``. Computed by this tool: ``code_sha256`` (code cells, the Colab setup cell
excluded), ``requirements_sha256``, ``outputs_sha256`` (every code cell's outputs and execution
count, canonical JSON, on the notebook as written to disk), ``stamp_version``, ``executed_at``,
``duration_s``, ``platform``, ``cpu_count``.

``check`` fails (exit 1, one line per problem with the command that fixes it) when any of
those hashes differs from the checkout as it is now (each of ``mgn_utils_files`` against the
repository's ``mgn_utils/``: a change to a module the chapter did not load does not count),
when the execution counts are not 1..N over the non-empty code cells, on an error output, on
stored widget state, on a recorded result (``mgn_result``) whose profile is not "full", on
unrun cells, and when the first code cell is not the Colab setup cell of ``_config.yml``'s
repository url.

``verify`` re-executes each chapter in the full profile into a temporary directory (the
committed notebook is never written), matches its recorded results (``mgn_result``: the
``experiment``, ``metric`` and ``ours`` keys, optional ``tolerance`` (absolute) and
``spread``) with the stored ones by experiment, metric and order, and prints one row each:
stored, new, |diff|, tolerance, OK or DRIFT. A result without a stated tolerance gets a window
of 10 % of the stored value (the row says "no stated tolerance"). Only recorded results are
compared, never timings or other outputs. Exit 1 on any drift, or on a result that only one of
the two runs recorded. It takes as long as ``execute`` (see book/performance.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import freshness
from freshness import Layout, code_hash, drop_widget_outputs, outputs_hash

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = freshness.SETUP_TAG
KERNEL = "python3"
DEFAULT_RTOL = 0.1  # verify's window for a result that states no tolerance


def chapter_notebooks(layout: Layout) -> list[Path]:
    return sorted(layout.chapters.glob("[0-9][0-9]_*.ipynb"))


def toc_chapters(layout: Layout) -> list[Path]:
    """The chapter notebooks listed in ``_toc.yml``, in book order."""
    names = re.findall(r"file:\s*(chapters/[\w.-]+)", (layout.root / "_toc.yml").read_text())
    return [layout.root / (n if n.endswith(".ipynb") else n + ".ipynb") for n in names]


def sync_url(paths, layout: Layout) -> int:
    src = freshness.setup_cell_source(layout)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if freshness.is_setup_cell(c)]
        if len(cells) != 1:
            print(
                f"{path.name}: expected exactly one code cell tagged {SETUP_TAG!r}, found "
                f"{len(cells)}"
            )
            return 1
        tags = cells[0].metadata.setdefault("tags", [])
        if cells[0].source != src or freshness.SETUP_HIDE_TAG not in tags:
            cells[0].source = src
            if freshness.SETUP_HIDE_TAG not in tags:
                tags.append(freshness.SETUP_HIDE_TAG)
            nbformat.write(nb, path)
            print(f"{path.name}: setup cell updated")
    return 0


def stale(paths, layout: Layout) -> dict:
    """``{path: [problem, ...]}`` for each chapter whose stored outputs are stale or unfit."""
    src = freshness.setup_cell_source(layout)
    out = {}
    for path in paths:
        found = freshness.problems(nbformat.read(path, as_version=4), path.name, layout, src)
        if found:
            out[path] = found
    return out


def report_stale(paths, layout: Layout) -> int:
    """Print which chapters are stale and why; always exit 0 (``make stale``)."""
    found = stale(paths, layout)
    for path, why in found.items():
        print(f"{path.name}: stale")
        for line in why:
            print(f"    {line}")
    fresh = len(paths) - len(found)
    print(f"stale: {len(found)} of {len(paths)} chapter(s) stale, {fresh} fresh")
    return 0


def check(paths, layout: Layout) -> int:
    """Fail when a chapter's stored outputs are stale or unfit (see the module docstring)."""
    src = freshness.setup_cell_source(layout)
    n = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for p in freshness.problems(nb, path.name, layout, src):
            print(f"STALE: {path.name}: {p}")
            n += 1
    print(f"freshness: {len(paths)} notebook(s) checked, {n} problem(s)")
    return 1 if n else 0


# --- running a chapter ---------------------------------------------------------------------


def run_notebook(nb, cwd: Path, timeout: int, kernel_name: str = KERNEL) -> tuple[dict, float]:
    """Execute every cell of ``nb`` in place, then the stamp snippet in the same kernel.

    Returns what the kernel reported (see :func:`freshness.kernel_snippet`) and the seconds
    the cells took. The snippet's cell is never added to the notebook."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel_name, resources={"metadata": {"path": str(cwd)}}
    )
    t0 = time.perf_counter()
    with client.setup_kernel():
        reply = client.wait_for_reply(client.kc.kernel_info())
        if reply and "language_info" in reply["content"]:
            nb.metadata["language_info"] = reply["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        seconds = time.perf_counter() - t0
        probe = nbformat.v4.new_code_cell(freshness.kernel_snippet())
        nb.cells.append(probe)  # nbclient stores a cell back at its index, so it must have one
        try:
            client.execute_cell(probe, len(nb.cells) - 1, store_history=False)
        finally:
            nb.cells.pop()
        client.set_widgets_metadata()
    return freshness.parse_snippet_outputs(probe.outputs), seconds


def _run(path: Path, timeout: int, kernel_name: str):
    """Read and execute one chapter in the full profile; ``None`` (after saying why) on failure."""
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    try:
        kernel, seconds = run_notebook(nb, path.parent, timeout, kernel_name)
    except (CellExecutionError, DeadKernelError, TimeoutError, RuntimeError) as e:
        lines = str(e).strip().splitlines()
        print(f"  FAILED: {path.name}: {lines[-1] if lines else type(e).__name__}", flush=True)
        # keep what ran (outputs up to the failing cell) for inspection; never over the chapter
        partial = Path(tempfile.gettempdir()) / f"{path.stem}.failed.ipynb"
        nbformat.write(nb, partial)
        print(f"  partly executed notebook: {partial}", flush=True)
        return None
    drop_widget_outputs(nb)
    return nb, kernel, seconds


def make_stamp(nb_on_disk, kernel: dict, seconds: float, layout: Layout) -> dict:
    stamp = {"stamp_version": freshness.STAMP_VERSION, **kernel}
    stamp.update(freshness.tool_fields(layout))
    stamp.update(
        {
            "code_sha256": code_hash(nb_on_disk),
            "outputs_sha256": outputs_hash(nb_on_disk),
            "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(seconds, 1),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        }
    )
    return stamp


def execute(paths, layout: Layout, timeout: int, kernel_name: str = KERNEL) -> int:
    os.environ["MGN_PROFILE"] = "full"
    failed = 0
    for path in paths:
        print(f"executing {path.name} (profile full) ...", flush=True)
        done = _run(path, timeout, kernel_name)
        if done is None:
            failed += 1
            continue
        nb, kernel, seconds = done
        nb.metadata.pop("mgn", None)
        # Hash the outputs of the notebook exactly as it will be read back from disk.
        on_disk = nbformat.reads(nbformat.writes(nb), as_version=4)
        nb.metadata["mgn"] = make_stamp(on_disk, kernel, seconds, layout)
        nbformat.write(nb, path)
        if outputs_hash(nbformat.read(path, as_version=4)) != nb.metadata["mgn"]["outputs_sha256"]:
            raise RuntimeError(f"{path}: the outputs read back differ from those stamped")
        print(f"  done in {seconds:.1f} s on {kernel.get('device')}", flush=True)
    return 1 if failed else 0


def _stored_duration(path: Path) -> float:
    stamp = nbformat.read(path, as_version=4).metadata.get("mgn") or {}
    return float(stamp.get("duration_s") or 0.0)


def execute_parallel(paths, layout: Layout, timeout: int, kernel_name: str, jobs: int) -> int:
    """Execute ``paths`` with ``jobs`` chapters at once, each in its own process (longest stored
    run first, so the lanes end together). Each chapter's lines are printed when it ends."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    order = sorted(paths, key=_stored_duration, reverse=True)
    script = Path(__file__).resolve()

    def one(path: Path):
        cmd = [sys.executable, str(script), "execute", str(path), "--root", str(layout.root)]
        cmd += ["--timeout", str(timeout), "--kernel", kernel_name]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        return path, done.returncode, done.stdout + done.stderr, time.perf_counter() - t0

    failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for path, rc, text, seconds in pool.map(one, order):
            print(f"--- {path.name}: exit {rc} after {seconds:.0f} s\n{text.rstrip()}", flush=True)
            failed += rc != 0
    print(f"execute: {len(order)} chapter(s), {failed} failed")
    return 1 if failed else 0


# --- verify --------------------------------------------------------------------------------


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def compare_results(stored: list[dict], new: list[dict], rtol: float = DEFAULT_RTOL) -> list[dict]:
    """Match recorded results by (experiment, metric, order among equal keys) and judge each.

    A row's ``status`` is OK, DRIFT, MISSING (stored, not recorded by the new run) or EXTRA
    (new, not stored). The tolerance is the result's ``tolerance`` (absolute; the new run's
    if it states one, else the stored one's), otherwise ``rtol`` times the stored value."""

    def keyed(entries):
        seen, out = {}, {}
        for e in entries:
            k = (str(e.get("experiment")), str(e.get("metric")))
            seen[k] = seen.get(k, 0) + 1
            out[(*k, seen[k])] = e
        return out

    a, b = keyed(stored), keyed(new)
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        s, n = a.get(key), b.get(key)
        row = {
            "experiment": key[0],
            "metric": key[1],
            "occurrence": key[2],
            "stored": s and s.get("ours"),
            "new": n and n.get("ours"),
            "diff": None,
            "tolerance": None,
            "window": "",
            "status": "",
        }
        if s is None or n is None:
            row["status"] = "MISSING" if n is None else "EXTRA"
            rows.append(row)
            continue
        stated = next((e["tolerance"] for e in (n, s) if e.get("tolerance") is not None), None)
        x, y = row["stored"], row["new"]
        if stated is not None:
            row["tolerance"], row["window"] = float(stated), "stated"
        elif _finite(x):
            row["tolerance"], row["window"] = (
                rtol * abs(x),
                f"{rtol:.0%} of stored, no stated tolerance",
            )
        if _finite(x) and _finite(y):
            row["diff"] = abs(y - x)
            row["status"] = "OK" if row["diff"] <= row["tolerance"] else "DRIFT"
        else:  # nan or inf (a diverged run) only matches the same
            row["status"] = "OK" if str(x) == str(y) else "DRIFT"
        rows.append(row)
    return rows


def format_rows(rows: list[dict]) -> str:
    header = ["experiment", "metric", "stored", "new", "|diff|", "tolerance", "status"]
    body = []
    for r in rows:
        tol = "—" if r["tolerance"] is None else f"{r['tolerance']:.3g}"
        if r["window"] and r["window"] != "stated":
            tol += f" ({r['window']})"
        name = r["experiment"] + (f" [{r['occurrence']}]" if r["occurrence"] > 1 else "")
        body.append(
            [
                name[:60],
                r["metric"][:24],
                _num(r["stored"]),
                _num(r["new"]),
                _num(r["diff"]),
                tol,
                r["status"],
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
        for line in [header, ["-" * w for w in widths], *body]
    ]
    return "\n".join(lines)


def _num(v) -> str:
    return "—" if v is None else (f"{v:.6g}" if isinstance(v, (int, float)) else str(v))


def verify(paths, layout: Layout, timeout: int, kernel_name: str = KERNEL, workdir=None) -> int:
    """Re-run chapters into ``workdir`` (a new temporary directory by default) and compare."""
    os.environ["MGN_PROFILE"] = "full"
    out_dir = Path(workdir or tempfile.mkdtemp(prefix="mgn-verify-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    bad = 0
    for path in paths:
        stored = freshness.results(nbformat.read(path, as_version=4))
        print(
            f"verifying {path.name} (profile full; the new run goes to {out_dir}) ...", flush=True
        )
        done = _run(path, timeout, kernel_name)
        if done is None:
            bad += 1
            continue
        nb, kernel, seconds = done
        nb.metadata["mgn_verify"] = {"kernel": kernel, "duration_s": round(seconds, 1)}
        nbformat.write(nb, out_dir / path.name)
        rows = compare_results(stored, freshness.results(nb))
        if rows:
            print(format_rows(rows))
        problems = [r for r in rows if r["status"] != "OK"]
        print(
            f"{path.name}: {len(rows)} result(s), {len(problems)} not OK, re-run in {seconds:.0f} "
            f"s\n"
        )
        bad += bool(problems)
    print(f"verify: {len(paths)} chapter(s), {bad} with drift or failure")
    return 1 if bad else 0


# --- timings -------------------------------------------------------------------------------


def smoke_times(paths, out: Path, kernel_name: str = KERNEL) -> int:
    """Run each chapter in the smoke profile (outputs discarded); store the wall times as JSON."""
    import torch
    from nbclient import NotebookClient

    os.environ["MGN_PROFILE"] = "smoke"
    load0 = os.getloadavg()
    rows = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(
            nb,
            timeout=600,
            kernel_name=kernel_name,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        seconds = time.perf_counter() - t0
        rows.append({"chapter": path.stem, "smoke_s": round(seconds, 1)})
        print(f"{path.stem}: smoke profile in {seconds:.1f} s", flush=True)
    machine = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "loadavg_start": load0,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    return 0


# --- command line --------------------------------------------------------------------------


def select(names, layout: Layout) -> list[Path]:
    if not names:
        return chapter_notebooks(layout)
    out = []
    for n in names:
        p = Path(n)
        if not p.suffix:  # a chapter number such as 03
            matches = sorted(layout.chapters.glob(f"{n}_*.ipynb"))
            if not matches:
                raise SystemExit(f"no chapter numbered {n!r} in {layout.chapters}")
            out += matches
        else:
            out.append(p.resolve())
    return out


def main(argv=None) -> int:
    import pages

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "command",
        choices=["execute", "stale", "check", "verify", "sync-url", "pages", "smoke-times"],
    )
    ap.add_argument("notebooks", nargs="*", help="paths or chapter numbers (default: all chapters)")
    ap.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds")
    ap.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    ap.add_argument("--kernel", default=KERNEL, help="kernel name (default: python3)")
    ap.add_argument(
        "--workdir", type=Path, help="verify: where the new runs go (default: a temp dir)"
    )
    ap.add_argument("-j", "--jobs", type=int, default=1, help="execute: chapters run at once")
    ap.add_argument(
        "--all", action="store_true", help="execute: every chapter, not only the stale ones"
    )
    args = ap.parse_args(argv)
    layout = Layout(args.root.resolve())
    paths = select(args.notebooks, layout)
    if args.command == "pages":
        chosen = paths if args.notebooks else toc_chapters(layout)
        return pages.write_pages(chosen, layout, freshness.setup_cell_source(layout))
    if not paths:
        print(f"no chapter notebooks found in {layout.chapters}")
        return 1
    if args.command == "stale":
        return report_stale(paths, layout)
    if args.command == "execute":
        if not args.notebooks and not args.all:
            paths = list(stale(paths, layout))
            print(f"execute: {len(paths)} stale chapter(s): {[p.name for p in paths]}")
        if args.jobs > 1 and len(paths) > 1:
            return execute_parallel(paths, layout, args.timeout, args.kernel, args.jobs)
        return execute(paths, layout, args.timeout, args.kernel)
    if args.command == "verify":
        return verify(paths, layout, args.timeout, args.kernel, args.workdir)
    if args.command == "smoke-times":
        return smoke_times(paths, layout.benchmarks / "smoke_cpu.json", args.kernel)
    if args.command == "sync-url":
        return sync_url(paths, layout)
    return check(paths, layout)


if __name__ == "__main__":
    sys.exit(main())
