"""End to end, in a real browser: start the app, fill the self-assessment form, evaluate, read the result.

Drives Debian's Chromium (no browser download: the machine has no outside
network) through Playwright. Skipped, and said so, where Chromium is not
installed, unless CEP_REQUIRE_BROWSER=1 (CI), where its absence fails.
The browser must ask nothing of any host but the app's own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scoring.i18n import code_label, t
from scoring.schema import example

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "e2e_self_assessment.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT = 90  # seconds for the server to answer its health check
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
EXAMPLE = example()


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = _chromium()
    if path is None:
        if os.environ.get("CEP_REQUIRE_BROWSER") == "1":
            pytest.fail("CEP_REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium not installed: browser end-to-end test skipped")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    """`streamlit run ui/app.py` on a free local port, stopped after the module's tests."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {**os.environ, "CEP_DB_URL": f"sqlite:///{tmp / 'cep.db'}", "OMP_NUM_THREADS": "1"}
    log = open(tmp / "server.log", "w+b")  # noqa: SIM115 - closed below, after the server stops
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the app did not start:\n{log.read().decode(errors='replace')}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _idle(page) -> None:
    """Wait until the app has finished the run a widget change started."""
    time.sleep(0.3)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=30_000)


def _text(page, label: str, value: str) -> None:
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(value)
    box.press("Enter")
    _idle(page)


def _number(page, label: str, value: float) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    _idle(page)


def _choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    _idle(page)


def _required(name: str) -> str:
    return f"{t(f'ui.field.{name}', 'fr')} *"


def test_a_project_lead_fills_the_form_and_reads_an_explained_result(chromium, server):
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 4200})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
            page.goto(server)
            page.get_by_role("heading", name=t("ui.sa.title", "fr")).wait_for(timeout=60_000)
            _idle(page)
            _text(page, _required("dossier_id"), "CEP-E2E-001")
            _text(page, _required("title"), "Télésurveillance de l'insuffisance cardiaque")
            for name, code in (("filiere", "e_sante"), ("therapeutic_area", "cardiology"),
                               ("technology_axis", "remote_monitoring"), ("funding_window", "region_idf"),
                               ("carrier_type", "tpe_pme")):
                _choose(page, _required(name), code_label(name, code, "fr"))
            for name, value in (("trl", 5), ("year", 2024), ("duration_months", 24), ("budget_eur", 800000),
                                ("aid_requested_eur", 400000)):
                _number(page, _required(name), value)
            page.get_by_role("button", name=t("ui.sa.next", "fr")).click()
            _idle(page)
            for qid, answer in EXAMPLE["answers"].items():
                if qid.startswith("ii_"):  # the first criterion's questions: industrial interest
                    group = page.get_by_role("radiogroup", name=t(f"rubric.{qid}", "fr"))
                    group.get_by_text(t(f"rubric.{qid}.{answer}", "fr"), exact=True).click()
                    _idle(page)
            page.get_by_role("button", name=t("ui.sa.evaluate", "fr")).click()
            _idle(page)
            page.get_by_text(t("ui.prob.success", "fr"), exact=True).first.wait_for(timeout=30_000)
            body = page.locator('[data-testid="stMain"]').inner_text()
            with page.expect_download() as download:
                page.get_by_role("button", name=t("ui.report.download", "fr")).click()
            report_name = download.value.suggested_filename
            report = Path(download.value.path()).read_text(encoding="utf-8")
        finally:
            # Also on failure: the screenshot shows where the form stopped.
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            browser.close()
    for key in ("ui.prob.labeled", "ui.prob.success", "ui.reason.for", "ui.reason.against", "ui.report.download"):
        assert t(key, "fr") in body, key
    assert "%" in body and "Medi'Scope 2025" in body
    assert report_name.endswith(".html") and "CEP-E2E-001" in report
    assert outside == [], f"the page asked outside hosts for {outside}"
