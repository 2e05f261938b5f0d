"""The book's generated pages: ``book/results.md``, ``book/status.md``, ``book/performance.md``.

The prose of each page is a Markdown template in ``tools/templates/`` (Jinja2); this module
only reads the chapters' stored outputs, stamps and ``benchmarks/results/*.json`` and makes
the tables.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import freshness  # tools/ is on sys.path: run as tools/nbtools.py, or see tests/tools/conftest.py
import jinja2
import nbformat

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def render(template: str, **context) -> str:
    text = _env().get_template(template).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)


def cell(text) -> str:
    """Text fit for one Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def title(nb) -> str:
    for c in nb.cells:
        if c.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", c.source, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return "(untitled)"


def chapter_link(path: Path) -> str:
    return f"[{path.stem[:2]}](/chapters/{path.stem})"


def results_table(entries: list[dict]) -> tuple[str, str]:
    """One chapter's results table and its numbered notes (Markdown). The spread and tolerance
    columns appear when any entry carries them."""
    has_spread = any(e.get("spread") is not None for e in entries)
    has_tol = any(e.get("tolerance") is not None for e in entries)
    header = ["#", "experiment", "metric", "source", "ours"]
    header += ["spread"] * has_spread + ["tolerance"] * has_tol + ["verdict"]
    rows, notes = [], []
    for k, e in enumerate(entries, 1):
        source = fmt(e.get("source")) + (f" ({e['source_ref']})" if e.get("source_ref") else "")
        row = [k, cell(e["experiment"]), cell(e["metric"]), cell(source), fmt(e["ours"])]
        row += [fmt(e.get("spread"))] * has_spread + [fmt(e.get("tolerance"))] * has_tol
        rows.append(row + [cell(e.get("verdict", "—"))])
        parts = [p for p in (e.get("definition"), e.get("note")) if p]
        if e.get("profile", "full") != "full":
            parts.append(f"profile {e['profile']}")
        if parts:
            text = "; ".join(str(p).replace("\n", " ") for p in parts)
            if notes and notes[-1][1] == text:
                notes[-1][0].append(k)  # same note as the row before: list them together
            else:
                notes.append(([k], text))
    note_lines = [
        f"- **{ks[0]}**: {t}" if len(ks) == 1 else f"- **{ks[0]}–{ks[-1]}**: {t}" for ks, t in notes
    ]
    return table(header, rows), "\n".join(note_lines)


def results_page(notebooks: list[tuple[Path, object]]) -> tuple[str, int]:
    chapters, n = [], 0
    for path, nb in notebooks:
        entries = freshness.results(nb)
        if not entries:
            continue
        n += len(entries)
        stamp = nb.metadata.get("mgn", {})
        tab, notes = results_table(entries)
        chapters.append(
            {
                "link": chapter_link(path),
                "title": title(nb),
                "table": tab,
                "notes": notes,
                "executed_at": stamp.get("executed_at", "—"),
                "device": stamp.get("device", "—"),
            }
        )
    return render("results.md", chapters=chapters), n


def status_page(notebooks, layout: freshness.Layout, setup_source: str | None) -> str:
    rows, stale = [], []
    for path, nb in notebooks:
        stamp = nb.metadata.get("mgn", {})
        problems = freshness.problems(nb, path.name, layout, setup_source)
        link = chapter_link(path)
        rows.append(
            [
                f"{link} {cell(title(nb))}",
                stamp.get("executed_at", "—"),
                stamp.get("profile", "—"),
                cell(stamp.get("device", "—")),
                stamp.get("torch", "—"),
                stamp.get("mgn_utils", "—"),
                fmt(stamp.get("duration_s")),
                "yes" if not problems else "**no**",
            ]
        )
        if problems:
            text = "; ".join(re.sub(r" \(run `[^`]*`\)$", "", p) for p in problems)
            stale.append({"link": link, "problems": cell(text)})
    header = [
        "chapter",
        "last run (UTC)",
        "profile",
        "device",
        "torch",
        "mgn_utils",
        "duration (s)",
        "fresh",
    ]
    return render("status.md", table=table(header, rows), stale=stale)


def performance_page(notebooks, layout: freshness.Layout) -> str:
    bench = layout.benchmarks
    logdet, training = [], []
    for path in sorted(bench.glob("logdet_*.json")):
        data = json.loads(path.read_text())
        rows = [
            [
                r["model"],
                r["dim"],
                r["hidden"],
                r["rank"],
                r["route"],
                f"{r['closed_ms']:.1f}",
                f"{r['autograd_ms']:.1f}",
                f"{r['ratio']:.1f}×",
                f"{r['max_abs_dlogdet']:.1e}",
            ]
            for r in data["rows"]
        ]
        header = [
            "model",
            "d",
            "hidden",
            "rank",
            "route",
            "closed (ms)",
            "autograd (ms)",
            "speed-up",
            "max abs. log-det difference",
        ]
        logdet.append(
            {
                "name": path.name,
                "m": data["machine"],
                "target": data.get("target") or {},
                "batch": data["rows"][0]["batch"] if data["rows"] else "—",
                "table": table(header, rows),
            }
        )
    for path in sorted(bench.glob("training_*.json")):
        data = json.loads(path.read_text())
        rows = [
            [r["chapter"], cell(r["case"]), f"{r['ms_per_step']:.1f}", f"{r['steps_per_s']:.1f}"]
            for r in data["rows"]
        ]
        header = ["chapter", "training step", "ms per step", "steps per second"]
        training.append({"name": path.name, "m": data["machine"], "table": table(header, rows)})
    smoke_file = bench / "smoke_cpu.json"
    smoke = (
        json.loads(smoke_file.read_text()) if smoke_file.exists() else {"rows": [], "machine": {}}
    )
    smoke_s = {r["chapter"]: r["smoke_s"] for r in smoke["rows"]}
    rows = []
    for path, nb in notebooks:
        stamp = nb.metadata.get("mgn", {})
        rows.append(
            [
                path.stem,
                cell(stamp.get("device", "—")),
                fmt(stamp.get("duration_s")),
                fmt(smoke_s.get(path.stem)),
            ]
        )
    runtimes = table(["chapter", "device", "full profile (s)", "smoke profile (s)"], rows)
    return render(
        "performance.md",
        logdet=logdet,
        training=training,
        runtimes=runtimes,
        smoke=smoke["machine"] if smoke["rows"] else None,
    )


def write_pages(paths: list[Path], layout: freshness.Layout, setup_source: str | None) -> int:
    """Write book/results.md, book/status.md and book/performance.md."""
    notebooks = [(p, nbformat.read(p, as_version=4)) for p in paths]
    layout.book.mkdir(parents=True, exist_ok=True)
    results, n = results_page(notebooks)
    (layout.book / "results.md").write_text(results)
    (layout.book / "status.md").write_text(status_page(notebooks, layout, setup_source))
    (layout.book / "performance.md").write_text(performance_page(notebooks, layout))
    print(
        f"pages: book/results.md ({n} results), book/status.md ({len(notebooks)} chapters), "
        "book/performance.md"
    )
    return 0
