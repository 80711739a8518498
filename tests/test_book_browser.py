"""The rendered book, as a reader sees it: every page of the table of contents in headless Chromium.

A session fixture builds the book (``jupyter-book build . --all -W -n --keep-going``; skip that with
``RECBOOK_SKIP_BUILD=1`` to test an existing ``_build/html``), serves ``_build/html`` on 127.0.0.1 and opens
one Chromium for all pages. For each page the test checks that

* nothing is printed to the console as an error and no script throws;
* no request fails, and nothing is requested from any host but 127.0.0.1 (the book must work offline);
* every image has loaded;
* math is typeset by MathJax (no raw ``$...$`` or ``\\(`` left, no TeX errors);
* every link into the book points to an existing file and, with a ``#fragment``, an existing anchor;
* on pages with widgets: sliders are rendered and moving each one changes what the page shows;

and saves a full-page screenshot to ``_build/screenshots/<page>.png``.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser here.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD_TIMEOUT_S = 20 * 60
PAGE_TIMEOUT_MS = 60_000  # navigation and "everything has loaded" waits, per page
SETTLE_TIMEOUT_MS = 15_000  # network-idle wait; pages with nothing pending settle at once
MAX_SLIDERS_PER_PAGE = 12


def toc_files() -> list[str]:
    """Every document in _toc.yml, in reading order (paths without suffix, e.g. ``book/intro``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return [str(Path(f).with_suffix("")) for f in files]


PAGES = toc_files()


def jupyter_book_command() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed: run `make test` (it installs .venv first)")
    return [found]


@pytest.fixture(scope="session")
def built_book() -> Path:
    if os.environ.get("RECBOOK_SKIP_BUILD") != "1":
        cmd = [*jupyter_book_command(), "build", ".", "--all", "-W", "-n", "--keep-going"]
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
        )
        if proc.returncode != 0:
            output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + "\n" + proc.stderr)
            problems = [line for line in output.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]
            pytest.fail(
                f"`{' '.join(cmd)}` exited {proc.returncode} (the book build fails on any warning):\n"
                + "\n".join(problems[:60] or output.splitlines()[-60:]),
                pytrace=False,
            )
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built book at {HTML}; build it with `make book`", pytrace=False)
    return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture(scope="session")
def server(built_book: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium with "
            "`apt-get install -y chromium chromium-driver` (the browser test never downloads a browser)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageLog:
    """What went wrong while a page loaded and was used."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)


def open_page(browser, url: str):
    """A fresh context and page whose console, errors and requests are recorded; external hosts are blocked."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    log = PageLog()

    def route(r) -> None:
        host = urlsplit(r.request.url).hostname
        if host != "127.0.0.1":
            log.external_requests.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(f"{m.text} ({m.location})"))
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))
    page.on(
        "requestfailed",
        lambda r: urlsplit(r.url).hostname == "127.0.0.1"
        and log.failed_requests.append(f"{r.url}: {r.failure}"),
    )
    page.on("response", lambda r: r.status >= 400 and log.failed_requests.append(f"{r.url}: HTTP {r.status}"))
    page.goto(url, wait_until="load")
    try:
        page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
    except Exception:  # a page that keeps polling still gets checked; failed requests are caught anyway
        pass
    return context, page, log


def scroll_through(page) -> None:
    """Scroll to the bottom and back so lazily loaded content is requested."""
    page.evaluate(
        """async () => {
            const step = Math.max(200, window.innerHeight - 100);
            for (let y = 0; y < document.body.scrollHeight; y += step) {
                window.scrollTo(0, y);
                await new Promise(r => setTimeout(r, 30));
            }
            window.scrollTo(0, 0);
        }"""
    )


def check_images(page) -> list[str]:
    page.evaluate("() => document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete)", timeout=PAGE_TIMEOUT_MS
    )
    return page.evaluate(
        """() => Array.from(document.images)
              .filter(i => !(i.naturalWidth > 0))
              .map(i => i.currentSrc || i.src || i.outerHTML.slice(0, 120))"""
    )


def check_math(page) -> list[str]:
    """Problems with math on the page (empty when it has none or all of it is typeset)."""
    has_math = page.evaluate("() => document.querySelectorAll('.math').length > 0")
    problems = []
    if has_math:
        if not page.evaluate("() => typeof window.MathJax !== 'undefined'"):
            page.wait_for_function("() => typeof window.MathJax !== 'undefined'", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function(
            "() => window.MathJax.startup && window.MathJax.startup.promise", timeout=PAGE_TIMEOUT_MS
        )
        page.evaluate("() => window.MathJax.startup.promise")
        untypeset = page.evaluate(
            """() => Array.from(document.querySelectorAll('.math'))
                  .filter(e => !e.querySelector('mjx-container'))
                  .map(e => e.textContent.trim().slice(0, 80))"""
        )
        problems += [f"math not typeset: {t!r}" for t in untypeset]
        if page.evaluate("() => document.querySelectorAll('mjx-container').length") == 0:
            problems.append("page has math but no mjx-container")
        errors = page.evaluate(
            "() => Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent)"
        )
        problems += [f"TeX error: {e}" for e in errors]
    # Raw TeX left in the prose (outside code, scripts and typeset math) means it was never seen as math.
    raw = page.evaluate(
        r"""() => {
            const root = document.querySelector('article') || document.body;
            const skip = 'pre, code, script, style, textarea, mjx-container, .math, .highlight, .output';
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            const found = [];
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                if (n.parentElement && n.parentElement.closest(skip)) continue;
                const m = n.textContent.match(/\$[^\s$][^$]*\$|\\\(|\\\[|\\begin\{/);
                if (m) found.push(n.textContent.trim().slice(0, 80));
            }
            return found;
        }"""
    )
    problems += [f"raw TeX in the page: {t!r}" for t in raw]
    return problems


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf8", errors="replace")
    return frozenset(re.findall(r'\b(?:id|name)="([^"]+)"', text))


def check_internal_links(page, base_url: str, html_root: Path) -> list[str]:
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    problems = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base_url + "/"):
            continue  # external links (launch buttons, DOIs) are not followed: there is no network
        url, fragment = urldefrag(href)
        rel = unquote(urlsplit(url).path).lstrip("/")
        target = html_root / rel
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link: {href}")
            continue
        if fragment and target.suffix == ".html" and unquote(fragment) not in anchors_of(target):
            problems.append(f"missing anchor: {href}")
    return problems


SIGNATURE_JS = """() => {
    // What the reader sees, apart from the sliders themselves: visible leaf elements' text and image sources.
    const root = document.querySelector('article') || document.body;
    const out = [];
    for (const e of root.querySelectorAll('*')) {
        if (e.closest('.widget-slider, .jupyter-widget-slider')) continue;
        if (!e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
        if (e.tagName === 'IMG') out.push('img:' + e.src.slice(-200));
        else if (e.children.length === 0 && e.textContent.trim()) out.push(e.textContent.trim());
    }
    return out.join('\\n');
}"""

SLIDER_HANDLES = ".widget-slider .noUi-handle, .jupyter-widget-slider .noUi-handle, .widget-slider .ui-slider-handle"


def check_widgets(page) -> list[str]:
    """On a page that embeds widget state: sliders render, and moving each one changes the visible content."""
    if not page.evaluate(
        "() => !!document.querySelector('script[type=\"application/vnd.jupyter.widget-state+json\"]')"
    ):
        return []
    try:
        page.wait_for_selector(SLIDER_HANDLES, state="attached", timeout=PAGE_TIMEOUT_MS)
    except Exception:
        n_views = page.evaluate("() => document.querySelectorAll('.jupyter-widgets').length")
        return [f"page embeds widget state but shows no slider ({n_views} widget views rendered)"]
    problems = []
    handles = page.locator(SLIDER_HANDLES)
    for i in range(min(handles.count(), MAX_SLIDERS_PER_PAGE)):
        handle = handles.nth(i)
        handle.scroll_into_view_if_needed()
        readout = handle.evaluate(
            "h => { const s = h.closest('.widget-slider, .jupyter-widget-slider');"
            " const r = s && s.querySelector('.widget-readout'); return r ? (r.value ?? r.textContent) : null; }"
        )
        before_value = handle.get_attribute("aria-valuenow")
        before = page.evaluate(SIGNATURE_JS)
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        if handle.get_attribute("aria-valuenow") == before_value:  # already at its maximum
            page.keyboard.press("ArrowLeft")
            page.wait_for_timeout(300)
        after_value = handle.get_attribute("aria-valuenow")
        after = page.evaluate(SIGNATURE_JS)
        if after_value == before_value:
            problems.append(f"slider {i} (readout {readout!r}) did not move with the arrow keys")
        elif after == before:
            problems.append(
                f"moving slider {i} (readout {readout!r}) from {before_value} to {after_value} changed nothing"
                " on the page: link it to what it controls with widgets.jslink/jsdlink (a Python callback"
                " needs a kernel and does nothing in the static book)"
            )
    return problems


def page_name(doc: str) -> str:
    return Path(doc).name


@pytest.mark.parametrize("doc", PAGES, ids=page_name)
def test_page(doc: str, server: str, browser, built_book: Path) -> None:
    html_file = built_book / f"{doc}.html"
    assert html_file.is_file(), f"{doc} is in _toc.yml but {html_file} was not built"
    context, page, log = open_page(browser, f"{server}/{doc}.html")
    try:
        scroll_through(page)
        problems = [f"image did not load: {src}" for src in check_images(page)]
        problems += check_math(page)
        problems += check_internal_links(page, server, built_book)
        problems += check_widgets(page)
        page.wait_for_timeout(200)  # let late console messages arrive
        # Sticky headers and sidebars are drawn where the viewport is: shoot from the top, nothing focused.
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{page_name(doc)}.png"), full_page=True)
    finally:
        context.close()
    problems += [f"console error: {m}" for m in log.console_errors]
    problems += [f"uncaught error: {m}" for m in log.page_errors]
    problems += [f"failed request: {m}" for m in log.failed_requests]
    problems += [f"request to an external host (the book must work offline): {u}" for u in log.external_requests]
    assert not problems, f"{doc}:\n  " + "\n  ".join(problems)


def test_index_redirects_to_the_first_page(server: str, browser) -> None:
    context, page, log = open_page(browser, f"{server}/index.html")
    try:
        page.wait_for_url(f"**/{PAGES[0]}.html", timeout=PAGE_TIMEOUT_MS)
    finally:
        context.close()
    assert not (log.console_errors or log.page_errors or log.failed_requests or log.external_requests), log
