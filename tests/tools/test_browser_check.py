"""The parts of tools/browser_check.py that need no browser: page list, links, server, CLI."""

import sys
import types
import urllib.request

import browser_check as bc


def _site(root):
    (root / "chapters").mkdir(parents=True)
    (root / "_static").mkdir()
    (root / "_static" / "x.html").write_text("<p>asset</p>")
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')
    (root / "search.html").write_text("")
    (root / "intro.html").write_text(
        '<h1 id="top">Intro</h1><a href="chapters/ch.html#sec">ok</a><a href="#top">self</a>'
        '<a href="https://example.org/">ext</a><a href="mailto:a@b.c">mail</a><a '
        'href="//cdn/x">cdn</a>'
        '<a href="missing.html">broken</a><a href="chapters/ch.html#nope">anchor</a><a '
        'href="chapters/">dir</a>'
    )
    (root / "chapters" / "ch.html").write_text(
        '<section id="sec"><a href="../intro.html">back</a></section>'
    )
    (root / "chapters" / "index.html").write_text("<p>dir index</p>")
    (root / "notes.html").write_text("<p>notes</p>")
    return root


def test_pages_skips_assets_search_and_index(tmp_path):
    html = _site(tmp_path / "html")
    assert [p.relative_to(html).as_posix() for p in bc.pages(html)] == [
        "chapters/ch.html",
        "intro.html",
        "notes.html",
    ]


def test_check_links_finds_broken_links_and_anchors(tmp_path):
    html = _site(tmp_path / "html")
    assert bc.check_links(html, bc.pages(html)) == [
        "intro.html: broken link missing.html",
        "intro.html: missing anchor chapters/ch.html#nope",
    ]


def test_serve_serves_the_book(tmp_path):
    html = _site(tmp_path / "html")
    server = bc.serve(html)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/intro.html"
        assert b"Intro" in urllib.request.urlopen(url, timeout=10).read()
    finally:
        server.shutdown()


def test_main_without_a_built_book(tmp_path, capsys):
    assert bc.main(["--html", str(tmp_path)]) == 1
    assert "run `make book` first" in capsys.readouterr().out


def test_main_without_chromium(tmp_path, monkeypatch, capsys):
    html = _site(tmp_path / "html")
    monkeypatch.setattr(bc, "CHROMIUM", str(tmp_path / "no-chromium"))
    assert bc.main(["--html", str(html)]) == 1
    assert "Chromium not found" in capsys.readouterr().out


def test_main_with_a_bad_redirect(tmp_path, monkeypatch, capsys):
    html = _site(tmp_path / "html")
    (html / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=gone.html" />')
    monkeypatch.setattr(bc, "CHROMIUM", sys.executable)
    assert bc.main(["--html", str(html)]) == 1
    assert "does not redirect" in capsys.readouterr().out


class _Locator:
    def __init__(self, page, selector):
        self.page, self.selector = page, selector
        self.first = self

    def count(self):
        return self.page.spec.get(self.selector, 1)

    def inner_text(self):
        return self.page.spec.get("text", "typeset")


class _Page:
    """Just enough of a Playwright page: what each evaluate() returns comes from ``spec``."""

    def __init__(self, spec):
        self.spec, self.handlers = spec, {}

    def on(self, event, fn):
        self.handlers[event] = fn

    def goto(self, url, wait_until):
        for event, arg in self.spec.get("events", []):
            self.handlers[event](arg)

    def wait_for_timeout(self, ms):
        pass

    def evaluate(self, js):
        if "MathJax" in js:
            return "startup" in js and self.spec.get("mathjax", True)
        if "document.images" in js:
            return self.spec.get("broken", [])
        if ".solution" in js:
            return self.spec.get("unfolded", 0)
        raise AssertionError(js)

    def locator(self, selector):
        return _Locator(self, selector)

    def screenshot(self, path, full_page):
        open(path, "wb").close()

    def close(self):
        pass


def test_check_pages_with_a_fake_browser(tmp_path, monkeypatch, capsys):
    html = _site(tmp_path / "html")
    specs = {  # per page, in bc.pages() order
        "chapters/ch.html": {
            "text": r"left \( x \)",
            "broken": ["img.png"],
            "unfolded": 2,
            'a[href^="https://colab.research.google.com/github/"]': 0,
            'a[href$=".ipynb"]': 0,
        },
        "intro.html": {"events": [("pageerror", "boom")], "mathjax": False},
        "notes.html": {},
    }
    order = iter(specs.values())

    class Browser:
        def new_page(self, viewport):
            return _Page(next(order))

        def close(self):
            pass

    class PW:
        chromium = types.SimpleNamespace(launch=lambda **kw: Browser())

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    sync_api = types.ModuleType("playwright.sync_api")
    sync_api.sync_playwright = PW
    monkeypatch.setitem(sys.modules, "playwright.sync_api", sync_api)
    problems = bc.check_pages(html, tmp_path / "shots", bc.pages(html))
    assert problems == [
        "chapters/ch.html: untypeset math (\\( or $$ left in the text)",
        "chapters/ch.html: image did not load: img.png",
        "chapters/ch.html: no 'open in Colab' launch link",
        "chapters/ch.html: no '.ipynb' download link",
        "chapters/ch.html: 2 exercise solution(s) not folded (use :class: dropdown)",
        "intro.html: JavaScript error: boom",
    ]
    assert len(list((tmp_path / "shots").glob("*.png"))) == 3
    out = capsys.readouterr().out
    assert "BAD chapters/ch.html" in out and "ok  notes.html" in out


def test_main_runs_both_checks(tmp_path, monkeypatch, capsys):
    html = _site(tmp_path / "html")
    monkeypatch.setattr(bc, "CHROMIUM", sys.executable)
    monkeypatch.setattr(
        bc, "check_pages", lambda html, shots, pages: ["x.html: bad", "x.html: bad"]
    )
    assert bc.main(["--html", str(html), "--shots", str(tmp_path / "s")]) == 1
    out = capsys.readouterr().out
    assert out.count("PROBLEM: x.html: bad") == 1 and "3 problem(s)" in out
    monkeypatch.setattr(bc, "check_links", lambda html, pages: [])
    monkeypatch.setattr(bc, "check_pages", lambda html, shots, pages: [])
    assert bc.main(["--html", str(html)]) == 0
