"""`execute` and `verify` end to end on a small chapter, in a real kernel (python3 kernelspec
of this environment), with the fake mgn_utils of the test repository first on the path."""

import sys

import freshness
import nbformat
import nbtools
import pytest

CELLS = [
    "import os, mgn_utils\nprint('value', mgn_utils.VALUE, os.environ['MGN_PROFILE'])",
    "",
    (
        "mgn_utils.record('exp A', 'err', mgn_utils.VALUE, tolerance=0.01)\n"
        "mgn_utils.record('exp A', 'err', 2 * mgn_utils.VALUE)"
    ),
    "import ipywidgets\nipywidgets.IntProgress(value=3, max=10)",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """One chapter executed once by ``nbtools.py execute`` (a kernel start takes seconds)."""
    from nbfixtures import Repo

    mp = pytest.MonkeyPatch()
    repo = Repo(tmp_path_factory.mktemp("exe") / "repo")
    mp.setenv("PYTHONPATH", str(repo.root))  # the kernel imports the fake mgn_utils
    mp.setenv("MGN_PROFILE", "smoke")  # execute must override it
    mp.setenv("MGN_TEST_VALUE", "1.5")
    path = repo.layout.chapters / "00_demo.ipynb"
    nb = repo.notebook(*CELLS)
    for c in nb.cells:
        if c.cell_type == "code":
            c.execution_count = None
    nbformat.write(nb, path)
    rc = nbtools.main(["execute", "--root", str(repo.root), "--timeout", "120"])
    yield repo, path, rc
    mp.undo()


def test_execute_stamps_and_passes_check(executed, capsys):
    repo, path, rc = executed
    assert rc == 0
    nb = nbformat.read(path, as_version=4)
    stamp = nb.metadata["mgn"]
    assert set(stamp) >= {
        "stamp_version",
        "profile",
        "executed_at",
        "duration_s",
        "device",
        "data",
        "torch",
        "threads",
        "mgn_utils",
        "mgn_utils_path",
        "mgn_utils_files",
        "mgn_utils_sha256",
        "python",
        "python_executable",
        "provenance",
        "code_sha256",
        "outputs_sha256",
        "checkpoints",
        "requirements_sha256",
        "platform",
        "cpu_count",
    }
    assert stamp["profile"] == "full"
    assert stamp["python_executable"] == sys.executable
    assert stamp["mgn_utils"] == "9.9.9"
    assert stamp["mgn_utils_path"] == str(repo.layout.package)
    assert stamp["mgn_utils_files"] == repo.loaded_files()  # what the kernel loaded, no more
    assert set(stamp["mgn_utils_files"]) == {"__init__.py", "used.py", "data/table.txt"}
    assert stamp["mgn_utils_sha256"] == freshness.digest_of(repo.loaded_files())
    assert stamp["device"] == "cpu" and stamp["data"] == {"toy.npy": "0" * 64}
    assert stamp["provenance"] == "mgn_utils.provenance()"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2, None, 3, 4]
    assert "value 1.5 full" in code[1].outputs[0].text
    assert [r["ours"] for r in freshness.results(nb)] == [1.5, 3.0]
    assert "widgets" not in nb.metadata  # the progress bar's state and view are dropped
    assert all(freshness.WIDGET_MIME not in o.get("data", {}) for c in code for o in c.outputs)
    assert len(nb.cells) == 1 + len(CELLS) + 1  # the stamp snippet left no cell behind
    assert nbtools.main(["check", "--root", str(repo.root)]) == 0, capsys.readouterr().out


def test_verify_unchanged_run_is_ok(executed, tmp_path, capsys):
    repo, path, _ = executed
    before = path.read_bytes()
    rc = nbtools.main(["verify", "--root", str(repo.root), "--workdir", str(tmp_path / "v")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert path.read_bytes() == before  # the committed notebook is never written
    assert (tmp_path / "v" / "00_demo.ipynb").exists()
    rows = [line for line in out.splitlines() if line.startswith("exp A")]
    assert len(rows) == 2 and all(r.endswith("OK") for r in rows), out
    assert "no stated tolerance" in rows[1] and "no stated tolerance" not in rows[0]


def test_verify_reports_drift(executed, tmp_path, capsys, monkeypatch):
    repo, _, _ = executed
    monkeypatch.setenv("MGN_TEST_VALUE", "1.52")  # within 10 % for row 2, not within 0.01 for row 1
    rc = nbtools.main(["verify", "00", "--root", str(repo.root), "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    rows = [line for line in out.splitlines() if line.startswith("exp A")]
    assert rows[0].endswith("DRIFT") and rows[1].endswith("OK"), out


def test_failing_chapter_is_not_written(repo, monkeypatch, capsys):
    monkeypatch.setenv("PYTHONPATH", str(repo.root))
    path = repo.layout.chapters / "00_demo.ipynb"
    nbformat.write(repo.notebook("raise ValueError('boom')"), path)
    before = path.read_bytes()
    assert nbtools.main(["execute", "--root", str(repo.root), "--timeout", "60"]) == 1
    assert path.read_bytes() == before
    assert "FAILED: 00_demo.ipynb" in capsys.readouterr().out
    assert (
        nbtools.main(
            [
                "verify",
                "--root",
                str(repo.root),
                "--timeout",
                "60",
                "--workdir",
                str(repo.root / "v"),
            ]
        )
        == 1
    )


def test_execute_runs_only_stale_chapters_in_parallel(tmp_path, monkeypatch, capsys):
    from nbfixtures import Repo

    repo = Repo(tmp_path / "repo")
    monkeypatch.setenv("PYTHONPATH", str(repo.root))
    fresh = repo.write_stamped(repo.notebook(), "00_demo.ipynb")
    before = fresh.read_bytes()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        nb = repo.notebook("import mgn_utils\nprint(mgn_utils.VALUE)")
        for c in nb.cells:
            if c.cell_type == "code":
                c.execution_count = None
        nbformat.write(nb, repo.layout.chapters / name)
    rc = nbtools.main(["execute", "-j", "2", "--root", str(repo.root), "--timeout", "120"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "2 stale chapter(s): ['01_a.ipynb', '02_b.ipynb']" in out
    assert fresh.read_bytes() == before  # the fresh chapter was not re-run
    assert nbtools.main(["check", "--root", str(repo.root)]) == 0, capsys.readouterr().out
