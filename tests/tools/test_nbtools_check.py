"""`nbtools.py check`: every way stored outputs go stale makes it fail; a fresh chapter passes."""

import freshness
import nbformat
import nbtools
import pytest
from nbfixtures import result_output, stream


def _check(repo, capsys):
    rc = nbtools.main(["check", "--root", str(repo.root)])
    out = capsys.readouterr().out
    return rc, [line for line in out.splitlines() if line.startswith("STALE:")]


def _chapter(repo, *extra):
    return repo.notebook(
        ("import mgn_utils\nprint(mgn_utils.VALUE)", [stream("1.5\n")]),
        ("mgn_utils.record('exp A', 'err', 1.5)", [result_output()]),
        *extra,
    )


@pytest.fixture
def stamped(repo):
    return repo.write_stamped(_chapter(repo))


def test_unchanged_stamped_notebook_passes(repo, stamped, capsys):
    rc, stale = _check(repo, capsys)
    assert (rc, stale) == (0, [])


def _only(stale, text):
    assert stale, "check found nothing"
    assert any(text in line for line in stale), stale
    assert all("(run `make " in line or "(edit the notebook)" in line for line in stale), stale


def test_changed_loaded_module_fails(repo, stamped, capsys):
    (repo.layout.package / "used.py").write_text("X = 2  # a changed default\n")
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, "mgn_utils/used.py (changed)")
    assert "make execute CHAPTER=00" in stale[0]


def test_removed_loaded_module_fails(repo, stamped, capsys):
    (repo.layout.package / "used.py").unlink()
    _only(_check(repo, capsys)[1], "mgn_utils/used.py (removed)")


def test_changed_package_data_fails(repo, stamped, capsys):
    (repo.layout.package / "data" / "table.txt").write_text("1 2 4\n")
    _only(_check(repo, capsys)[1], "mgn_utils/data/table.txt (changed)")
    (repo.layout.package / "data" / "new.txt").write_text("")
    _only(_check(repo, capsys)[1], "mgn_utils/data/new.txt (new)")


def test_module_the_chapter_did_not_load_does_not_stale_it(repo, stamped, capsys):
    (repo.layout.package / "unused.py").write_text("Y = 2\n")
    (repo.layout.package / "extra.py").write_text("")
    assert _check(repo, capsys) == (0, [])


def test_pycache_is_not_a_source(repo, stamped, capsys):
    (repo.layout.package / "__pycache__").mkdir()
    (repo.layout.package / "__pycache__" / "x.py").write_text("junk")
    assert _check(repo, capsys) == (0, [])


def test_hand_edited_output_fails(repo, stamped, capsys):
    nb = nbformat.read(stamped, as_version=4)
    nb.cells[2].outputs[0].text = "1.4\n"
    nbformat.write(nb, stamped)
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, "stored outputs were edited")


def test_hand_edited_recorded_result_fails(repo, stamped, capsys):
    nb = nbformat.read(stamped, as_version=4)
    nb.cells[3].outputs[0].metadata["mgn_result"]["ours"] = 0.5
    nbformat.write(nb, stamped)
    _only(_check(repo, capsys)[1], "outputs_sha256 differs")


def test_cleared_outputs_fail(repo, stamped, capsys):
    nb = nbformat.read(stamped, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(nb, stamped)
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, "code cells without stored outputs")
    _only(stale, "stored outputs were edited, cleared or replaced")


def test_smoke_profile_result_fails(repo, capsys):
    nb = _chapter(repo, ("record()", [result_output("exp B", profile="smoke")]))
    repo.write_stamped(nb)  # even a consistent stamp over a smoke run
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, "recorded results come from profile smoke, not 'full'")


def test_smoke_profile_kernel_fails(repo, capsys):
    repo.write_stamped(_chapter(repo), profile="smoke")
    _only(_check(repo, capsys)[1], "from profile 'smoke', not 'full'")


def test_swapped_checkpoint_fails(repo, stamped, capsys):
    # new weights come with a new manifest entry (their sha256): the loaded checkpoint changed
    repo.write_manifest("nested", {"b": {"file": "b.pt", "sha256": "cc", "config": {}}})
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, "checkpoint nested/b changed")


def test_renamed_checkpoint_fails(repo, stamped, capsys):
    repo.write_manifest("", {"c": {"file": "c.pt", "sha256": "aa", "config": {}}})
    _only(_check(repo, capsys)[1], "checkpoint a is gone")


def test_a_checkpoint_the_chapter_did_not_load_leaves_it_fresh(repo, stamped, capsys):
    (repo.layout.checkpoints / "other").mkdir()
    repo.write_manifest("other", {"z": {"file": "z.pt", "sha256": "zz", "config": {}}})
    (repo.layout.checkpoints / "nested" / "unrelated.bin").write_bytes(b"x")
    assert _check(repo, capsys)[0] == 0


def test_changed_requirements_fail(repo, stamped, capsys):
    repo.layout.requirements.write_text("torch==2.14.0\n")
    _only(_check(repo, capsys)[1], "requirements.txt changed")


def test_changed_code_fails(repo, stamped, capsys):
    nb = nbformat.read(stamped, as_version=4)
    nb.cells[2].source += "\nprint('more')"
    nbformat.write(nb, stamped)
    _only(_check(repo, capsys)[1], "the code cells changed")


@pytest.mark.parametrize("counts", [[1, 3, 4], [2, 3, 4], [1, 2, 2], [3, 2, 1]])
def test_bad_execution_counts_fail(repo, capsys, counts):
    nb = _chapter(repo)
    for c, n in zip([c for c in nb.cells if c.cell_type == "code"], counts):
        c.execution_count = n
    repo.write_stamped(nb)
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, f"execution counts are {counts}, not 1..3 in order")


def test_unexecuted_setup_cell_and_empty_cells_are_skipped(repo, capsys):
    nb = _chapter(repo, "   ")
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[0].execution_count, code[1].execution_count, code[2].execution_count = None, 1, 2
    code[3].execution_count = None
    repo.write_stamped(nb)
    assert _check(repo, capsys) == (0, [])


def test_error_output_fails(repo, capsys):
    err = nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["..."])
    repo.write_stamped(_chapter(repo, ("raise ValueError('boom')", [err])))
    rc, stale = _check(repo, capsys)
    assert rc == 1
    _only(stale, "error output stored in code cell(s) [3] (ValueError)")


def test_widget_state_fails(repo, capsys):
    nb = _chapter(repo)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    repo.write_stamped(nb)
    _only(_check(repo, capsys)[1], "stored widget state (notebook metadata 'widgets')")


def test_widget_view_output_fails(repo, capsys):
    view = nbformat.v4.new_output(
        "display_data", data={freshness.WIDGET_MIME: {"model_id": "x"}, "text/plain": "bar"}
    )
    repo.write_stamped(_chapter(repo, ("tqdm()", [view])))
    _only(_check(repo, capsys)[1], "1 widget-view output(s)")


def test_old_result_format_fails(repo, capsys):
    old = nbformat.v4.new_output("display_data", data={freshness.OLD_RESULT_MIME: {"ours": 1}})
    repo.write_stamped(_chapter(repo, ("old()", [old])))
    _only(_check(repo, capsys)[1], "results stored in the old output format")


def test_no_stamp_fails(repo, capsys):
    nbformat.write(_chapter(repo), repo.layout.chapters / "00_demo.ipynb")
    _only(_check(repo, capsys)[1], "no execution stamp")


def test_old_stamp_fails(repo, capsys):
    nb = _chapter(repo)
    nb.metadata["mgn"] = {"code_sha256": freshness.code_hash(nb), "profile": "full"}
    nbformat.write(nb, repo.layout.chapters / "00_demo.ipynb")
    rc, stale = _check(repo, capsys)
    assert rc == 1 and len(stale) == 1
    _only(stale, f"stamp version 1, not {freshness.STAMP_VERSION}")


def test_setup_cell_rules(repo, capsys):
    nb = _chapter(repo)
    nb.cells[1].source = nb.cells[1].source.replace("example-org", "old-org")
    repo.write_stamped(nb, "00_demo.ipynb")
    nb = _chapter(repo)
    nb.cells[1], nb.cells[2] = nb.cells[2], nb.cells[1]
    repo.write_stamped(nb, "01_other.ipynb")
    rc, stale = _check(repo, capsys)
    assert rc == 1
    assert any(
        "00_demo.ipynb: Colab setup cell differs" in s and "make sync-url" in s for s in stale
    )
    assert any(
        "01_other.ipynb: the first code cell must be the one cell tagged" in s for s in stale
    )


def test_setup_cell_must_be_left_out_of_the_book(repo, capsys):
    nb = _chapter(repo)
    nb.cells[1].metadata["tags"] = ["colab-setup"]
    repo.write_stamped(nb, "00_demo.ipynb")
    rc, stale = _check(repo, capsys)
    assert rc == 1
    assert any("also be tagged 'remove-cell'" in s and "make sync-url" in s for s in stale)


def test_check_selects_chapters_by_number(repo, stamped, capsys):
    nbformat.write(_chapter(repo), repo.layout.chapters / "01_unstamped.ipynb")
    assert nbtools.main(["check", "00", "--root", str(repo.root)]) == 0
    assert nbtools.main(["check", str(stamped), "--root", str(repo.root)]) == 0
    assert nbtools.main(["check", "--root", str(repo.root)]) == 1
    with pytest.raises(SystemExit, match="no chapter numbered '07'"):
        nbtools.main(["check", "07", "--root", str(repo.root)])


def test_no_chapters(tmp_path, capsys):
    (tmp_path / "chapters").mkdir()
    assert nbtools.main(["check", "--root", str(tmp_path)]) == 1
    assert "no chapter notebooks found" in capsys.readouterr().out


def test_config_without_url(repo):
    repo.layout.config.write_text("title: x\n")
    with pytest.raises(SystemExit, match="no repository: url: entry"):
        freshness.setup_cell_source(repo.layout)


def test_hashes_are_canonical(repo):
    nb = _chapter(repo)
    again = nbformat.reads(nbformat.writes(nb), as_version=4)
    assert freshness.outputs_hash(nb) == freshness.outputs_hash(again)
    (repo.root / "empty").mkdir()
    assert freshness.tree_sha256(repo.root / "missing") == freshness.tree_sha256(
        repo.root / "empty"
    )
    assert freshness.file_sha256(repo.root / "missing.txt") is None
    before = freshness.code_hash(nb)
    nb.cells[1].source = "# another setup cell"
    assert freshness.code_hash(nb) == before  # the setup cell is not part of the code hash


def test_stale_says_which_chapters_and_why(repo, stamped, capsys):
    assert nbtools.main(["stale", "--root", str(repo.root)]) == 0
    assert "0 of 1 chapter(s) stale" in capsys.readouterr().out
    (repo.layout.package / "used.py").write_text("X = 3\n")
    assert nbtools.main(["stale", "--root", str(repo.root)]) == 0  # a report, not a check
    out = capsys.readouterr().out
    assert "00_demo.ipynb: stale" in out and "mgn_utils/used.py (changed)" in out
    assert "1 of 1 chapter(s) stale" in out
