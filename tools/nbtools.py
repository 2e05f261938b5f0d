"""Maintenance of the chapter notebooks: execute and stamp, check freshness, sync the Colab cell.

    python tools/nbtools.py execute [NOTEBOOK ...]   run in the full profile, store outputs, stamp
    python tools/nbtools.py check                    fail if a chapter's stored outputs are stale
    python tools/nbtools.py sync-url                 rewrite every Colab setup cell from _config.yml

A stamp lives in ``metadata["mgn"]`` of each notebook: the SHA-256 of its code cells (the
Colab setup cell excluded, since it only changes with the repository address), the profile,
device, library versions, date and duration of the run that produced the stored outputs.
"""
from __future__ import annotations

import argparse
import hashlib
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
        NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
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
    ap.add_argument("command", choices=["execute", "check", "sync-url"])
    ap.add_argument("notebooks", nargs="*", help="paths or chapter numbers (default: all chapters)")
    ap.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds (execute)")
    args = ap.parse_args(argv)
    paths = _select(args.notebooks)
    if not paths:
        print("no chapter notebooks found in chapters/")
        return 1
    if args.command == "execute":
        return execute(paths, args.timeout)
    if args.command == "sync-url":
        return sync_url(paths)
    return check(paths)


if __name__ == "__main__":
    sys.exit(main())
