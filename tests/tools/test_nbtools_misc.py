"""verify's comparison, sync-url, the kernel snippet and the book pages (no kernel needed)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import freshness
import nbformat
import nbtools
import pages
import pytest
from nbfixtures import URL, result_output, stream

REAL_ROOT = Path(__file__).resolve().parents[2]


def _e(ours, experiment="exp", metric="m", **kw):
    return {"experiment": experiment, "metric": metric, "ours": ours, **kw}


# --- verify ------------------------------------------------------------------------------


def test_compare_stated_tolerance_is_absolute():
    rows = nbtools.compare_results([_e(1.0, tolerance=0.05)], [_e(1.04)])
    assert rows[0]["status"] == "OK" and rows[0]["window"] == "stated"
    assert rows[0]["diff"] == pytest.approx(0.04) and rows[0]["tolerance"] == 0.05
    assert nbtools.compare_results([_e(1.0, tolerance=0.05)], [_e(1.06)])[0]["status"] == "DRIFT"
    # the new run's stated tolerance wins over the stored one
    assert (
        nbtools.compare_results([_e(1.0, tolerance=0.5)], [_e(1.2, tolerance=0.1)])[0]["status"]
        == "DRIFT"
    )


def test_compare_default_window_is_ten_percent_of_stored():
    ok, drift = nbtools.compare_results([_e(10.0), _e(10.0, "b")], [_e(10.9), _e(11.1, "b")])
    assert ok["status"] == "OK" and drift["status"] == "DRIFT"
    assert ok["tolerance"] == pytest.approx(1.0) and "no stated tolerance" in ok["window"]
    assert nbtools.compare_results([_e(-2.0)], [_e(-2.1)])[0]["status"] == "OK"


def test_compare_matches_by_experiment_metric_and_order():
    stored = [_e(1.0, "a"), _e(5.0, "a"), _e(2.0, "a", "other"), _e(3.0, "gone")]
    new = [_e(2.0, "a", "other"), _e(1.0, "a"), _e(5.0, "a"), _e(7.0, "added")]
    rows = nbtools.compare_results(stored, new)
    status = {(r["experiment"], r["metric"], r["occurrence"]): r["status"] for r in rows}
    assert status == {
        ("a", "m", 1): "OK",
        ("a", "m", 2): "OK",
        ("a", "other", 1): "OK",
        ("gone", "m", 1): "MISSING",
        ("added", "m", 1): "EXTRA",
    }


def test_compare_non_finite_values():
    nan, inf = float("nan"), math.inf
    assert nbtools.compare_results([_e(nan)], [_e(nan)])[0]["status"] == "OK"
    assert nbtools.compare_results([_e(nan)], [_e(1.0)])[0]["status"] == "DRIFT"
    assert nbtools.compare_results([_e(1.0)], [_e(inf)])[0]["status"] == "DRIFT"
    assert nbtools.compare_results([], []) == []


def test_format_rows_shows_every_column():
    rows = nbtools.compare_results(
        [_e(1.0, tolerance=0.1), _e(2.0), _e(3.0, "x")], [_e(1.5), _e(2.0), _e(3.0, "y")]
    )
    text = nbtools.format_rows(rows)
    lines = text.splitlines()
    assert lines[0].split() == [
        "experiment",
        "metric",
        "stored",
        "new",
        "|diff|",
        "tolerance",
        "status",
    ]
    assert lines[2].endswith("DRIFT") and "0.5" in lines[2] and "0.1" in lines[2]
    assert "exp [2]" in lines[3] and "10% of stored, no stated tolerance" in lines[3]
    assert lines[4].endswith("MISSING") and lines[5].endswith("EXTRA") and "—" in lines[5]


# --- the kernel snippet --------------------------------------------------------------------


def test_snippet_runs_and_reports_the_package(repo, tmp_path):
    """The snippet in a plain interpreter: same package hash as the tool computes."""
    script = tmp_path / "snippet.py"
    script.write_text(freshness.kernel_snippet())
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(repo.root), "MGN_PROFILE": "Smoke"},
    ).stdout
    info = freshness.parse_snippet_outputs([{"output_type": "stream", "text": out}])
    assert info["mgn_utils_files"] == repo.loaded_files()
    assert info["profile"] == "smoke" and info["data"] == {"toy.npy": "0" * 64}


def test_snippet_fallback_without_provenance(repo, tmp_path):
    init = repo.layout.package / "__init__.py"
    init.write_text(init.read_text().replace("def provenance", "def _no_provenance"))
    script = tmp_path / "snippet.py"
    script.write_text(freshness.kernel_snippet())
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(repo.root)},
    ).stdout
    info = json.loads(out.split(freshness.SNIPPET_MARKER, 1)[1])
    assert info["provenance"] == "fallback" and info["device"] in ("cpu", "cuda")
    assert info["data"] == {} and info["profile"] == "full"


def test_parse_snippet_outputs_without_stamp():
    err = {"output_type": "error", "ename": "ImportError", "evalue": "no mgn_utils"}
    with pytest.raises(RuntimeError, match="ImportError: no mgn_utils"):
        freshness.parse_snippet_outputs([err])


# --- sync-url ------------------------------------------------------------------------------


def test_sync_url_rewrites_the_setup_cell(repo, capsys):
    nb = repo.notebook("x = 1")
    nb.cells[1].source = '%pip install -q "mgn-utils @ git+https://github.com/old/place"'
    nb.cells[1].metadata["tags"] = ["colab-setup"]
    path = repo.layout.chapters / "00_demo.ipynb"
    nbformat.write(nb, path)
    assert nbtools.main(["sync-url", "--root", str(repo.root)]) == 0
    assert "00_demo.ipynb: setup cell updated" in capsys.readouterr().out
    src = nbformat.read(path, as_version=4).cells[1].source
    assert src == repo.setup_source() and f"git+{URL}" in src and "%pip" not in src
    tags = nbformat.read(path, as_version=4).cells[1].metadata["tags"]
    assert tags == ["colab-setup", "remove-cell"]  # the book leaves the cell out
    before = path.read_bytes()
    assert nbtools.main(["sync-url", "--root", str(repo.root)]) == 0  # nothing left to do
    assert path.read_bytes() == before and capsys.readouterr().out == ""


def test_sync_url_needs_exactly_one_setup_cell(repo, capsys):
    nbformat.write(repo.notebook("x = 1", setup=False), repo.layout.chapters / "00_demo.ipynb")
    assert nbtools.main(["sync-url", "--root", str(repo.root)]) == 1
    assert "found 0" in capsys.readouterr().out


def _run_setup_cell(source, *, colab, returncode):
    """Execute the setup cell with subprocess.run faked (and google.colab faked when asked)."""
    calls = []

    class Done:
        stdout, stderr = "out", "ERROR: could not find repository"

    def fake_run(cmd, **kw):
        calls.append(cmd)
        done = Done()
        done.returncode = returncode
        return done

    saved = sys.modules.get("google.colab")
    if colab:
        sys.modules["google.colab"] = object()
    try:
        import subprocess as sp

        real, sp.run = sp.run, fake_run
        try:
            exec(compile(source, "setup-cell", "exec"), {})  # noqa: S102 - the cell under test
        finally:
            sp.run = real
    finally:
        if colab:
            del sys.modules["google.colab"]
        if saved is not None:
            sys.modules["google.colab"] = saved
    return calls


def test_setup_cell_stops_on_a_failed_install(repo, capsys):
    src = repo.setup_source()
    assert _run_setup_cell(src, colab=False, returncode=1) == []  # outside Colab: nothing
    calls = _run_setup_cell(src, colab=True, returncode=0)
    assert calls[0][:4] == [sys.executable, "-m", "pip", "install"]
    assert calls[0][-1] == f"mgn-utils @ git+{URL}"
    with pytest.raises(
        RuntimeError,
        match=r"installing mgn-utils failed: pip exited with code 1 "
        r"\(check the repository url .* / your connection\)",
    ):
        _run_setup_cell(src, colab=True, returncode=1)
    assert "could not find repository" in capsys.readouterr().out


# --- pages ---------------------------------------------------------------------------------


def test_pages_from_fixture_chapters(repo, capsys):
    repo.bench()
    nb = repo.notebook(
        ("print(1)", [stream("1\n")]),
        (
            "r()",
            [
                result_output(
                    "exp A",
                    "W2",
                    0.25,
                    spread=0.01,
                    tolerance=0.05,
                    definition="W2 | squared",
                    note="",
                    source=0.3,
                    source_ref="T1",
                ),
                result_output("exp B", "W2", 0.5, definition="W2 | squared"),
                result_output("exp C", "time", 2.0, profile="smoke", note="fast"),
            ],
        ),
    )
    repo.write_stamped(nb)
    other = repo.notebook(("print(2)", [stream("2\n")]), title="Second")
    nbformat.write(other, repo.layout.chapters / "01_second.ipynb")
    assert nbtools.main(["pages", "--root", str(repo.root)]) == 0  # the chapters of _toc.yml
    results = (repo.layout.book / "results.md").read_text()
    assert "| # | experiment | metric | source | ours | spread | tolerance | verdict |" in results
    assert "| 1 | exp A | W2 | 0.3 (T1) | 0.25 | 0.01 | 0.05 | new |" in results
    assert "| 2 | exp B | W2 | — | 0.5 | — | — | new |" in results
    assert "- **1–2**: W2 \\| squared" not in results  # notes are list items, not table cells
    assert "- **1–2**: W2 | squared" in results and "- **3**: fast; profile smoke" in results
    assert "## [00](/chapters/00_demo) Demo chapter" in results
    assert "{{" not in results and "{%" not in results

    assert nbtools.main(["pages", "00", "01", "--root", str(repo.root)]) == 0
    status = (repo.layout.book / "status.md").read_text()
    assert "| [00](/chapters/00_demo) Demo chapter |" in status
    assert "| 2.5 | **no** |" in status  # the smoke result makes chapter 00 stale
    assert "- [01](/chapters/01_second): no execution stamp" in status
    assert "Second" not in (repo.layout.book / "results.md").read_text()  # no results: no section
    perf = (repo.layout.book / "performance.md").read_text()
    assert "| CMGN | 784 | 256 | 256 | cholesky | 1.0 | 21.0 | 21.0× | 4.8e-11 |" in perf
    assert "**PASS**, 21.0× with error 4.8e-11" in perf and "load average 1.2" in perf
    assert "| 04 | CMGN d=2 \\| loss | 2.0 | 500.0 |" in perf
    assert "| 00_demo | cpu | 2.5 | 3.2 |" in perf and "OMP_NUM_THREADS=1" in perf
    assert "pages: book/results.md (3 results)" in capsys.readouterr().out


def test_pages_without_results_or_benchmarks(repo):
    nbformat.write(repo.notebook("x = 1", title="Only"), repo.layout.chapters / "00_demo.ipynb")
    notebooks = [(repo.layout.chapters / "00_demo.ipynb", repo.notebook("x = 1"))]
    text, n = pages.results_page(notebooks)
    assert n == 0 and "No chapter has recorded a result yet." in text
    perf = pages.performance_page(notebooks, repo.layout)
    assert (
        "## Chapter run times" in perf
        and "Smoke times" not in perf
        and "Log-determinant" not in perf
    )
    assert pages.title(nbformat.v4.new_notebook()) == "(untitled)"
    assert pages.fmt(None) == "—" and pages.fmt(True) == "True" and pages.fmt(0.123456) == "0.1235"


def test_templates_render_with_the_real_benchmark_results():
    """The real benchmarks/results/*.json fill the performance template (read only)."""
    layout = freshness.Layout(REAL_ROOT)
    if not layout.benchmarks.is_dir():
        pytest.skip("no benchmarks/results in this checkout")
    text = pages.performance_page([], layout)
    assert text.startswith("<!-- Generated by") and "{{" not in text
