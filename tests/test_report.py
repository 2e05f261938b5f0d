import pytest

from mgn_utils.course.report import RESULT_KEY, record, tolerance_from_spread, verdict


def test_verdict_needs_a_tolerance_against_a_source():
    assert verdict(1.0, None) == "new"
    assert verdict(1.05, 1.0, tolerance=0.1) == "matches"
    assert verdict(1.05, 1.0, tolerance=0.01) == "worse"
    assert verdict(0.5, 1.0, better="lower", tolerance=0.1) == "better"
    assert verdict(0.5, 1.0, better="higher", tolerance=0.1) == "worse"
    assert verdict(float("nan"), 1.0) == "failed"
    with pytest.raises(ValueError, match="better"):
        verdict(1.0, 1.0, better="up")
    with pytest.raises(ValueError, match="spread"):
        verdict(1.0, 1.1)


def test_tolerance_comes_from_the_spreads():
    assert tolerance_from_spread(0.3, 0.4) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        tolerance_from_spread(-1.0)


def test_record_returns_the_stored_entry():
    entry = record(
        "toy",
        "MSE",
        0.5,
        source=0.25,
        source_ref="paper, Table 1",
        spread=0.05,
        n_seeds=5,
        profile="smoke",
        device="cpu",
    )
    assert entry["verdict"] == "worse" and entry["source_ref"] == "paper, Table 1"
    assert entry["tolerance"] == pytest.approx(0.1) and entry["n_seeds"] == 5
    assert RESULT_KEY == "mgn_result"
    assert record("toy", "MSE", 0.3, source=0.25, spread=0.05)["verdict"] == "matches"


def test_record_without_a_spread():
    assert record("toy", "MSE", 0.5)["verdict"] == "new"
    assert record("toy", "MSE", 0.5, source=1.0, comparable=False)["verdict"] == "not comparable"
    with pytest.raises(ValueError, match="spread"):
        record("toy", "MSE", 0.5, source=1.0)


def test_record_stores_the_device_the_notebook_used(monkeypatch):
    from mgn_utils.course import env

    monkeypatch.setitem(env._USED, "device", "cpu")
    assert record("toy", "MSE", 0.5)["device"] == "cpu"


def test_record_output_is_invisible_unless_shown(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda b, **kw: shown.append((b, kw)))
    record("e", "m", 1.0, profile="full", device="cpu")
    record("e", "m", 1.0, profile="full", device="cpu", show=True)
    (hidden, kw), (visible, _) = shown
    assert hidden == {"text/html": "", "text/plain": ""} and kw["metadata"][RESULT_KEY]["ours"] == 1
    assert visible["text/plain"].startswith("result | e | m")
