"""The HTML edition in a real browser: every page loaded in headless Chromium.

Playwright drives Debian's ``chromium`` (``/usr/bin/chromium``; Playwright's own browsers are never
downloaded). For each page: no error in the console and no script error; every MathML formula laid
out (a box of non-zero size); every picture loaded; the solution toggles close and open again, one
by one and all at once; and axe-core (the npm package, vendored by package.json and installed by
``invoke setup --html``) reports no serious or critical violation of WCAG 2.1 A and AA. The first
screen of each page is saved as a PNG for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from solman.errors import MissingTool

CHROMIUM = ("chromium", "chromium-browser")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
VIEWPORT = {"width": 1000, "height": 800}

# Formulas and pictures that are displayed (not inside a closed toggle) and have no box.
LAYOUT = """() => {
  const shown = (e) => e.checkVisibility();  // not in a closed toggle, not hidden by the style
  const empty = (e) => { const r = e.getBoundingClientRect(); return r.width <= 0 || r.height <= 0; };
  const maths = [...document.querySelectorAll('math')];
  const images = [...document.querySelectorAll('img')];
  return {
    maths: maths.length,
    empty: maths.filter((m) => shown(m) && empty(m)).slice(0, 5).map((m) => m.getAttribute('alttext') || m.id),
    images: images.length,
    broken: images.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.getAttribute('src')),
  };
}"""

# The first solution closes and opens from its summary; the button closes and opens them all.
TOGGLES = """async () => {
  const all = [...document.querySelectorAll('details.solman-solution')];
  if (all.length === 0) { return {count: 0}; }
  const first = all[0], summary = first.querySelector('summary');
  const body = () => [...first.children].filter((c) => c.tagName !== 'SUMMARY' && c.checkVisibility())
    .reduce((h, c) => h + c.getBoundingClientRect().height, 0);
  const wasOpen = first.open, openHeight = body();
  summary.click(); await new Promise((r) => setTimeout(r, 50));
  const closed = !first.open && body() === 0;
  summary.click(); await new Promise((r) => setTimeout(r, 50));
  const reopened = first.open && body() > 0;
  const button = document.getElementById('solman-toggle');
  let allClosed = null, allOpen = null;
  if (button) {
    button.click(); allClosed = all.every((d) => !d.open);
    button.click(); allOpen = all.every((d) => d.open);
  }
  return {count: all.length, wasOpen, openHeight, closed, reopened, allClosed, allOpen};
}"""


@dataclass
class PageReport:
    page: str  # relative to the site
    problems: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    maths: int = 0
    toggles: int = 0
    seconds: float = 0.0


def chromium() -> str:
    """Debian's Chromium, or a clear message."""
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    raise MissingTool("the HTML edition's browser checks need Chromium",
                      hint="run `invoke setup --html`, or: apt-get install chromium")


def axe_script(root: Path) -> Path:
    """axe-core as package.json installs it (npm ci)."""
    script = root / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        raise MissingTool("the HTML edition's browser checks need axe-core (npm)",
                          hint="run `invoke setup --html` (npm ci installs the version package-lock.json names)")
    return script


def check_site(site: Path, shots: Path, axe: Path, pages: list[str] | None = None) -> list[PageReport]:
    """Load every page of ``site`` (build/html) in headless Chromium; screenshots go to ``shots``."""
    from playwright.sync_api import sync_playwright

    pages = pages or sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    shots.mkdir(parents=True, exist_ok=True)
    reports = []
    with served(site) as address, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            for name in pages:
                reports.append(check_page(context, f"{address}/{name}", name, shots, axe))
        finally:
            browser.close()
    return reports


@contextlib.contextmanager
def served(site: Path):
    """``site`` on a local HTTP server (as a course site serves it: axe-core reads the style sheets,
    which a browser refuses to a page opened from a file), for as long as the block runs."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def check_page(context, url: str, name: str, shots: Path, axe: Path) -> PageReport:
    started = time.perf_counter()
    report = PageReport(name)
    page = context.new_page()
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: said.append(str(error)))
    page.goto(url, wait_until="load")
    report.screenshot = shots / (name.replace("/", "-").removesuffix(".html") + ".png")
    page.screenshot(path=str(report.screenshot))
    layout = page.evaluate(LAYOUT)
    report.maths = layout["maths"]
    if layout["empty"]:
        report.problems.append(f"MathML not laid out (no box): {', '.join(map(str, layout['empty']))}")
    if layout["broken"]:
        report.problems.append(f"pictures not loaded: {', '.join(layout['broken'])}")
    toggles = page.evaluate(TOGGLES)
    report.toggles = toggles["count"]
    if toggles["count"] and not (toggles["wasOpen"] and toggles["openHeight"] > 0 and toggles["closed"]
                                 and toggles["reopened"] and toggles["allClosed"] is not False
                                 and toggles["allOpen"] is not False):
        report.problems.append(f"the solution toggles do not work: {json.dumps(toggles)}")
    page.add_script_tag(path=str(axe))
    found = page.evaluate("async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},"
                          " resultTypes: ['violations']}); return r.violations.map((v) => ({id: v.id, impact: v.impact,"
                          " help: v.help, nodes: v.nodes.length, target: v.nodes[0] && v.nodes[0].target}))}", AXE_TAGS)
    for violation in found:
        if violation["impact"] in FAILING_IMPACTS:
            report.problems.append(f"axe {violation['impact']}: {violation['id']} ({violation['help']}), "
                                   f"{violation['nodes']} element(s), first {violation['target']}")
    report.problems[:0] = [f"console: {text}" for text in said]
    page.close()
    report.seconds = time.perf_counter() - started
    return report
