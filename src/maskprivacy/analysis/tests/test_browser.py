"""The real page in headless Chromium (Debian's package, driven by Playwright): upload, result, screenshot.

Skips, saying why, only when Chromium or Playwright is absent; CI installs both (.ci/run). The
screenshot is written to the test's temporary folder, or to $MASKPRIVACY_SCREENSHOT when set.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MASKPRIVACY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_run):
    import uvicorn

    from maskprivacy.analysis.app import create_app

    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(create_app(str(demo_run)), host="127.0.0.1", port=port, access_log=False, log_level="warning")
    )
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.time() + 60
    while not srv.started:
        if time.time() > deadline or not th.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    th.join(10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian: apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_upload_shows_faces_side_by_side(browser, server, face_path, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(server)
    page.wait_for_function("document.querySelectorAll('#style option').length >= 10")
    page.select_option("#style", "surgical")
    page.select_option("#color", "blue")
    page.set_input_files("#photo", str(face_path))
    page.click("#analyze")
    page.wait_for_selector(".face-card", timeout=120_000)
    summary = page.inner_text("#summary")
    assert summary.startswith("Found 1 face") and "surgical" in summary
    card = page.locator(".face-card").first
    assert card.locator(".side").count() == 2
    sizes = card.locator("img").evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert sizes == [[True, 200, 200], [True, 200, 200]]
    assert "Sex" in card.inner_text() and "What the mask changed" in card.inner_text()
    assert page.locator(".box").count() == 1
    shot = Path(os.environ.get("MASKPRIVACY_SCREENSHOT") or tmp_path / "analyze-page.png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_non_image_upload_shows_the_reason(browser, server, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo at all\n")
    page = browser.new_page()
    page.goto(server)
    page.set_input_files("#photo", str(bad))
    page.click("#analyze")
    page.wait_for_selector("#error", state="visible", timeout=60_000)
    assert "not a readable image" in page.inner_text("#error")
    assert page.locator("#result").is_hidden()
    page.close()


def test_protect_panel_ranks_the_occlusions_and_shows_the_grid(browser, server, face_path, tmp_path):
    from maskprivacy.masking.occluders import OCCLUSIONS

    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(server)
    page.set_input_files("#photo", str(face_path))
    page.click("#protect")
    page.wait_for_selector("#protect-result table.ranking", timeout=120_000)
    assert page.locator("#protect-result").is_visible() and page.locator("#result").is_hidden()
    note = page.inner_text("#protect-attacker")
    assert "masked_uniform" in note and "never trained on occlusions" in note  # the demo run has no adaptive one
    assert page.locator("table.ranking tr.occlusion").count() == len(OCCLUSIONS)
    assert page.locator("table.ranking tr.bare").count() == 1
    first = page.locator("table.ranking tr.occlusion").first.inner_text()
    assert first.startswith("1") and "%" in first
    page.wait_for_function("document.getElementById('protect-grid').complete")
    w, h = page.locator("#protect-grid").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert w >= 600 and h > 400
    shot = tmp_path / "protect-panel.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()
