"""Record a reproduced number in a chapter, for the book's results page.

``record(...)`` shows a one-line summary under the cell and stores the same information in
that output's metadata (key ``mgn_result``). ``tools/nbtools.py
results`` collects these from the stored outputs of every chapter (made by a full run) and
writes ``book/results.md``: the table is never typed by hand.
"""
from __future__ import annotations

import math

__all__ = ["record", "RESULT_KEY", "verdict"]

RESULT_KEY = "mgn_result"


def verdict(ours: float, source: float | None, better: str = "lower", rtol: float = 0.1) -> str:
    """``"matches"`` when within ``rtol`` (relative) of the source, else ``"better"``/``"worse"``
    according to ``better`` (``"lower"`` or ``"higher"`` is better); ``"new"`` without a source."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if source is None or not math.isfinite(ours):
        return "new" if source is None else "failed"
    if abs(ours - source) <= rtol * abs(source):
        return "matches"
    return "better" if (ours < source) == (better == "lower") else "worse"


def record(experiment: str, metric: str, ours: float, *, source: float | None = None,
           source_ref: str = "", definition: str = "", better: str = "lower", rtol: float = 0.1,
           note: str = "", profile: str | None = None, device: str | None = None, fmt: str = ".4g"):
    """Display and store one reproduced number.

    Args:
        experiment: what was run, e.g. ``"Gaussian -> N(0, I), C-MGN, Monge-Ampère loss"``.
        metric: the metric's short name, e.g. ``"L2-UVP (%)"``.
        ours: our value (a float).
        source: the source's value, if the source reports one.
        source_ref: where the source's value comes from, e.g. ``"GradNetOT, Table I"``.
        definition: one line defining the metric (conventions: W2 vs W2², cost).
        better: ``"lower"`` or ``"higher"``; with ``rtol`` it decides the verdict.
        note: the reason behind the verdict, or a caveat.
        profile, device: default to the current ``MGN_PROFILE`` and torch's device.
    Returns the stored dictionary.
    """
    import os

    ours = float(ours)
    if profile is None:
        profile = os.environ.get("MGN_PROFILE", "full").strip().lower() or "full"
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    entry = {
        "experiment": experiment, "metric": metric, "ours": ours, "source": source,
        "source_ref": source_ref, "definition": definition, "better": better,
        "verdict": verdict(ours, source, better, rtol), "note": note, "profile": profile,
        "device": device,
    }
    src = "—" if source is None else format(source, fmt)
    text = (f"result | {experiment} | {metric}: ours {format(ours, fmt)}, source {src}"
            f"{' (' + source_ref + ')' if source_ref else ''} -> {entry['verdict']}")
    try:
        from IPython.display import display

        display({"text/plain": text}, metadata={RESULT_KEY: entry}, raw=True)
    except ImportError:  # outside IPython
        print(text)
    return entry
