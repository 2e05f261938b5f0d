"""The course's comparison helper: paired differences with a standard error and a verdict."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mgn_utils.course.report import Comparison, compare, record


def test_two_samples_from_one_distribution_are_within_noise():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 20), rng.normal(1.0, 0.1, 20)
    for kwargs in ({}, {"paired": False}, {"method": "bootstrap"}):
        c = compare(a, b, **kwargs)
        assert c.verdict == "within noise", kwargs
        assert c.interval[0] < 0 < c.interval[1]


def test_false_alarm_rate_is_about_one_minus_the_level():
    rng = np.random.default_rng(1)
    alarms = sum(
        compare(rng.normal(size=8), rng.normal(size=8)).verdict != "within noise"
        for _ in range(400)
    )
    assert 8 <= alarms <= 36  # 5 % of 400 = 20; binomial sd 4.4


def test_a_clear_shift_is_better_or_worse_by_direction():
    rng = np.random.default_rng(2)
    b = rng.normal(1.0, 0.1, 10)
    a = b - 0.5 + rng.normal(0, 0.01, 10)
    low = compare(a, b)
    assert low.verdict == "better" and low.difference == pytest.approx(-0.5, abs=0.02)
    assert compare(a, b, better="higher").verdict == "worse"
    assert compare(b, a).verdict == "worse"
    assert low.n == 10 and low.seeds == "10 paired" and low.method == "paired t"


def test_pairing_removes_shared_noise():
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 1.0, 10)  # seed effect, large
    a, b = shared + 0.1, shared + rng.normal(0, 0.01, 10)
    assert compare(a, b, paired=False).verdict == "within noise"
    assert compare(a, b).verdict == "worse"


def test_standard_error_and_interval_match_the_t_formula():
    from scipy import stats

    a, b = np.array([1.0, 2.0, 4.0, 3.0]), np.array([0.5, 1.0, 2.5, 2.0])
    d = a - b
    c = compare(a, b)
    se = d.std(ddof=1) / 2
    assert c.se == pytest.approx(se)
    half = stats.t.ppf(0.975, 3) * se
    assert c.interval == pytest.approx((d.mean() - half, d.mean() + half))
    assert (c.mean_a, c.mean_b) == pytest.approx((2.5, 1.5))


def test_fixed_reference_with_its_standard_error():
    a = [10.0, 10.2, 9.9, 10.1, 10.05]
    assert compare(a, 10.0).verdict == "within noise"
    assert compare(a, 9.0).verdict == "worse"
    assert compare(a, 9.0, b_se=1.0).verdict == "within noise"
    assert "fixed value" in compare(a, 9.0).method


def test_tensors_and_text():
    c = compare(torch.tensor([1.0, 1.1, 0.9]), torch.tensor([2.0, 2.1, 1.9]))
    assert isinstance(c, Comparison) and c.verdict == "better"
    assert c.text(".2f").endswith("(95% interval [-1.00, -1.00], 3 paired): better")
    assert str(c) == c.text()


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([1.0], [2.0]), {}, "at least 2 values"),
        (([1.0, 2.0], [1.0, 2.0, 3.0]), {}, "equal length"),
        (([1.0, float("nan")], [1.0, 2.0]), {}, "NaN"),
        (([1.0, 2.0], [1.0, 2.0]), {"better": "up"}, "better"),
        (([1.0, 2.0], [1.0, 2.0]), {"level": 1.5}, "level"),
        (([1.0, 2.0], [1.0, 2.0]), {"method": "z"}, "method"),
        (([1.0, 2.0], [1.0, 2.0]), {"b_se": 0.1}, "fixed reference"),
        ((["x", "y"], [1.0, 2.0]), {}, "sequence of numbers"),
    ],
)
def test_bad_input_is_refused(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        compare(*args, **kwargs)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-100, 100), min_size=2, max_size=12),
    st.floats(-50, 50),
    st.floats(-50, 50),
)
def test_verdict_flips_with_the_order_and_ignores_a_common_shift(xs, gap, shift):
    a = np.array(xs)
    b = a + gap + np.linspace(0, 1, len(a))
    c1, c2 = compare(a, b), compare(b, a)
    flip = {"better": "worse", "worse": "better", "within noise": "within noise"}
    assert c2.verdict == flip[c1.verdict]
    assert c1.difference == pytest.approx(-c2.difference, abs=1e-9)
    c3 = compare(a + shift, b + shift)
    assert c3.difference == pytest.approx(c1.difference, abs=1e-6)
    lo, hi = c1.interval
    assert lo <= c1.difference <= hi


def test_record_takes_the_comparison():
    c = compare([10.0, 10.2, 9.9, 10.1, 10.05], 10.0)
    e = record("toy", "dB", 10.05, source=10.0, comparison=c)
    assert e["verdict"] == "matches" and e["n_seeds"] == 5 and e["spread"] == c.se
    assert e["tolerance"] == pytest.approx((c.interval[1] - c.interval[0]) / 2)
    e = record("toy", "dB", 10.05, source=9.0, comparison=compare([10.0, 10.2, 9.9], 9.0))
    assert e["verdict"] == "worse"
    with pytest.raises(ValueError, match="source"):
        record("toy", "dB", 1.0, comparison=c)
