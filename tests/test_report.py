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


def test_a_single_seed_row_is_compared_not_hidden():
    # worse is worse: one run several times worse than the source is said so
    assert record("toy", "MSE", 5.0, source=1.0, n_seeds=1)["verdict"] == "worse (one seed)"
    assert record("toy", "MSE", 0.5, source=1.0, n_seeds=1)["verdict"] == "better (one seed)"
    hi = record("toy", "acc", 0.5, source=0.9, n_seeds=1, better="higher")
    assert hi["verdict"] == "worse (one seed)" and hi["tolerance"] is None
    assert record("toy", "MSE", 5.0, source=1.0, n_seeds=1, comparable=False)["verdict"] == (
        "not comparable"
    )


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


def test_record_stores_the_device_of_the_tensor_or_model(monkeypatch):
    import torch

    from mgn_utils.course import env

    monkeypatch.setitem(env._USED, "device", "cuda")  # chosen, but the result is on the cpu
    monkeypatch.setitem(env._USED, "computed_on", set())
    model = torch.nn.Linear(2, 2)
    assert record("toy", "MSE", 0.5, device=model)["device"] == "cpu"
    assert record("toy", "MSE", 0.5, device=torch.zeros(3))["device"] == "cpu"
    assert env._USED["computed_on"] == {"cpu"}  # noted for the chapter's provenance
    assert env.provenance()["device"] == "cpu"
    with pytest.raises(TypeError, match="tensor, a torch.nn.Module"):
        record("toy", "MSE", 0.5, device=3)


def test_device_of():
    import torch

    from mgn_utils.course.report import device_of

    assert device_of(torch.device("cpu")) == "cpu" and device_of("cpu") == "cpu"
    assert device_of(torch.nn.ReLU()) == "cpu"  # no parameters
    assert device_of(torch.nn.BatchNorm1d(2).requires_grad_(False)) == "cpu"
    with pytest.raises(ValueError, match="name a torch device"):
        device_of("not a device")


def test_range_verdict():
    from mgn_utils.course.report import range_verdict

    assert range_verdict([1, 2], [3, 4]) == "below"
    assert range_verdict([3, 4], (1, 2)) == "above"
    assert range_verdict([1, 3], [2, 4]) == "tie"
    assert range_verdict([1, 2], [2, 4]) == "tie"  # touching ranges overlap
    assert range_verdict([0.1], [0.2], words=("better", "worse", "tie")) == "better"
    with pytest.raises(ValueError, match="non-empty"):
        range_verdict([], [1])
    with pytest.raises(ValueError, match="NaN"):
        range_verdict([float("nan")], [1])
    with pytest.raises(ValueError, match="three strings"):
        range_verdict([1], [2], words=("a", "b"))
