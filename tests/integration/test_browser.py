"""JupyterLab as a person uses it: start a server, open a notebook in headless Chromium, run it,
check that an explorer widget rendered and reacts to a click and that a plot appeared, and save a
screenshot (``figures_dir()/jupyterlab_widget.png``; conftest points it into ``build/``).

Uses Debian's ``/usr/bin/chromium`` through Playwright for Python (never ``playwright install``: no
browser is downloaded). Skipped, with the reason, where Chromium or Playwright is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tsfmicro_lite.utils.paths import figures_dir

CHROMIUM = os.environ.get("TSFMICRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Browser check: an explorer and a plot"),
        nbformat.v4.new_code_cell("from tsfmicro_lite.explore import retention_explorer\n"
                                  "explorer = retention_explorer(gamma=0.9, length=24)\nexplorer"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
                                  "plt.figure(figsize=(3, 2)); plt.plot([0, 1, 4, 9]); "
                                  "plt.title('a plot'); plt.show()"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def jupyterlab(tmp_path: Path):
    """A JupyterLab server on a free loopback port, no token, its own config/runtime/settings dirs."""
    if shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("jupyterlab is not installed in this environment")
    root, conf = tmp_path / "work", tmp_path / "jupyter-config"
    (conf / "labconfig").mkdir(parents=True)
    root.mkdir()
    # no "would you like news?" toast, no update check: nothing to click away, no network
    (conf / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(conf), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_PLATFORM_DIRS": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log = (tmp_path / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly", "--allow-root"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (tmp_path / "jupyterlab.log").read_text()[-3000:]
                    pytest.fail(f"JupyterLab did not start on {url}:\n{tail}")
                time.sleep(0.5)
        yield url, root
    finally:
        try:
            import psutil

            for child in psutil.Process(proc.pid).children(recursive=True):   # kernels live in their own session
                child.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_widget_extension_is_installed_for_jupyterlab():
    out = subprocess.run([str(Path(sys.executable).parent / "jupyter-labextension"), "list"],
                         capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert "@jupyter-widgets/jupyterlab-manager" in text and "enabled" in text, text


def test_jupyterlab_renders_explorer_reacts_to_click_and_plots(jupyterlab):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run this test")
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (the PyPI package) is not installed; pip install playwright — never "
                    "`playwright install`, the test drives Debian's chromium")
    url, root = jupyterlab
    _notebook(root / "explore.ipynb")
    shot = figures_dir() / "jupyterlab_widget.png"
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(root.parent / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.set_default_timeout(45_000)
            page.goto(f"{url}/lab/tree/explore.ipynb")
            try:
                page.locator(".jp-Notebook").wait_for()
                select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
                try:                                                  # JupyterLab may ask which kernel to use
                    select.click(timeout=10_000)
                except PlaywrightTimeout:
                    pass
                page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_text("Run All Cells", exact=True).click()
                explorer = page.locator(".tsfmicro-explorer")
                explorer.wait_for()
                explorer.locator("img").first.wait_for()                        # the explorer's picture
                page.locator(".jp-OutputArea-output img").last.wait_for()        # the matplotlib plot
                status = explorer.locator(".widget-html").last
                page.wait_for_function("el => el.textContent.includes('float64')", arg=status.element_handle())
                before = explorer.locator("img").first.get_attribute("src")
                explorer.get_by_role("button", name="float32").click()           # a click, as a person would
                page.wait_for_function("el => el.textContent.includes('in float32')", arg=status.element_handle())
                page.wait_for_function("([img, old]) => img.getAttribute('src') !== old",
                                       arg=[explorer.locator("img").first.element_handle(), before])
                assert "float32" in status.inner_text()
                page.screenshot(path=str(shot), full_page=False)
            except Exception as exc:
                failure = figures_dir() / "jupyterlab_failure.png"
                page.screenshot(path=str(failure), full_page=True)
                raise AssertionError(f"the JupyterLab check failed ({type(exc).__name__}: {str(exc)[:300]}); "
                                     f"screenshot of the page: {failure}") from None
        finally:
            ctx.close()
    assert shot.exists() and shot.stat().st_size > 10_000
