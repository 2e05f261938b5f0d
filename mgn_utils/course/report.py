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
ranges over seeds do not overlap.
"""

from __future__ import annotations

import math
import os

__all__ = ["record", "RESULT_KEY", "verdict", "tolerance_from_spread", "device_of", "range_verdict"]

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
    if spread is not None:
        spread = float(spread)
        tol = tolerance_from_spread(spread, float(source_spread))
    if source is not None and not comparable:
        result = "not comparable"
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
