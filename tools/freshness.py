"""What a chapter's stored outputs depend on, and the check that they are still up to date.

A chapter's stamp (``metadata["mgn"]``, written by ``python tools/nbtools.py execute``) holds
the hashes of everything its stored outputs depend on. Part of it is computed *inside the
kernel that ran the chapter*, right after its last cell, by a snippet that is never stored
(:func:`kernel_snippet`): the interpreter, the ``mgn_utils`` package that was imported (path,
version, SHA-256 of each of its modules the kernel loaded, read from ``sys.modules``: the
package's imports are lazy, so a change to a module a chapter never imports leaves it fresh),
torch's version, the device, the data files and the checkpoints the chapter actually used
(``mgn_utils.course.env.provenance()``: a checkpoint as the digest of its manifest entry,
which holds the file's SHA-256, so training a model the chapter never loads leaves it fresh)
and the profile. The tool process adds the hashes of the code cells, of ``requirements.txt``
and of the stored outputs themselves, computed on the notebook as written to disk.

:func:`problems` re-computes what it can from the repository as it is now and lists each
mismatch with the command that fixes it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

SETUP_TAG = "colab-setup"
# The setup cell only acts on Colab; the book leaves it out of the page (Colab ignores the tag).
SETUP_HIDE_TAG = "remove-cell"
RESULT_KEY = "mgn_result"  # output metadata written by mgn_utils.course.report.record
OLD_RESULT_MIME = "application/vnd.mgn.result+json"  # the first format, still read
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STAMP_VERSION = 4
SNIPPET_MARKER = "MGN-STAMP:"


@dataclass(frozen=True)
class Layout:
    """Where things are in a checkout; tests point it at a temporary directory."""

    root: Path

    @property
    def chapters(self) -> Path:
        return self.root / "chapters"

    @property
    def package(self) -> Path:
        return self.root / "mgn_utils"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def config(self) -> Path:
        return self.root / "_config.yml"

    @property
    def book(self) -> Path:
        return self.root / "book"

    @property
    def benchmarks(self) -> Path:
        return self.root / "benchmarks" / "results"


# --- the Colab setup cell ----------------------------------------------------------------

# The first code cell of every chapter. ``$url`` is _config.yml's repository url. A failed
# install stops the cell (and "Run all") with a message instead of scrolling past.
SETUP_TEMPLATE = string.Template("""\
# Colab only: install the course's helper package (Colab's own PyTorch is kept).
# A failed install stops here: check the repository url and your connection, then re-run.
import subprocess
import sys

if "google.colab" in sys.modules:
    _url = "git+$url"
    _pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", f"mgn-utils @ {_url}"],
        capture_output=True,
        text=True,
    )
    if _pip.returncode != 0:
        print(_pip.stdout[-3000:], _pip.stderr[-3000:], sep="\\n")
        raise RuntimeError(
            f"installing mgn-utils failed: pip exited with code {_pip.returncode} "
            f"(check the repository url {_url} / your connection)"
        )
    import importlib
    import os

    importlib.invalidate_caches()
    # POT would start JAX, which Colab installs, and JAX takes most of the GPU's memory
    os.environ.setdefault("POT_BACKEND_DISABLE_JAX", "1")""")


def repository_url(layout: Layout) -> str:
    """The repository address, read from ``_config.yml`` (the only place that names it)."""
    text = layout.config.read_text()
    block = re.search(r"^repository:\s*\n((?:[ \t]+.*\n?)+)", text, re.MULTILINE)
    url = block and re.search(r"^\s+url:\s*(\S+)", block.group(1), re.MULTILINE)
    if not url:
        raise SystemExit(f"{layout.config} has no repository: url: entry")
    return url.group(1)


def setup_cell_source(layout: Layout) -> str:
    url = repository_url(layout)
    source = SETUP_TEMPLATE.substitute(url=url)
    if "PLACEHOLDER" in url:  # not published yet: say so on every chapter page
        source = (
            "# Not published yet: this cell and the page's Colab button need the published\n"
            "# repository (set its url in _config.yml, then `make sync-url`).\n" + source
        )
    return source


# --- hashes ------------------------------------------------------------------------------


def loaded_files_sha256(package_dir, modules) -> dict:
    """SHA-256 of each file a kernel's stored outputs depend on inside the package:
    ``{relative path: digest}``.

    ``modules`` are the package-relative paths of the ``.py`` files of the modules the kernel
    loaded (``sys.modules``). A loaded package (an ``__init__.py``) also brings its package
    data: every file in its sub-folders that are not packages themselves (such as the shipped
    benchmark constants), caches excluded. A listed file that no longer exists maps to
    ``None``.

    This function's source is also run inside the kernel (see :func:`kernel_snippet`), so it
    may use nothing but ``hashlib`` and ``pathlib.Path``."""
    import hashlib
    from pathlib import Path

    base = Path(package_dir)
    wanted = set(modules)
    for rel in list(wanted):
        folder = (base / rel).parent
        if not rel.endswith("__init__.py") or not folder.is_dir():
            continue
        for sub in folder.iterdir():
            if not sub.is_dir() or (sub / "__init__.py").exists() or sub.name == "__pycache__":
                continue
            for p in sub.rglob("*"):
                if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc"):
                    wanted.add(p.relative_to(base).as_posix())
    out = {}
    for rel in sorted(wanted):
        path = base / rel
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    return out


def digest_of(files: dict) -> str:
    """One SHA-256 over a ``{relative path: digest}`` mapping (the stamp's summary field)."""
    text = json.dumps(files, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def tree_sha256(directory: Path) -> str:
    """SHA-256 over every file under ``directory`` (relative path and content, sorted by path).
    A missing directory hashes like an empty one."""
    h = hashlib.sha256()
    if directory.is_dir():
        for p in sorted(directory.rglob("*"), key=lambda q: q.relative_to(directory).as_posix()):
            if p.is_file():
                data = p.read_bytes()
                h.update(f"{p.relative_to(directory).as_posix()}\0{len(data)}\0".encode())
                h.update(data)
    return h.hexdigest()


def checkpoint_digest(checkpoints: Path, key: str) -> str | None:
    """The digest of checkpoint ``key`` (``"FOLDER/NAME"`` or ``"NAME"``) as it is now: SHA-256
    of its manifest entry as canonical JSON (as ``mgn_utils.course.checkpoints.entry_digest``),
    or ``None`` when its manifest or entry is gone."""
    folder, _, name = key.rpartition("/")
    manifest = checkpoints / folder / "MANIFEST.json" if folder else checkpoints / "MANIFEST.json"
    try:
        entry = json.loads(manifest.read_text())[name]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return digest_of(entry)


def file_sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def is_setup_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and SETUP_TAG in cell.get("metadata", {}).get("tags", [])


def code_hash(nb) -> str:
    """SHA-256 of the code cells' sources, in order, the Colab setup cell excluded."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_setup_cell(cell):
            h.update(cell.source.strip().encode() + b"\n\x00")
    return h.hexdigest()


def drop_widget_outputs(nb) -> None:
    """Remove live-widget outputs (tqdm progress bars) and the stored widget state: without a
    kernel they render as a frozen "0%" bar. The cells print their own timing lines instead."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.get("outputs", []) if WIDGET_MIME not in o.get("data", {})
            ]


def outputs_hash(nb) -> str:
    """SHA-256 of every code cell's execution count and outputs (canonical JSON), live-widget
    outputs left out. Computed on a notebook read back from disk, so it sees what is stored."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            outs = [o for o in cell.get("outputs", []) if WIDGET_MIME not in o.get("data", {})]
            cells.append([cell.get("execution_count"), outs])
    text = json.dumps(cells, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def results(nb) -> list[dict]:
    """The recorded results (``mgn_result`` output metadata, or the old MIME type) in order."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            entry = o.get("metadata", {}).get(RESULT_KEY) or o.get("data", {}).get(OLD_RESULT_MIME)
            if isinstance(entry, dict):
                out.append(entry)
    return out


# --- the part computed in the kernel -------------------------------------------------------


_SNIPPET = """
def _mgn_stamp():
    import json, os, platform, sys
{loaded_files_sha256}
    # First, before this snippet imports anything: the mgn_utils modules the chapter loaded.
    pkg_mod = sys.modules.get("mgn_utils")
    if pkg_mod is None:
        import mgn_utils as pkg_mod
    pkg = os.path.dirname(os.path.abspath(pkg_mod.__file__))
    loaded = set()
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if (name == "mgn_utils" or name.startswith("mgn_utils.")) and path:
            rel = os.path.relpath(os.path.abspath(path), pkg)
            if not rel.startswith(".."):
                loaded.add(rel.replace(os.sep, "/"))
    info = {{"python_executable": sys.executable, "python": platform.python_version(),
             "profile": os.environ.get("MGN_PROFILE", "full").strip().lower() or "full"}}
    try:
        import torch
        info["torch"], info["threads"] = torch.__version__, torch.get_num_threads()
        cuda = torch.cuda.is_available()
    except ImportError:
        info["torch"], info["threads"], cuda = None, None, False
    info["mgn_utils"] = getattr(pkg_mod, "__version__", None)
    info["mgn_utils_path"] = pkg
    files = loaded_files_sha256(pkg, sorted(loaded))
    info["mgn_utils_files"] = files
    info["mgn_utils_sha256"] = __import__("hashlib").sha256(
        json.dumps(files, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    prov, source = None, "fallback"
    env_mod = sys.modules.get("mgn_utils.course.env")
    for fn, label in ((getattr(env_mod, "provenance", None), "mgn_utils.course.env.provenance()"),
                      (getattr(pkg_mod, "provenance", None), "mgn_utils.provenance()")):
        if callable(fn):
            prov, source = fn(), label
            break
    if not isinstance(prov, dict):
        prov, source = {{"device": "cuda" if cuda else "cpu", "data": {{}}}}, "fallback"
    info["device"] = str(prov.get("device") or ("cuda" if cuda else "cpu"))
    info["data"] = {{str(k): str(v) for k, v in dict(prov.get("data") or {{}}).items()}}
    cps = dict(prov.get("checkpoints") or {{}})
    info["checkpoints"] = {{str(k): str(v) for k, v in cps.items()}}
    info["provenance"] = source
    print({marker!r} + json.dumps(info, sort_keys=True))

_mgn_stamp()
del _mgn_stamp
"""


def kernel_snippet() -> str:
    """Code run in the chapter's kernel after its last cell; prints one ``MGN-STAMP:`` JSON line."""
    src = inspect.getsource(loaded_files_sha256)
    body = "\n".join("    " + line if line.strip() else "" for line in src.splitlines())
    return _SNIPPET.format(loaded_files_sha256=body, marker=SNIPPET_MARKER).strip() + "\n"


def parse_snippet_outputs(outputs) -> dict:
    """The JSON the snippet printed, or an error naming what the kernel said instead."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    for line in text.splitlines():
        if line.startswith(SNIPPET_MARKER):
            return json.loads(line[len(SNIPPET_MARKER) :])
    errors = [
        f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"
    ]
    raise RuntimeError(f"the stamp snippet printed no stamp ({'; '.join(errors) or text[-500:]!r})")


def tool_fields(layout: Layout) -> dict:
    """The stamp fields the tool process computes from the checkout."""
    return {"requirements_sha256": file_sha256(layout.requirements)}


# --- the check -----------------------------------------------------------------------------


def problems(nb, name: str, layout: Layout, setup_source: str | None) -> list[str]:
    """Everything that makes a chapter's stored outputs stale or unfit, one line each.

    ``setup_source`` is the Colab setup cell the chapter must start with (``None``: only its
    presence is checked)."""
    chapter = name[:2] if name[:2].isdigit() else name
    rerun = f"run `make execute CHAPTER={chapter}`"
    out = []
    setup = [c for c in nb.cells if is_setup_cell(c)]
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(setup) != 1 or not code or code[0] is not setup[0]:
        out.append(
            f"the first code cell must be the one cell tagged {SETUP_TAG!r} (edit the notebook)"
        )
    elif setup_source is not None and setup[0].source != setup_source:
        out.append(
            "Colab setup cell differs from _config.yml's repository url (run `make sync-url`)"
        )
    if len(setup) == 1 and SETUP_HIDE_TAG not in setup[0].metadata.get("tags", []):
        out.append(
            f"the Colab setup cell must also be tagged {SETUP_HIDE_TAG!r}, so the book leaves it "
            "out (run `make sync-url`)"
        )

    # What the outputs themselves show, stamp or not.
    unrun = [
        i
        for i, c in enumerate(code)
        if not is_setup_cell(c) and c.source.strip() and c.get("execution_count") is None
    ]
    if unrun:
        out.append(f"code cells without stored outputs: {unrun[:5]} ({rerun})")
    ran = [
        c
        for c in code
        if c.source.strip() and not (is_setup_cell(c) and c.get("execution_count") is None)
    ]
    counts = [c.get("execution_count") for c in ran]
    if counts != list(range(1, len(ran) + 1)):
        shown = counts if len(counts) <= 8 else counts[:8] + ["..."]
        out.append(
            f"execution counts are {shown}, not 1..{len(ran)} in order: the outputs do not come "
            f"from one top-to-bottom run ({rerun})"
        )
    errors = [
        (i, o.get("ename", "?"))
        for i, c in enumerate(code)
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    if errors:
        out.append(
            f"error output stored in code cell(s) {[i for i, _ in errors][:5]} "
            f"({', '.join(sorted({e for _, e in errors}))}) ({rerun})"
        )
    widgets = sum(WIDGET_MIME in o.get("data", {}) for c in code for o in c.get("outputs", []))
    if "widgets" in nb.metadata or widgets:
        what = "notebook metadata 'widgets'" if "widgets" in nb.metadata else ""
        what += (" and " if what and widgets else "") + (
            f"{widgets} widget-view output(s)" if widgets else ""
        )
        out.append(f"stored widget state ({what}) ({rerun})")
    if any(OLD_RESULT_MIME in o.get("data", {}) for c in code for o in c.get("outputs", [])):
        out.append(f"results stored in the old output format ({rerun})")
    smoke = sorted(
        {str(r.get("profile")) for r in results(nb) if r.get("profile", "full") != "full"}
    )
    if smoke:
        out.append(f"recorded results come from profile {', '.join(smoke)}, not 'full' ({rerun})")

    stamp = nb.metadata.get("mgn")
    if not stamp:
        return out + [f"no execution stamp ({rerun})"]
    if stamp.get("stamp_version") != STAMP_VERSION:
        out.append(
            f"stamp version {stamp.get('stamp_version', 1)}, not {STAMP_VERSION}: it does not "
            f"cover "
            f"what the outputs depend on ({rerun})"
        )
    if stamp.get("profile") != "full":
        out.append(
            f"stored outputs come from profile {stamp.get('profile')!r}, not 'full' ({rerun})"
        )
    now = {
        "code_sha256": (code_hash(nb), "the code cells changed"),
        **{
            k: (v, what)
            for (k, v), what in zip(tool_fields(layout).items(), ("requirements.txt changed",))
        },
        "outputs_sha256": (outputs_hash(nb), "the stored outputs were edited, cleared or replaced"),
    }
    for key, (value, what) in now.items():
        if key not in stamp:
            continue  # reported once, as the stamp version, above
        if stamp[key] != value:
            out.append(f"{what} since the stored outputs were made ({key} differs) ({rerun})")
    for key, digest in sorted(dict(stamp.get("checkpoints") or {}).items()):
        now_digest = checkpoint_digest(layout.checkpoints, key)
        if now_digest != digest:
            what = "is gone" if now_digest is None else "changed (weights or manifest entry)"
            out.append(f"checkpoint {key} {what} since the stored outputs were made ({rerun})")
    changed = package_changes(stamp, layout)
    if changed:
        more = f" and {len(changed) - 6} more" if len(changed) > 6 else ""
        shown = ", ".join(changed[:6]) + more
        out.append(
            f"mgn_utils modules the chapter loaded changed since the stored outputs were made: "
            f"{shown} ({rerun})"
        )
    return out


def package_changes(stamp: dict, layout: Layout) -> list[str]:
    """The package files a stamp covers that differ now, each as ``"path (changed)"`` or
    ``"path (removed)"``. A stamp without ``mgn_utils_files`` (an older version) yields none:
    its version is reported instead."""
    stored = stamp.get("mgn_utils_files")
    if not isinstance(stored, dict):
        return []
    modules = [rel for rel in stored if rel.endswith(".py")]
    now = loaded_files_sha256(layout.package, modules)
    out = []
    for rel in sorted(set(stored) | set(now)):
        old, new = stored.get(rel), now.get(rel)
        if old == new:
            continue
        out.append(f"mgn_utils/{rel} ({'removed' if new is None else 'changed' if old else 'new'})")
    return out
