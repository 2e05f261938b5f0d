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
        msg = inliner.reporter.error(f"colab role: repository url {repo!r} is not a GitHub address", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    url = f"https://colab.research.google.com/github/{repo[len('https://github.com/'):]}/blob/{branch}/{path}"
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
        key = (getattr(js, "filename", js) or "", str(getattr(js, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.add_role("colab", colab_role)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
