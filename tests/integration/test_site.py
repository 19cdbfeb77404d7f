"""The course website (``make site``): built from the executed quick-profile notebooks with Sphinx + MyST-NB,
then every page opened in headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright, never a
downloaded browser): each renders with its figures, no internal link is broken; two screenshots are saved
(``figures_dir()``: ``build/figures`` under the tests; copies in ``figures/`` show the site in the README).

Reuses the executed copies ``tests/integration/test_notebooks.py`` leaves in ``build/executed`` (it runs
first in CI); executes only the missing ones.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tsfmicro_lite.utils.paths import figures_dir

from .test_browser import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "site"
COURSE = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT = sorted((ROOT / "notebooks" / "assignments").glob("*.ipynb"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site() -> Path:
    pytest.importorskip("myst_nb", reason="the site tools are in the test extra: pip install -e '.[test]'")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--keep-stale", "--out", str(SITE)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"tools/build_site.py failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return SITE


def test_every_notebook_and_student_copy_has_a_page(site: Path):
    missing = [p.name for p in COURSE if not (site / "notebooks" / f"{p.stem}.html").exists()]
    missing += [p.name for p in STUDENT if not (site / "notebooks" / "assignments" / f"{p.stem}.html").exists()]
    assert not missing, f"no page for {missing} in {site}: is docs/site/index.md's toctree missing them?"
    assert (site / "README.html").exists() and (site / "index.html").exists()


def _internal_target(page: Path, href: str) -> Path | None:
    """The file an internal link points at (None for external links, mailto and same-page anchors)."""
    url = urlparse(href)
    if url.scheme in ("http", "https", "mailto", "javascript", "data") or (not url.path and url.fragment):
        return None
    if url.scheme == "file":
        return Path(unquote(url.path))
    return (page.parent / unquote(url.path)).resolve() if url.path else None


def test_every_page_renders_with_its_figures_and_no_broken_link(site: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run this test")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (never `playwright install`)")
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    course_pages = {site / "notebooks" / f"{p.stem}.html" for p in COURSE}
    broken, failures = [], []
    shots = {"index.html": "site_index.png", "notebooks/07_reproduce_paper.html": "site_07_reproduce.png"}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            for html in pages:
                page.goto(html.as_uri(), wait_until="load")
                title = page.title()
                if not title or not page.locator("article, main").first.inner_text().strip():
                    failures.append(f"{html.relative_to(site)}: empty page (title {title!r})")
                images = page.eval_on_selector_all(
                    "article img, main img", "els => els.map(e => [e.getAttribute('src'), e.complete && "
                    "e.naturalWidth > 0])")
                failures += [f"{html.relative_to(site)}: image {src} did not load" for src, ok in images if not ok]
                if html in course_pages and not images:
                    failures.append(f"{html.relative_to(site)}: a course notebook page without any figure")
                for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
                    target = _internal_target(html, href)
                    if target is not None and not target.exists():
                        broken.append(f"{html.relative_to(site)} -> {href}")
                rel = str(html.relative_to(site))
                if rel in shots:
                    if images and rel != "index.html":                  # show a figure of the notebook page
                        page.locator("article img").first.scroll_into_view_if_needed()
                    page.screenshot(path=str(figures_dir() / shots[rel]), full_page=False)
        finally:
            browser.close()
    assert not failures, "pages that did not render:\n" + "\n".join(failures)
    assert not broken, "broken internal links:\n" + "\n".join(broken[:40])
    for name in shots.values():
        assert (figures_dir() / name).stat().st_size > 10_000, f"screenshot {name} is (nearly) empty"
