import pytest

from mgn_utils.course.report import RESULT_KEY, record, verdict


def test_verdict():
    assert verdict(1.0, None) == "new"
    assert verdict(1.05, 1.0) == "matches"
    assert verdict(0.5, 1.0, better="lower") == "better"
    assert verdict(0.5, 1.0, better="higher") == "worse"
    assert verdict(float("nan"), 1.0) == "failed"
    with pytest.raises(ValueError, match="better"):
        verdict(1.0, 1.0, better="up")


def test_record_returns_the_stored_entry(capsys):
    entry = record("toy", "MSE", 0.5, source=0.25, source_ref="paper, Table 1", profile="smoke", device="cpu")
    assert entry["verdict"] == "worse" and entry["source_ref"] == "paper, Table 1" and RESULT_KEY == "mgn_result"
