"""Open every page of the built book in headless Chromium and fail on what a reader would see
broken.

    python tools/browser_check.py [--html _build/html] [--shots _build/screenshots]

Serves the book on localhost, opens each page and fails on: JavaScript errors, failed
requests to the book itself, images that did not load, math left untypeset (``\\(`` or
``$$`` in the text after MathJax ran), and internal links or anchors that lead nowhere.
On chapter pages it also requires an "open in Colab" link, a ``.ipynb`` download link and
folded exercise solutions. Saves a screenshot of each page. External links are not checked here (no
internet in CI);
``make linkcheck`` does that.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def pages(html: Path) -> list[Path]:
    skip = {
        "search.html",
        "genindex.html",
        "index.html",
    }  # index.html only redirects (checked below)
    return sorted(
        p
        for p in html.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(html).parts)
        and p.name not in skip
    )


def check_links(html: Path, page_list: list[Path]) -> list[str]:
    """Internal links must point to an existing file and, with a fragment, to an existing id."""
    problems, parsed = [], {}
    for page in page_list:
        for href in _parse(page).hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith(("//", "mailto:")):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(html)}: broken link {href}")
                continue
            if url.fragment and target.suffix == ".html":
                ids = parsed.setdefault(target, _parse(target).ids)
                if unquote(url.fragment) not in ids:
                    problems.append(f"{page.relative_to(html)}: missing anchor {href}")
    return problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(html: Path):
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_pages(html: Path, shots: Path, page_list: list[Path]) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems = []
    shots.mkdir(parents=True, exist_ok=True)
    server = serve(html)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for page_path in page_list:
            rel = page_path.relative_to(html).as_posix()
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors = []
            page.on("pageerror", lambda e, errors=errors: errors.append(f"JavaScript error: {e}"))
            page.on(
                "console",
                lambda m, errors=errors: (
                    errors.append(f"console error: {m.text}")
                    if m.type == "error" and "Failed to load resource" not in m.text
                    else None
                ),
            )
            page.on(
                "requestfailed",
                lambda r, errors=errors: (
                    errors.append(f"failed request: {r.url}") if r.url.startswith(base) else None
                ),
            )
            page.goto(urljoin(base, rel), wait_until="load")
            page.wait_for_timeout(300)
            has_mathjax = page.evaluate(
                "typeof window.MathJax === 'object' && !!window.MathJax.startup"
            )
            if has_mathjax:
                page.evaluate("window.MathJax.startup.promise")
            article = page.locator("article, main, body").first.inner_text()
            if re.search(r"\\\(|\\\[|\$\$", article):
                errors.append("untypeset math (\\( or $$ left in the text)")
            broken = page.evaluate(
                "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => "
                "i.src)"
            )
            errors += [f"image did not load: {src}" for src in broken]
            if rel.startswith("chapters/"):  # what every chapter page must offer
                if not page.locator('a[href^="https://colab.research.google.com/github/"]').count():
                    errors.append("no 'open in Colab' launch link")
                if not page.locator('a[href$=".ipynb"]').count():
                    errors.append("no '.ipynb' download link")
                unfolded = page.evaluate(
                    "[...document.querySelectorAll('.solution')].filter(e => "
                    "!e.classList.contains('dropdown')).length"
                )
                if unfolded:
                    errors.append(
                        f"{unfolded} exercise solution(s) not folded (use :class: dropdown)"
                    )
            name = rel.replace("/", "__").removesuffix(".html")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            problems += [f"{rel}: {e}" for e in errors]
            print(f"  {'ok ' if not errors else 'BAD'} {rel}", flush=True)
            page.close()
        browser.close()
    server.shutdown()
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--html", default="_build/html", type=Path)
    ap.add_argument("--shots", default="_build/screenshots", type=Path)
    args = ap.parse_args(argv)
    if not (args.html / "index.html").exists():
        print(f"no built book in {args.html}: run `make book` first")
        return 1
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: install the Debian package `chromium`")
        return 1
    page_list = pages(args.html)
    redirect = re.search(r'url=([^"]+)"', (args.html / "index.html").read_text())
    if not redirect or not (args.html / redirect.group(1)).exists():
        print("PROBLEM: index.html does not redirect to an existing page")
        return 1
    print(f"browser check: {len(page_list)} pages")
    problems = check_links(args.html, page_list) + check_pages(args.html, args.shots, page_list)
    problems = list(dict.fromkeys(problems))  # a page may repeat the same broken thing
    for p in problems:
        print("PROBLEM:", p)
    print(
        f"browser check: {len(page_list)} pages, {len(problems)} problem(s); screenshots in "
        f"{args.shots}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
