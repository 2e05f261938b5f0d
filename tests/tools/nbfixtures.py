"""Helpers for the tests of tools/: a tiny repository in tmp_path (a fake ``mgn_utils``,
checkpoints, requirements, _config.yml, chapters), never the real one."""

import json
import sys
from pathlib import Path

import nbformat

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))

import freshness

URL = "https://github.com/example-org/example-course"

FAKE_PACKAGE = '''
"""A stand-in for mgn_utils in the tools' tests."""
import os

from . import used

__version__ = "9.9.9"
VALUE = float(os.environ.get("MGN_TEST_VALUE", "1.5"))


def provenance():
    return {"device": "cpu", "data": {"toy.npy": "0" * 64}}


def record(experiment, metric, ours, **extra):
    from IPython.display import display

    entry = {"experiment": experiment, "metric": metric, "ours": float(ours),
             "profile": os.environ.get("MGN_PROFILE", "full"), **extra}
    display({"text/plain": f"result | {experiment} | {metric}: {ours}"},
            metadata={"mgn_result": entry}, raw=True)
'''


def result_output(experiment="exp A", metric="err", ours=1.5, profile="full", **extra):
    entry = {
        "experiment": experiment,
        "metric": metric,
        "ours": ours,
        "profile": profile,
        "verdict": "new",
        **extra,
    }
    return nbformat.v4.new_output(
        "display_data",
        data={"text/plain": f"result | {experiment}"},
        metadata={"mgn_result": entry},
    )


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


class Repo:
    """A throw-away checkout: ``layout`` for the tools, helpers to write chapters into it."""

    def __init__(self, root: Path):
        self.root = root
        self.layout = freshness.Layout(root)
        (root / "chapters").mkdir(parents=True)
        (root / "mgn_utils").mkdir()
        (root / "mgn_utils" / "__init__.py").write_text(FAKE_PACKAGE)
        # used.py is imported by __init__; unused.py never is; data/ is package data
        (root / "mgn_utils" / "used.py").write_text("X = 1\n")
        (root / "mgn_utils" / "unused.py").write_text("Y = 1\n")
        (root / "mgn_utils" / "data").mkdir()
        (root / "mgn_utils" / "data" / "table.txt").write_text("1 2 3\n")
        (root / "checkpoints" / "nested").mkdir(parents=True)
        (root / "checkpoints" / "a.pt").write_bytes(b"weights A")
        (root / "checkpoints" / "nested" / "b.pt").write_bytes(b"weights B")
        self.write_manifest("", {"a": {"file": "a.pt", "sha256": "aa", "config": {}}})
        self.write_manifest("nested", {"b": {"file": "b.pt", "sha256": "bb", "config": {}}})
        (root / "requirements.txt").write_text("torch==2.13.0\n")
        (root / "_config.yml").write_text(
            f"title: test\nrepository:\n  url: {URL}\n  branch: main\nlaunch_buttons: {{}}\n"
        )
        (root / "_toc.yml").write_text("root: intro\nchapters:\n  - file: chapters/00_demo\n")

    def write_manifest(self, folder, entries):
        (self.root / "checkpoints" / folder / "MANIFEST.json").write_text(json.dumps(entries))

    def loaded_checkpoints(self):
        """What a chapter that loaded checkpoints ``a`` and ``nested/b`` reports."""
        cp = self.layout.checkpoints
        return {k: freshness.checkpoint_digest(cp, k) for k in ("a", "nested/b")}

    def setup_source(self):
        return freshness.setup_cell_source(self.layout)

    def notebook(self, *code_cells, setup=True, title="Demo chapter"):
        """A notebook: a title, the setup cell, then ``code_cells`` (a source string, or a
        (source, outputs) pair); execution counts 1..N as nbclient gives them."""
        cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nSome text.")]
        if setup:
            cells.append(
                nbformat.v4.new_code_cell(
                    self.setup_source(), metadata={"tags": ["colab-setup", "remove-cell"]}
                )
            )
        for c in code_cells:
            src, outs = (c, []) if isinstance(c, str) else c
            cells.append(nbformat.v4.new_code_cell(src, outputs=list(outs)))
        n = 0
        for c in cells:
            if c.cell_type == "code" and c.source.strip():
                n += 1
                c.execution_count = n
        return nbformat.v4.new_notebook(
            cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
        )

    def kernel_fields(self, **over):
        """What the stamp snippet would report from a kernel that imported this fake package."""
        fields = {
            "python_executable": sys.executable,
            "python": "3.11",
            "profile": "full",
            "torch": "2.13.0",
            "threads": 1,
            "mgn_utils": "9.9.9",
            "mgn_utils_path": str(self.layout.package),
            "mgn_utils_files": self.loaded_files(),
            "mgn_utils_sha256": freshness.digest_of(self.loaded_files()),
            "device": "cpu",
            "data": {},
            "checkpoints": self.loaded_checkpoints(),
            "provenance": "fallback",
        }
        fields.update(over)
        return fields

    def loaded_files(self):
        """What the stamp snippet hashes after ``import mgn_utils`` of the fake package."""
        return freshness.loaded_files_sha256(self.layout.package, ["__init__.py", "used.py"])

    def write_stamped(self, nb, name="00_demo.ipynb", **kernel_over) -> Path:
        """Write ``nb`` with a valid stamp, as ``execute`` would (outputs hashed as on disk)."""
        import nbtools

        path = self.layout.chapters / name
        nbformat.write(nb, path)
        on_disk = nbformat.read(path, as_version=4)
        nb.metadata["mgn"] = nbtools.make_stamp(
            on_disk, self.kernel_fields(**kernel_over), 2.5, self.layout
        )
        nbformat.write(nb, path)
        return path

    def bench(self):
        """benchmarks/results with one file of each kind the performance page reads."""
        d = self.root / "benchmarks" / "results"
        d.mkdir(parents=True, exist_ok=True)
        m = {
            "git_commit": "abc1234",
            "cpu_model": "Test CPU",
            "cpu_count": 2,
            "torch": "2.13.0",
            "threads": 1,
            "device": "cpu",
            "dtype": "float64",
            "loadavg_start": [1.25, 1, 1],
        }
        row = {
            "model": "CMGN",
            "dim": 784,
            "hidden": 256,
            "rank": 256,
            "route": "cholesky",
            "closed_ms": 1.0,
            "autograd_ms": 21.0,
            "ratio": 21.0,
            "max_abs_dlogdet": 4.8e-11,
            "batch": 256,
        }
        target = {"status": "PASS", "ratio": 21.0, "max_abs_dlogdet": 4.8e-11}
        (d / "logdet_cpu.json").write_text(
            json.dumps({"machine": m, "rows": [row], "target": target})
        )
        trow = {
            "chapter": "04",
            "case": "CMGN d=2 | loss",
            "ms_per_step": 2.0,
            "steps_per_s": 500.0,
        }
        (d / "training_cpu.json").write_text(json.dumps({"machine": m, "rows": [trow]}))
        smoke = {
            "machine": {
                "cpu_count": 2,
                "omp_num_threads": "1",
                "loadavg_start": [0.5, 0, 0],
                "measured_at": "2026-01-01T00:00:00+00:00",
            },
            "rows": [{"chapter": "00_demo", "smoke_s": 3.2}],
        }
        (d / "smoke_cpu.json").write_text(json.dumps(smoke))
