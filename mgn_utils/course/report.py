"""Record a reproduced number in a chapter, for the book's results page.

``record(...)`` stores one result in the metadata of a small output (key ``mgn_result``)
that carries no visible text, so the reader's page shows only the chapter's own table or
sentence; ``tools/nbtools.py pages`` collects the entries of every chapter's stored full run and
writes ``book/results.md``: the table is never typed by hand.

Verdicts follow the course's rules for comparisons: the tolerance comes from the measured
spread of our number (and of the source's, when it is a sample estimate), so "matches",
"better" and "worse" need a ``spread``. A single run (``n_seeds=1``) without a spread is still
compared: "worse (one seed)" or "better (one seed)", never hidden as "not comparable", which
is only for a source whose metric or set-up differs (``comparable=False``); "new" has no source.
:func:`range_verdict` states the course's rule for two sets of runs: different only when their
ranges over seeds do not overlap. :func:`compare` is the course's one helper for paired
results (per seed, per draw, per point): the mean difference with a standard error and an
interval, the count, and "better" / "worse" / "within noise".
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

__all__ = [
    "record",
    "RESULT_KEY",
    "verdict",
    "tolerance_from_spread",
    "device_of",
    "range_verdict",
    "compare",
    "Comparison",
]

RESULT_KEY = "mgn_result"
VERDICTS = (
    "matches",
    "better",
    "worse",
    "better (one seed)",
    "worse (one seed)",
    "matches (one seed)",
    "new",
    "not comparable",
    "failed",
)


def tolerance_from_spread(spread: float, source_spread: float = 0.0, k: float = 2.0) -> float:
    """The verdict's window: ``k · sqrt(spread² + source_spread²)`` (``k = 2`` by default).

    ``spread`` is the standard deviation (or half-range) of our number over seeds or
    evaluation resamples; ``source_spread`` the same for the source's number when known.
    """
    if not (spread >= 0 and source_spread >= 0 and k > 0):
        raise ValueError(f"spreads must be >= 0 and k > 0, got {spread}, {source_spread}, {k}")
    return k * math.hypot(spread, source_spread)


def verdict(
    ours: float, source: float | None, better: str = "lower", tolerance: float | None = None
) -> str:
    """``"matches"`` when ``|ours − source| <= tolerance``, else ``"better"``/``"worse"``
    (``better``: ``"lower"`` or ``"higher"``); ``"new"`` without a source; ``"failed"`` for a
    non-finite number. A comparison needs a ``tolerance`` (derived from the spread)."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if source is None:
        return "new"
    if not math.isfinite(ours):
        return "failed"
    if tolerance is None:
        raise ValueError(
            "a verdict against a source needs a tolerance from the measured spread "
            "(pass spread=..., or comparable=False when the metrics differ)"
        )
    if abs(ours - source) <= tolerance:
        return "matches"
    return "better" if (ours < source) == (better == "lower") else "worse"


def device_of(obj) -> str:
    """The device a result was computed on, as a string such as ``"cpu"`` or ``"cuda:0"``.

    ``obj`` is a ``torch.Tensor`` (its device), a ``torch.nn.Module`` (the device of its first
    parameter or buffer; ``"cpu"`` when it has none), a ``torch.device`` or a string naming one.

    Raises
    ------
    TypeError
        For anything else.
    ValueError
        For a string that names no device.
    """
    import torch

    if isinstance(obj, torch.Tensor):
        return str(obj.device)
    if isinstance(obj, torch.nn.Module):
        t = next(iter(obj.parameters()), None)
        if t is None:
            t = next(iter(obj.buffers()), None)
        return "cpu" if t is None else str(t.device)
    if isinstance(obj, torch.device):
        return str(obj)
    if isinstance(obj, str):
        try:
            return str(torch.device(obj))
        except RuntimeError:
            raise ValueError(
                f"device must name a torch device such as 'cpu' or 'cuda:0', got {obj!r}"
            ) from None
    raise TypeError(
        "device must be a tensor, a torch.nn.Module, a torch.device or a device name, "
        f"got {type(obj).__name__}"
    )


def range_verdict(a, b, words=("below", "above", "tie")) -> str:
    """Compare two sets of values by their ranges: ``words[0]`` when every value of ``a`` lies
    below every value of ``b`` (``max(a) < min(b)``), ``words[1]`` when every one lies above
    (``min(a) > max(b)``), else ``words[2]``: the ranges overlap.

    The course calls two results different only when their ranges over seeds (or draws) do not
    overlap. ``a`` and ``b`` are non-empty sequences of numbers (lists, arrays or tensors, e.g.
    one value per seed), or ``(min, max)`` pairs; ``words`` names the three outcomes, e.g.
    ``("better", "worse", "tie")`` for a score where lower is better.

    Raises
    ------
    ValueError
        For an empty sequence, a NaN value, or ``words`` that are not three strings.
    """
    if len(words) != 3 or not all(isinstance(w, str) for w in words):
        raise ValueError(f"words must be three strings (below, above, tie), got {words!r}")
    a, b = [float(v) for v in a], [float(v) for v in b]
    if not a or not b:
        raise ValueError("range_verdict needs two non-empty sequences of numbers")
    if any(math.isnan(v) for v in a + b):
        raise ValueError("range_verdict got a NaN value")
    if max(a) < min(b):
        return words[0]
    return words[1] if min(a) > max(b) else words[2]


COMPARE_VERDICTS = ("better", "worse", "within noise")


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: ``difference = mean(a − b)`` with its standard error.

    ``interval`` is the two-sided interval at ``level`` (Student's t, Welch's t or a percentile
    bootstrap, as ``method`` says); ``n`` the number of pairs (or ``(n_a, n_b)`` unpaired);
    ``verdict`` is ``"better"`` / ``"worse"`` when the interval excludes 0 (from ``a``'s side,
    with ``better`` saying which direction is good), else ``"within noise"``.
    """

    difference: float
    se: float
    interval: tuple[float, float]
    n: int | tuple[int, int]
    verdict: str
    level: float
    better: str
    method: str
    mean_a: float
    mean_b: float

    @property
    def seeds(self) -> str:
        """The count in words, e.g. ``"5 paired"`` or ``"3 vs 4"``."""
        return f"{self.n} paired" if isinstance(self.n, int) else f"{self.n[0]} vs {self.n[1]}"

    def text(self, fmt: str = ".3g", unit: str = "") -> str:
        """One line for the prose, e.g. ``"−0.012 ± 0.004 (95 % interval [−0.020, −0.004],
        5 paired): better"``; ``unit`` is appended to the numbers (e.g. ``" %"``)."""
        lo, hi = self.interval
        return (
            f"{self.difference:{fmt}}{unit} ± {self.se:{fmt}}{unit} "
            f"({self.level:.0%} interval [{lo:{fmt}}, {hi:{fmt}}]{unit}, {self.seeds}): "
            f"{self.verdict}"
        )

    def __str__(self) -> str:
        return self.text()


def _values(x, name: str):
    import numpy as np

    try:
        v = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(x).__name__}") from None
    if np.isnan(v).any():
        raise ValueError(f"{name} contains NaN; drop or fix the failed runs before comparing")
    return v


def compare(
    a,
    b,
    *,
    better: str = "lower",
    paired: bool = True,
    level: float = 0.95,
    method: str = "t",
    b_se: float = 0.0,
    n_boot: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Compare method A with method B from repeated results, with a standard error.

    Parameters
    ----------
    a, b : sequence of float (list, array or tensor), or ``b`` a float
        One value per seed, per evaluation draw or per point. ``paired=True`` (default):
        ``a[i]`` and ``b[i]`` share seed, draw or points (same length, ≥ 2 pairs) and the
        differences ``a[i] − b[i]`` are compared with 0. ``paired=False``: independent
        samples (≥ 2 each), Welch's standard error ``sqrt(var_a/n_a + var_b/n_b)``. A float
        ``b`` is a fixed reference (a published number) with standard error ``b_se``.
    better : {"lower", "higher"}
        Which direction of the metric is good; the verdict is A's.
    level : float
        Two-sided confidence level of the interval, in (0, 1); 0.95 by default.
    method : {"t", "bootstrap"}
        ``"t"``: mean ± Student-t (Welch for unpaired) quantile × standard error.
        ``"bootstrap"``: percentile interval of ``n_boot`` resamples (of the pairs, or of each
        sample), seeded with ``seed``; ``se`` is the bootstrap standard deviation.

    Returns
    -------
    Comparison
        ``difference = mean(a) − mean(b)``, ``se``, ``interval``, ``n``, ``verdict``
        (``"better"``, ``"worse"`` or ``"within noise"``: the interval contains 0).

    Raises
    ------
    ValueError
        Fewer than 2 values (no standard error from one run: use ``record(..., n_seeds=1)``),
        unequal lengths when paired, NaN values, or a bad ``better``/``level``/``method``.
    """
    import numpy as np
    from scipy import stats

    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    if not b_se >= 0:
        raise ValueError(f"b_se must be >= 0, got {b_se}")
    va = _values(a, "a")
    fixed = isinstance(b, (int, float)) and not isinstance(b, bool)
    vb = np.array([float(b)]) if fixed else _values(b, "b")
    if fixed:
        paired = True
        if not math.isfinite(vb[0]):
            raise ValueError(f"the reference b must be finite, got {b}")
    elif b_se:
        raise ValueError("b_se is for a fixed reference b (a float), not for a sample")
    if len(va) < 2 or (not fixed and len(vb) < 2):
        raise ValueError(
            f"compare needs at least 2 values per method for a standard error, got "
            f"{len(va)} and {len(vb)}; for one run use record(..., n_seeds=1)"
        )
    if paired and not fixed and len(va) != len(vb):
        raise ValueError(
            f"paired comparison needs a and b of equal length (same seeds/draws/points), got "
            f"{len(va)} and {len(vb)}; pass paired=False for independent samples"
        )
    alpha = 1.0 - level
    rng = np.random.default_rng(seed)
    if paired:
        diff = va - vb if not fixed else va - vb[0]
        mean, n = float(diff.mean()), len(diff)
        if method == "t":
            se = math.sqrt(float(diff.var(ddof=1)) / n + b_se**2)
            half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
            lo, hi = mean - half, mean + half
        else:
            idx = rng.integers(0, n, size=(n_boot, n))
            boot = diff[idx].mean(axis=1) + (rng.normal(0, b_se, n_boot) if b_se else 0.0)
            se = float(boot.std(ddof=1))
            lo, hi = (float(q) for q in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
        count = n
        how = f"paired {'t' if method == 't' else 'bootstrap'}"
        if fixed:
            how = f"one-sample {'t' if method == 't' else 'bootstrap'} against a fixed value"
    else:
        mean = float(va.mean() - vb.mean())
        sa, sb = float(va.var(ddof=1)) / len(va), float(vb.var(ddof=1)) / len(vb)
        if method == "t":
            se = math.sqrt(sa + sb)
            if se > 0:
                dof = (sa + sb) ** 2 / (sa**2 / (len(va) - 1) + sb**2 / (len(vb) - 1))
            else:
                dof = len(va) + len(vb) - 2
            half = float(stats.t.ppf(1 - alpha / 2, dof)) * se
            lo, hi = mean - half, mean + half
        else:
            ia = rng.integers(0, len(va), size=(n_boot, len(va)))
            ib = rng.integers(0, len(vb), size=(n_boot, len(vb)))
            boot = va[ia].mean(axis=1) - vb[ib].mean(axis=1)
            se = float(boot.std(ddof=1))
            lo, hi = (float(q) for q in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
        count = (len(va), len(vb))
        how = "Welch t" if method == "t" else "bootstrap"
    if lo > 0 or hi < 0:
        a_lower = hi < 0
        result = "better" if a_lower == (better == "lower") else "worse"
    else:
        result = "within noise"
    return Comparison(
        difference=mean,
        se=float(se),
        interval=(float(lo), float(hi)),
        n=count,
        verdict=result,
        level=float(level),
        better=better,
        method=how,
        mean_a=float(va.mean()),
        mean_b=float(vb.mean()),
    )


def record(
    experiment: str,
    metric: str,
    ours: float,
    *,
    source: float | None = None,
    source_ref: str = "",
    definition: str = "",
    better: str = "lower",
    spread: float | None = None,
    n_seeds: int | None = None,
    source_spread: float = 0.0,
    comparable: bool = True,
    note: str = "",
    profile: str | None = None,
    device=None,
    fmt: str = ".4g",
    show: bool = False,
    comparison: Comparison | None = None,
) -> dict:
    """Store one reproduced number for the results page.

    Parameters
    ----------
    experiment : str
        What was run, e.g. ``"Gaussian -> N(0, I), C-MGN, Monge-Ampère loss"``.
    metric : str
        The metric's short name, e.g. ``"L2-UVP (%)"``.
    ours : float
        Our value (the median over seeds when there are several).
    source : float, optional
        The source's value, if the source reports one.
    source_ref : str
        Where the source's value comes from, e.g. ``"GradNetOT, Table I"``.
    definition : str
        One line defining the metric (conventions: W2 vs W2², cost).
    better : {"lower", "higher"}
    spread : float, optional
        Spread of our number (standard deviation or half-range over ``n_seeds`` seeds or over
        evaluation resamples; say which in ``note``). Needed for any verdict against a source.
    n_seeds : int, optional
        How many independent runs ``ours`` and ``spread`` come from. With ``n_seeds=1`` and no
        ``spread`` the verdict is "worse (one seed)" or "better (one seed)".
    source_spread : float
        Spread of the source's number when it is itself a sample estimate.
    comparable : bool
        ``False`` when the source's metric or set-up differs: the verdict is "not comparable".
    note : str
        The reason behind the verdict, or a caveat.
    profile : str, optional
        Defaults to ``MGN_PROFILE`` (else ``"full"``).
    device : torch.Tensor, torch.nn.Module, torch.device or str, optional
        Where ``ours`` was computed: pass the model or a result tensor, and the device it is on
        is stored (see :func:`device_of`) and noted for the chapter's provenance. Defaults to
        :func:`mgn_utils.course.env.provenance`'s device (the devices noted so far, else the
        one the notebook set up).
    show : bool
        Also print a one-line summary (off in chapters: the page shows its own table).
    comparison : Comparison, optional
        The :func:`compare` of our runs with the source (``compare(ours_per_seed, source,
        b_se=...)``): its verdict is stored ("within noise" as "matches"), its standard error
        as ``spread``, its count as ``n_seeds`` and its interval's half-width as ``tolerance``.

    Returns
    -------
    dict
        The stored entry, with ``tolerance = 2·sqrt(spread² + source_spread²)`` when a spread
        is given.

    Raises
    ------
    TypeError
        ``experiment`` or ``metric`` not a non-empty string.
    ValueError
        A source with neither a spread, ``n_seeds=1`` nor ``comparable=False``.
    """
    from .env import note_device, provenance

    for key, value in (("experiment", experiment), ("metric", metric)):
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{key} must be a non-empty name (str), got {value!r}")
    ours = float(ours)
    if profile is None:
        profile = os.environ.get("MGN_PROFILE", "full").strip().lower() or "full"
    if device is None:
        device = provenance()["device"]
    else:
        device = device_of(device)
        note_device(device)
    tol = None
    if comparison is not None:
        if source is None:
            raise ValueError("a comparison needs the source it compares with (source=...)")
        spread, n_seeds = comparison.se, comparison.n
        if not isinstance(n_seeds, int):
            n_seeds = min(n_seeds)
    if comparison is not None:
        lo, hi = comparison.interval
        tol = (hi - lo) / 2
    elif spread is not None:
        spread = float(spread)
        tol = tolerance_from_spread(spread, float(source_spread))
    if source is not None and not comparable:
        result = "not comparable"
    elif comparison is not None:
        result = {"within noise": "matches"}.get(comparison.verdict, comparison.verdict)
    elif source is not None and tol is None and n_seeds == 1:
        result = verdict(ours, source, better, 0.0)
        result = "failed" if result == "failed" else f"{result} (one seed)"
    else:
        result = verdict(ours, source, better, tol)
    entry = {
        "experiment": experiment,
        "metric": metric,
        "ours": ours,
        "source": source,
        "source_ref": source_ref,
        "definition": definition,
        "better": better,
        "spread": spread,
        "n_seeds": n_seeds,
        "tolerance": tol,
        "verdict": result,
        "note": note,
        "profile": profile,
        "device": device,
    }
    src = "—" if source is None else format(source, fmt)
    spr = "" if spread is None else f" ± {format(spread, fmt)}"
    text = (
        f"result | {experiment} | {metric}: ours {format(ours, fmt)}{spr}, source {src}"
        f"{' (' + source_ref + ')' if source_ref else ''} -> {result}"
    )
    try:
        from IPython.display import display

        # The entry rides in the output's metadata. Hidden, the output is an empty HTML
        # fragment: the rendered page shows nothing (an empty text/plain shows an empty box).
        bundle = {"text/plain": text} if show else {"text/html": "", "text/plain": ""}
        display(bundle, metadata={RESULT_KEY: entry}, raw=True)
    except ImportError:  # outside IPython
        if show:
            print(text)
    return entry
