"""Maintenance of the chapter notebooks: execute and stamp, check freshness, sync the Colab cell.

    python tools/nbtools.py execute [NOTEBOOK ...]   run in the full profile, store outputs, stamp
    python tools/nbtools.py check                    fail if a chapter's stored outputs are stale
    python tools/nbtools.py sync-url                 rewrite every Colab setup cell from _config.yml
    python tools/nbtools.py pages                    write book/results.md, status.md, performance.md
    python tools/nbtools.py smoke-times              time every chapter in the smoke profile (benchmarks/results)

A stamp lives in ``metadata["mgn"]`` of each notebook: the SHA-256 of its code cells (the
Colab setup cell excluded, since it only changes with the repository address), the profile,
device, library versions, date and duration of the run that produced the stored outputs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
SETUP_TAG = "colab-setup"
SETUP_TEMPLATE = '''# Colab only: install the course's helper package. Colab's own PyTorch is kept.
import sys
if "google.colab" in sys.modules:
    %pip install -q "mgn-utils @ git+{url}"'''


def repository_url() -> str:
    """The repository address, read from ``_config.yml`` (the only place that names it)."""
    text = (ROOT / "_config.yml").read_text()
    block = re.search(r"^repository:\s*\n((?:[ \t]+.*\n?)+)", text, re.M)
    url = block and re.search(r"^\s+url:\s*(\S+)", block.group(1), re.M)
    if not url:
        raise SystemExit("_config.yml has no repository: url: entry")
    return url.group(1)


def setup_cell_source() -> str:
    return SETUP_TEMPLATE.format(url=repository_url())


def chapter_notebooks() -> list[Path]:
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def toc_chapters() -> list[Path]:
    """The chapter notebooks listed in ``_toc.yml``, in book order."""
    names = re.findall(r"file:\s*(chapters/[\w.-]+)", (ROOT / "_toc.yml").read_text())
    return [ROOT / (n if n.endswith(".ipynb") else n + ".ipynb") for n in names]


def code_hash(nb) -> str:
    """SHA-256 of the code cells' sources, in order, the Colab setup cell excluded."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and SETUP_TAG not in cell.metadata.get("tags", []):
            h.update(cell.source.strip().encode() + b"\n\x00")
    return h.hexdigest()


def _setup_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and SETUP_TAG in c.metadata.get("tags", [])]


def sync_url(paths) -> int:
    src = setup_cell_source()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        cells = _setup_cells(nb)
        if len(cells) != 1:
            print(f"{path.name}: expected exactly one code cell tagged {SETUP_TAG!r}, found {len(cells)}")
            return 1
        if cells[0].source != src:
            cells[0].source = src
            nbformat.write(nb, path)
            print(f"{path.name}: setup cell updated")
    return 0


def check(paths) -> int:
    """Every chapter: one up-to-date Colab cell, a full-profile stamp matching its code, outputs."""
    problems = []
    src = setup_cell_source()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        name = path.name
        cells = _setup_cells(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if len(cells) != 1 or not code or code[0] is not cells[0]:
            problems.append(f"{name}: the first code cell must be the one cell tagged {SETUP_TAG!r}")
        elif cells[0].source != src:
            problems.append(f"{name}: Colab setup cell differs from _config.yml's repository url (run `make sync-url`)")
        stamp = nb.metadata.get("mgn")
        if not stamp:
            problems.append(f"{name}: no execution stamp (run `make execute CHAPTER={name[:2]}`)")
            continue
        if stamp.get("code_sha256") != code_hash(nb):
            problems.append(f"{name}: code changed since its stored outputs were made (run `make execute CHAPTER={name[:2]}`)")
        if stamp.get("profile") != "full":
            problems.append(f"{name}: stored outputs come from profile {stamp.get('profile')!r}, not 'full'")
        if any(OLD_RESULT_MIME in o.get("data", {}) for c in code for o in c.get("outputs", [])):
            problems.append(f"{name}: results stored in the old output format (run `make execute CHAPTER={name[:2]}`)")
        unrun = [i for i, c in enumerate(code) if c is not cells[0] and c.source.strip() and c.execution_count is None]
        if unrun:
            problems.append(f"{name}: code cells without stored outputs: {unrun[:5]}")
    for p in problems:
        print("STALE:", p)
    print(f"freshness: {len(paths)} notebook(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def _drop_widget_outputs(nb) -> None:
    """Remove live-widget outputs (tqdm progress bars): without a kernel they render as a
    frozen "0%" bar. The cells print their own timing lines instead."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]


def execute(paths, timeout: int) -> int:
    import torch
    from nbclient import NotebookClient

    import mgn_utils

    os.environ["MGN_PROFILE"] = "full"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device += f" ({torch.cuda.get_device_name(0)})"
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        print(f"executing {path.name} (profile full, {device}) ...", flush=True)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - t0
        _drop_widget_outputs(nb)
        nb.metadata["mgn"] = {
            "code_sha256": code_hash(nb),
            "profile": "full",
            "device": device,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "mgn_utils": mgn_utils.__version__,
            "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(seconds, 1),
        }
        nbformat.write(nb, path)
        print(f"  done in {seconds:.1f} s", flush=True)
    return 0


def smoke_times(paths, out: Path) -> int:
    """Run each chapter in the smoke profile (outputs discarded) and store the wall times as JSON."""
    import torch
    from nbclient import NotebookClient

    os.environ["MGN_PROFILE"] = "smoke"
    load0 = os.getloadavg()
    rows = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - t0
        rows.append({"chapter": path.stem, "smoke_s": round(seconds, 1)})
        print(f"{path.stem}: smoke profile in {seconds:.1f} s", flush=True)
    machine = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
               "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "loadavg_start": load0,
               "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    return 0


RESULT_KEY = "mgn_result"  # output metadata written by mgn_utils.report.record
OLD_RESULT_MIME = "application/vnd.mgn.result+json"  # the first format, still read


def _title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return "(untitled)"


def _fmt(v) -> str:
    if v is None:
        return "—"
    return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_pages(paths) -> int:
    """Generate book/results.md and book/status.md from the stored outputs and stamps."""
    sections, status, n_rows = [], [], 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        stamp = nb.metadata.get("mgn", {})
        fresh = bool(stamp) and stamp.get("code_sha256") == code_hash(nb)
        link = f"[{path.stem[:2]}](/chapters/{path.stem})"
        status.append(f"| {link} {_cell(_title(nb))} | {stamp.get('executed_at', '—')} | {stamp.get('profile', '—')} "
                      f"| {_cell(stamp.get('device', '—'))} | {stamp.get('torch', '—')} | {stamp.get('mgn_utils', '—')} "
                      f"| {_fmt(stamp.get('duration_s'))} | {'yes' if fresh else '**no**'} |")
        rows, notes = [], []
        for cell in nb.cells:
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                entry = out.get("metadata", {}).get(RESULT_KEY) or out.get("data", {}).get(OLD_RESULT_MIME)
                if entry:
                    k = len(rows) + 1
                    source = _fmt(entry.get("source")) + (f" ({entry['source_ref']})" if entry.get("source_ref") else "")
                    rows.append(f"| {k} | {_cell(entry['experiment'])} | {_cell(entry['metric'])} | {_cell(source)} "
                                f"| {_fmt(entry['ours'])} | {_cell(entry['verdict'])} |")
                    parts = [p for p in (entry.get("definition"), entry.get("note")) if p]
                    if entry.get("profile", "full") != "full":
                        parts.append(f"profile {entry['profile']}")
                    if parts:
                        text = "; ".join(str(p).replace("\n", " ") for p in parts)
                        if notes and notes[-1][1] == text:
                            notes[-1][0].append(k)  # same note as the row before: list them together
                        else:
                            notes.append(([k], text))
        if rows:
            n_rows += len(rows)
            sections += [f"## {link} {_title(nb)}\n",
                         f"Stored full run of {stamp.get('executed_at', '—')} on {stamp.get('device', '—')}.\n",
                         "| # | experiment | metric | source | ours | verdict |", "| --- | --- | --- | --- | --- | --- |",
                         *rows, ""]
            if notes:
                sections += ["Definitions and notes, by row number:\n",
                             *(f"- **{ks[0]}**: {t}" if len(ks) == 1 else f"- **{ks[0]}–{ks[-1]}**: {t}"
                               for ks, t in notes), ""]
    header = "<!-- Generated by `python tools/nbtools.py pages` from the chapters' stored outputs. Do not edit. -->\n\n"
    results = [header + "# Results\n",
               "Every number the course reproduces, read from the stored outputs of each chapter's last full run, "
               "one table per chapter. *Source* is the value the original write-up reports and where; *verdict* "
               "compares ours with it (\"matches\" within the tolerance the chapter states; \"new\" when the source "
               "gives no number). Each table is followed by the definition of each metric and the reason behind "
               "each verdict, numbered like the rows.\n"]
    results += sections if sections else ["No chapter has recorded a result yet."]
    (ROOT / "book" / "results.md").write_text("\n".join(results) + "\n")
    (ROOT / "book" / "status.md").write_text("\n".join([
        header + "# Execution status\n",
        "When and where each chapter's stored outputs were produced (`make execute`), read from the stamp in "
        "each notebook's metadata. *Fresh* means the chapter's code has not changed since that run.\n",
        "| chapter | last run (UTC) | profile | device | torch | mgn_utils | duration (s) | fresh |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |", *status]) + "\n")
    write_performance(header, paths)
    print(f"pages: book/results.md ({n_rows} results), book/status.md ({len(status)} chapters), book/performance.md")
    return 0


def write_performance(header: str, paths) -> None:
    """book/performance.md: benchmark tables (benchmarks/results/*.json) and chapter run times."""
    out = [header + "# Performance\n",
           "Speed is measured by the scripts in `benchmarks/` as ratios of two methods timed side by side in "
           "one process (interleaved, median of repeats), never by timing asserts in the tests. Each table says "
           "the machine, the commit and the load it ran under.\n"]
    for path in sorted((ROOT / "benchmarks" / "results").glob("logdet_*.json")):
        data = json.loads(path.read_text())
        m, t = data["machine"], data.get("target", {})
        out += [f"## Log-determinant of the Jacobian: closed form vs autograd (`{path.name}`)\n",
                f"Forward and backward of `model.logdet_jacobian(x).mean()` (closed form: matrix-determinant lemma "
                f"when the hidden rank is below the dimension, else Cholesky of the closed-form Jacobian) against "
                f"`slogdet(vmap(jacrev(model))(x))`, batch {data['rows'][0]['batch']}, {m['dtype']}, "
                f"{m['threads']} thread(s) on {m['cpu_count']} CPU cores ({m['cpu_model']}, {m['device']}), "
                f"torch {m['torch']}, commit {m['git_commit']}; load average {m['loadavg_start'][0]:.1f} at the start "
                f"(absolute times are inflated by other work, ratios much less). Made by `python {path.parent.parent.name}/logdet.py`.\n",
                "| model | d | hidden | rank | route | closed (ms) | autograd (ms) | speed-up | max abs. log-det difference |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in data["rows"]:
            out.append(f"| {r['model']} | {r['dim']} | {r['hidden']} | {r['rank']} | {r['route']} | {r['closed_ms']:.1f} "
                       f"| {r['autograd_ms']:.1f} | {r['ratio']:.1f}× | {r['max_abs_dlogdet']:.1e} |")
        if t:
            out.append(f"\nTarget (C-MGN, d = 784, hidden 256: at least 15× faster, log-det error at most 1e-8): "
                       f"**{t['status']}**, {t['ratio']:.1f}× with error {t['max_abs_dlogdet']:.1e}.\n")
    for path in sorted((ROOT / "benchmarks" / "results").glob("training_*.json")):
        data = json.loads(path.read_text())
        m = data["machine"]
        out += [f"## Training steps per second (`{path.name}`)\n",
                f"One optimiser step (forward, backward, Adam) of the kind each chapter trains, at its sizes, timed "
                f"round-robin in one process and reported as the median: {m['threads']} thread(s) on {m['cpu_count']} "
                f"CPU cores ({m['cpu_model']}, {m['device']}), torch {m['torch']}, commit {m['git_commit']}; load "
                f"average {m['loadavg_start'][0]:.1f} at the start. Made by `python benchmarks/training_speed.py`.\n",
                "| chapter | training step | ms per step | steps per second |", "| --- | --- | --- | --- |"]
        for r in data["rows"]:
            out.append(f"| {r['chapter']} | {_cell(r['case'])} | {r['ms_per_step']:.1f} | {r['steps_per_s']:.1f} |")
        out.append("")
    out += ["## Chapter run times\n",
            "Wall time of the last full-profile run of each chapter (`make execute`), from the notebooks' stamps; "
            "see {doc}`status` for the rest of the stamp.\n",
            "| chapter | device | full profile (s) | smoke profile (s) |", "| --- | --- | --- | --- |"]
    smoke_file = ROOT / "benchmarks" / "results" / "smoke_cpu.json"
    smoke = json.loads(smoke_file.read_text()) if smoke_file.exists() else {"rows": [], "machine": {}}
    smoke_s = {r["chapter"]: r["smoke_s"] for r in smoke["rows"]}
    for path in paths:
        stamp = nbformat.read(path, as_version=4).metadata.get("mgn", {})
        out.append(f"| {path.stem} | {_cell(stamp.get('device', '—'))} | {_fmt(stamp.get('duration_s'))} "
                   f"| {_fmt(smoke_s.get(path.stem))} |")
    if smoke["rows"]:
        m = smoke["machine"]
        out.append(f"\nSmoke times: `python tools/nbtools.py smoke-times` on {m['cpu_count']} CPU cores, "
                   f"OMP_NUM_THREADS={m['omp_num_threads']}, load average {m['loadavg_start'][0]:.1f} at the start, "
                   f"{m['measured_at']}; one notebook at a time (CI runs them on two workers). No GPU was available "
                   f"for these runs.")
    (ROOT / "book" / "performance.md").write_text("\n".join(out) + "\n")


def _select(names):
    if not names:
        return chapter_notebooks()
    out = []
    for n in names:
        p = Path(n)
        if not p.suffix:  # a chapter number such as 03
            matches = sorted(CHAPTERS.glob(f"{n}_*.ipynb"))
            if not matches:
                raise SystemExit(f"no chapter numbered {n!r} in {CHAPTERS}")
            out += matches
        else:
            out.append(p.resolve())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["execute", "check", "sync-url", "pages", "smoke-times"])
    ap.add_argument("notebooks", nargs="*", help="paths or chapter numbers (default: all chapters)")
    ap.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds (execute)")
    args = ap.parse_args(argv)
    paths = _select(args.notebooks)
    if not paths:
        print("no chapter notebooks found in chapters/")
        return 1
    if args.command == "execute":
        return execute(paths, args.timeout)
    if args.command == "smoke-times":
        return smoke_times(paths, ROOT / "benchmarks" / "results" / "smoke_cpu.json")
    if args.command == "sync-url":
        return sync_url(paths)
    if args.command == "pages":
        return write_pages(_select(args.notebooks) if args.notebooks else toc_chapters())
    return check(paths)


if __name__ == "__main__":
    sys.exit(main())
