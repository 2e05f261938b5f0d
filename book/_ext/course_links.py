"""Sphinx helpers for the course. The role ``{colab}`chapters/NN_name.ipynb``` is an "Open in
Colab" link to a chapter.

The address is built from the repository settings of ``_config.yml`` (the one place that
names the repository), the same way Jupyter Book builds its launch buttons.
"""

from docutils import nodes


def colab_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    config = inliner.document.settings.env.app.config
    theme = config.html_theme_options
    repo = theme.get("repository_url", "").rstrip("/")
    branch = theme.get("repository_branch", "main")
    path = text.strip().lstrip("/")
    if not repo.startswith("https://github.com/"):
        msg = inliner.reporter.error(
            f"colab role: repository url {repo!r} is not a GitHub address", line=lineno
        )
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    slug = repo[len("https://github.com/") :]
    url = f"https://colab.research.google.com/github/{slug}/blob/{branch}/{path}"
    node = nodes.reference(rawtext, "", refuri=url, classes=["colab-link"])
    node += nodes.inline("", "Open in Colab: "), nodes.literal("", path.rsplit("/", 1)[-1])
    return [node], []


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated inline scripts: sphinx-thebe and sphinx-togglebutton register theirs twice
    under Sphinx 7.4, and the second ``const THEBE_JS_URL`` is a JavaScript error."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        key = (
            getattr(js, "filename", js) or "",
            str(getattr(js, "attributes", {}).get("body", "")),
        )
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _register_label_style(app):
    """Alpha labels ("CPM25") made unique across the whole bibliography ("CPM25a", "CPM25b").

    pybtex disambiguates labels only within one bibliography list; a chapter citing one of two
    works with the same label and another chapter citing the other then clash. Labels are
    computed once from all of ``bibtex_bibfiles`` and shared by every list.
    """
    from collections import Counter
    from pathlib import Path

    from pybtex.database import parse_file
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.alpha import Style as AlphaStyle
    from pybtex.style.labels.alpha import LabelStyle as AlphaLabels

    base = AlphaLabels()
    entries = {}
    for bib in app.config.bibtex_bibfiles:
        entries.update(parse_file(str(Path(app.srcdir) / bib)).entries)
    raw = {key: base.format_label(entry) for key, entry in sorted(entries.items())}
    count, seen, labels = Counter(raw.values()), Counter(), {}
    for key, label in sorted(raw.items()):
        labels[key] = label + (chr(ord("a") + seen[label]) if count[label] > 1 else "")
        seen[label] += 1 if count[label] > 1 else 0

    class GlobalLabels(AlphaLabels):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield labels.get(entry.key, base.format_label(entry))

    class CourseStyle(AlphaStyle):
        default_label_style = GlobalLabels

    register_plugin("pybtex.style.labels", "course", GlobalLabels, force=True)
    register_plugin("pybtex.style.formatting", "course", CourseStyle, force=True)


def setup(app):
    app.add_role("colab", colab_role)
    app.connect("builder-inited", _register_label_style, priority=100)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
