"""End to end, in a real browser: the self-assessment form, the committee's triage, and nothing leaving the machine.

Drives Debian's Chromium (no browser download: the machine has no outside
network) through Playwright. Skipped, and said so, where Chromium is not
installed, unless CEP_REQUIRE_BROWSER=1 (CI), where its absence fails.
The browser must ask nothing of any host but the app's own; the server runs
on the repository's own configuration (no address flags) with every HTTP(S)
proxy variable pointing at a local listener, so any outbound call it makes,
such as an external-IP lookup, lands there and fails the tests.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from scoring import catalogue, formatting, jsonform, schema
from scoring.bench import CHROMIUM_ARGS, find_chromium, serve_app
from scoring.i18n import code_label, t
from scoring.jsonform import example
from scoring.synthetic import generate
from ui import streamlit_words as sw
from ui.components import MAX_UPLOAD_MB, languages

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "e2e_self_assessment.png"
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
EXAMPLE = example()


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CEP_REQUIRE_BROWSER") == "1":
            pytest.fail("CEP_REQUIRE_BROWSER=1 but Chromium is not installed (apt-get install chromium)")
        pytest.skip("Chromium not installed: browser end-to-end test skipped")
    return path


class Listener:
    """A local HTTP server that records every request made to it (as a host or as a proxy) and answers 404."""

    def __init__(self):
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                seen.append(f"{self.command} {self.path}")
                self.send_error(404)

            do_GET = do_POST = do_HEAD = do_CONNECT = _record

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def listener():
    found = Listener()
    yield found
    found.close()


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-db") / "cep.db"


@pytest.fixture(scope="module")
def server(tmp_path_factory, listener, db_path) -> str:
    """`streamlit run ui/app.py` on the repository's configuration and a free port, stopped after the module."""
    proxies = {
        k: listener.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    }
    env = {
        **{k: v for k, v in os.environ.items() if k.lower() != "no_proxy"},
        **proxies,
        "CEP_DB_URL": f"sqlite:///{db_path}",
    }
    try:
        with serve_app(env, log=tmp_path_factory.mktemp("e2e") / "server.log") as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


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
            for name, code in (
                ("filiere", "e_sante"),
                ("therapeutic_area", "cardiology"),
                ("technology_axis", "remote_monitoring"),
                ("funding_window", "region_idf"),
                ("carrier_type", "tpe_pme"),
            ):
                _choose(page, _required(name), code_label(name, code, "fr"))
                # Escape in a chosen box must not empty it: the evaluation below would be refused
                box = page.get_by_role("combobox", name=_required(name), exact=True)
                box.click()
                box.press("Escape")
                _idle(page)
            for name, value in (
                ("trl", 5),
                ("year", 2024),
                ("duration_months", 24),
                ("budget_eur", 800000),
                ("aid_requested_eur", 400000),
            ):
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


CHARTS = """import streamlit as st

x, y = {"field": "p", "type": "quantitative"}, {"field": "w", "type": "nominal"}
spec = {"mark": "bar", "encoding": {"x": x, "y": y}}
if st.query_params.get("empty"):
    st.vega_lite_chart({**spec, "data": {"values": []}})
st.vega_lite_chart({**spec, "data": {"values": [{"p": 1.0, "w": "a"}, {"p": 2.0, "w": "b"}]}})
st.text("Fin de la page")
"""


def test_a_page_is_timed_as_drawn_only_with_its_text_shown_and_every_chart_marked(chromium, tmp_path):
    """The timings end on scoring.bench.DRAWN: an empty chart, its axes drawn, does not pass, nor a text that
    is only part of the one shown; the page with its chart's bars and its text does."""
    from playwright.sync_api import sync_playwright

    from scoring.bench import CHART_MARKS, DRAWN

    script = tmp_path / "charts.py"
    script.write_text(CHARTS, encoding="utf-8")
    with serve_app(dict(os.environ), script=str(script)) as url, sync_playwright() as p:
        browser, page = _launch(p, chromium)
        try:
            for query, charts in (("?empty=1", 2), ("", 1)):
                page.goto(url + query)
                page.wait_for_function(
                    f"() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg').length == {charts}"
                )
                _idle(page)
                shown = {text: page.evaluate(f"({DRAWN})", text) for text in ("Fin de la page", "Fin", "Absent")}
                if query:
                    assert page.evaluate(CHART_MARKS) == [False, True]
                    assert shown == {"Fin de la page": False, "Fin": False, "Absent": False}
                else:
                    assert shown == {"Fin de la page": True, "Fin": False, "Absent": False}
        finally:
            browser.close()


# --------------------------------------------------------------------------- nothing leaves the machine


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, read from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as fh:
            for line in list(fh)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_the_app_listens_on_this_machine_only_and_calls_no_one_at_start(server, listener):
    port = int(server.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, in the kernel's byte order
    assert listener.requests == [], f"the server called out at start: {listener.requests}"


def _launch(p, chromium: str):
    browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 3000}, accept_downloads=True)
    return browser, page


def _open(page, server: str, path: str, heading: str) -> None:
    page.goto(f"{server}/{path}")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    _idle(page)


def _upload(page, paths: list[Path]) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files([str(x) for x in paths])
    _idle(page)


def _write_dossiers(folder: Path, docs: list[dict]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for doc in docs:
        path = folder / f"{doc['dossier_id']}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        out.append(path)
    return out


def _six_dossiers() -> list[dict]:
    raw = generate(6, 11).drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES])
    return [jsonform.to_json(r) for r in schema.validate_frame(raw).frame.to_dict("records")]


def _queue_ids(page) -> list[str]:
    """The queue's dossier ids, top to bottom, as the CSV export lists them."""
    return list(_export(page)[t("ui.queue.dossier_id", "fr")])


def _export(page) -> pd.DataFrame:
    with page.expect_download() as download:
        page.get_by_role("button", name=t("ui.download.table", "fr", fmt="CSV")).click()
    return pd.read_csv(download.value.path(), dtype=str, keep_default_na=False)


def _pane_heading(page) -> str:
    """The detail pane's heading: the dossier whose scores, note and decision the expert is typing."""
    return page.locator('[data-testid="stHeading"]').filter(has_text=" — ").last.inner_text().strip()


def _pick_first(page, lang: str = "fr") -> None:
    """Open the queue's first dossier in the pane (none is open until one is picked)."""
    page.get_by_role("combobox", name=t("ui.triage.pick", lang), exact=True).click()
    page.get_by_role("option").first.click()
    _idle(page)


def _save_queue(page) -> None:
    page.get_by_text(t("ui.store.title", "fr"), exact=True).click()
    _text(page, t("ui.store.user", "fr"), "Comité")
    page.get_by_role("button", name=t("ui.store.save_triage", "fr")).click()
    _idle(page)


def test_an_expert_scores_notes_and_decides_the_dossier_they_picked(chromium, server, db_path, tmp_path):
    from playwright.sync_api import sync_playwright

    from scoring.store import Store

    six = _six_dossiers()
    paths = _write_dossiers(tmp_path / "six", six)
    more = tmp_path / "more.csv"
    extra = generate(3, 12).drop(columns=[*catalogue.SCORE_COLUMNS, *catalogue.OUTCOMES])
    extra.assign(dossier_id=[f"CSV-{n}" for n in range(3)]).to_csv(more, index=False)

    def _acronym(dossier_id: str) -> str:
        return next(d.get("acronym") or "" for d in six if d["dossier_id"] == dossier_id)

    with sync_playwright() as p:
        browser, page = _launch(p, chromium)
        try:
            _open(page, server, "triage", t("ui.triage.title", "fr"))
            _upload(page, paths)
            picked = _queue_ids(page)[2]
            page.get_by_role("combobox", name=t("ui.triage.pick", "fr"), exact=True).click()
            page.get_by_role("option", name=picked).click()
            _idle(page)
            for criterion in catalogue.CRITERIA:  # poor on every criterion: it sinks in the queue
                _choose(page, t(f"criterion.{criterion}", "fr"), formatting.score(0.5, "fr"))  # "0,5/5"
                assert _pane_heading(page).endswith(f"{picked} — {_acronym(picked)}")
            assert _queue_ids(page).index(picked) > 2
            assert _pane_heading(page).endswith(f"{picked} — {_acronym(picked)}")
            notes = page.get_by_role("textbox", name=t("ui.triage.notes", "fr"), exact=True)
            notes.fill("besoin médical non démontré")
            notes.blur()
            _idle(page)
            _choose(page, t("ui.triage.decision", "fr"), t("ui.decision.not_labeled", "fr"))
            _upload(page, [more])  # a CSV added to the queue re-sorts it again
            assert len(_queue_ids(page)) == 9
            assert _pane_heading(page).endswith(f"{picked} — {_acronym(picked)}")
            export = _export(page).set_index(t("ui.queue.dossier_id", "fr"))
            _save_queue(page)
            saved_text = page.locator('[data-testid="stMain"]').inner_text()
        finally:
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT.with_name("e2e_triage.png")), full_page=True)
            browser.close()
    assert export[t("ui.queue.notes", "fr")].to_dict() == {
        i: ("besoin médical non démontré" if i == picked else "") for i in export.index
    }
    assert export[t("ui.queue.decision", "fr")].to_dict() == {
        i: (t("ui.decision.not_labeled", "fr") if i == picked else "") for i in export.index
    }
    assert t("ui.store.triage_saved", "fr", n=9, new=9, same=0, assessed=1, kept=0, decided=1) in saved_text
    store = Store(f"sqlite:///{db_path}")
    try:
        assert {i: d.labeled for i, d in store.decisions().items()} == {picked: False}
        reviewed = {i: store.scores_visible_to("Comité", i).assessments for i in export.index}
        assert [i for i, a in reviewed.items() if a] == [picked]
        [mine] = reviewed[picked]
        assert mine.notes == "besoin médical non démontré"
        assert mine.scores == dict.fromkeys(catalogue.CRITERIA, 0.5)
    finally:
        store.close()


def test_markdown_images_links_and_html_in_dossiers_fetch_nothing_on_any_page(chromium, server, listener, tmp_path):
    from playwright.sync_api import sync_playwright

    def bait(where: str) -> str:
        return (
            f'![x]({listener.url}/{where}.png) <img src="{listener.url}/{where}-html.png"> '
            f"[lien]({listener.url}/{where}-link) {listener.url}/{where}-bare.png"
        )

    docs = [
        {**d, "title": bait(f"title{n}"), "acronym": f"![a]({listener.url}/acr{n}.png)", "call": bait(f"call{n}")}
        for n, d in enumerate(_six_dossiers())
    ]
    paths = _write_dossiers(tmp_path / "bait", docs)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({**docs[0], "filiere": bait("filiere"), "trl": bait("trl")}), encoding="utf-8")
    table = pd.DataFrame([jsonform.from_json(d) for d in docs])
    table.loc[1, "therapeutic_area"] = bait("area")
    table[bait("column")] = "x"
    # A file name cannot hold "/", but browsers read "\\" as "/" in an http address.
    portfolio = tmp_path / f"![p]({listener.url.replace('/', chr(92))}{chr(92)}file.png).csv"
    table.to_csv(portfolio, index=False)
    broken = tmp_path / "broken.csv"
    broken.write_text(f"{bait('header')},b\n1,2\n", encoding="utf-8")
    outside: list[str] = []
    with sync_playwright() as p:
        browser, page = _launch(p, chromium)
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
        try:
            _open(page, server, "", t("ui.sa.title", "fr"))
            page.get_by_text(t("ui.draft.title", "fr"), exact=True).click()
            _upload(page, [draft])
            _open(page, server, "triage", t("ui.triage.title", "fr"))
            _upload(page, paths)
            _pick_first(page)
            notes = page.get_by_role("textbox", name=t("ui.triage.notes", "fr"), exact=True)
            notes.fill(bait("note"))
            notes.blur()
            _idle(page)
            _save_queue(page)
            _open(page, server, "portfolio", t("ui.pf.title", "fr"))
            _upload(page, [portfolio])
            _open(page, server, "portfolio", t("ui.pf.title", "fr"))
            _upload(page, [broken])
            _open(page, server, "model_card", t("ui.model.title", "fr"))
            page.get_by_text(t("ui.model.full_card", "fr"), exact=True).click()
            _idle(page)
            page.wait_for_timeout(1000)  # an image request would be on its way by now
        finally:
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT.with_name("e2e_bait.png")), full_page=True)
            browser.close()
    assert listener.requests == [], f"the page fetched what the dossiers pointed at: {listener.requests}"
    assert [u for u in outside if not u.startswith(listener.url)] == []


# -------------------------------------------------------------------------- the four pages, in time and in one language

TIMINGS = ROOT / "test-artifacts" / "app_timings.json"
NAV = {
    "self_assessment": "ui.nav.self_assessment",
    "triage": "ui.nav.triage",
    "portfolio": "ui.nav.portfolio",
    "model_card": "ui.nav.model",
}
TITLES = {
    "self_assessment": "ui.sa.title",
    "triage": "ui.triage.title",
    "portfolio": "ui.pf.title",
    "model_card": "ui.model.title",
}
# What the app's style sheet writes in place of Streamlit's own (English) uploader words, read off the page
# (a zone holding files shows them instead of its button and limit).
UPLOADER_WORDS = """() => [...document.querySelectorAll('[data-testid="stFileUploaderDropzone"]')]
    .filter(zone => zone.querySelector('[data-testid="stFileUploaderDropzoneInstructions"]')).map(zone =>
    ['button [data-testid="stMarkdownContainer"]', '[data-testid="stFileUploaderDropzoneInstructions"] > div']
    .map(part => getComputedStyle(zone.querySelector(part), '::after').content))"""


# The words Streamlit draws only on an event, forced here: files dragged over the first uploader (a drag
# holding a file, as the browser sends it), a file the uploader refuses (a .txt), and a download that failed
# (its error element, placed as Streamlit places it, since no download of the app fails on demand).
DRAG_OVER = """zone => { const data = new DataTransfer();
    data.items.add(new File(['{}'], 'a.json', {type: 'application/json'}));
    zone.dispatchEvent(new DragEvent('dragenter', {dataTransfer: data, bubbles: true})); }"""
DRAG_END = (
    """zone => zone.dispatchEvent(new DragEvent('dragleave', {dataTransfer: new DataTransfer(), bubbles: true}))"""
)
FAILED_DOWNLOAD = """button => { const error = document.createElement('div');
    error.setAttribute('data-testid', 'stDownloadButtonError');
    error.textContent = 'Failed to generate file for download'; button.appendChild(error); }"""
SHOWN = """element => [getComputedStyle(element, '::after').content, element.innerText.trim()]"""


def _event_words(page, lang: str, tmp_path: Path) -> list[str]:
    """What the uploader says while files are dragged over it and for a refused file, what a failed download
    says, each in `lang` with Streamlit's own English hidden, and the file chips' sizes still shown."""
    expected = {
        sw.DRAG: t("ui.upload.drag", lang),
        sw.CHIP_ERROR: t("ui.upload.refused", lang),
        sw.DOWNLOAD_ERROR: t("ui.download.error", lang),
    }
    found = {}
    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    zone.evaluate(DRAG_OVER)
    found[sw.DRAG] = page.locator(sw.DRAG).first.evaluate(SHOWN)
    zone.evaluate(DRAG_END)
    refused = tmp_path / "notes.txt"
    refused.write_text("pas un dossier", encoding="utf-8")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(refused))
    found[sw.CHIP_ERROR] = page.locator(sw.CHIP_ERROR).first.evaluate(SHOWN)
    sizes = page.locator(sw.CHIP_SIZE)  # the refused file's chip, like any, would give its size ("14 bytes")
    assert sizes.count(), "no file chip to look at"
    shown_sizes = [sizes.nth(k).inner_text() for k in range(sizes.count()) if sizes.nth(k).is_visible()]
    page.locator('[data-testid="stDownloadButton"]').first.evaluate(FAILED_DOWNLOAD)
    found[sw.DOWNLOAD_ERROR] = page.locator(sw.DOWNLOAD_ERROR).first.evaluate(SHOWN)
    out = [
        f"{where} shows {shown!r} and says {own!r}"
        for where, (shown, own) in found.items()
        if shown != f'"{expected[where]}"' or own
    ]
    return out + [f"a file chip says {x!r}" for x in shown_sizes]


ICONS = """() => [...document.querySelectorAll('span')].filter(e => e.children.length === 0 &&
    getComputedStyle(e).fontFamily.includes('Material')).map(e => e.textContent.trim())"""


def _without_icons(line: str, icons: set[str]) -> str:
    words = line.split()
    while words and words[0] in icons:
        words.pop(0)
    return " ".join(words)


def _fill(page, name: str, lang: str, draft: Path) -> None:
    """Give the page something to show: the example dossier evaluated, the example queue, the example base."""
    if name == "self_assessment":
        if not page.get_by_test_id("stFileUploaderDropzoneInput").count():  # the drafts' panel is closed
            page.get_by_text(t("ui.draft.title", lang), exact=True).click()
        _upload(page, [draft])
        # the draft fills the required select boxes, after which Streamlit adds "(required)" to their labels:
        # drawn, and hidden (the form marks its required fields itself, "Filière *")
        marks = page.locator(sw.REQUIRED)
        assert marks.count() and not any(marks.nth(k).is_visible() for k in range(marks.count()))
        page.get_by_role("button", name=t("ui.sa.evaluate", lang)).click()
        page.get_by_role("button", name=t("ui.report.download", lang)).wait_for(timeout=60_000)
    elif name in ("triage", "portfolio"):
        page.get_by_role("button", name=t("ui.triage.examples" if name == "triage" else "ui.pf.example", lang)).click()
        page.get_by_text(t("ui.triage.pick" if name == "triage" else "ui.pf.table", lang), exact=True).first.wait_for(
            timeout=120_000
        )
        if name == "triage":  # the pane too: scores, rules, reasons, evidence, interview brief
            _idle(page)
            _pick_first(page, lang)
    _idle(page)


def test_the_app_answers_in_time_and_every_page_speaks_one_language(chromium, server, tmp_path):
    """Timings recorded for `cep-scoring bench --app` to print (not asserted: a shared machine's load moves
    them), then the four pages in French and in English, each with something to show (a result, a queue, a
    scored base): a screenshot each, the language checks, and Streamlit's own words (uploaders, file chips, a
    failed download)."""
    from playwright.sync_api import sync_playwright

    from scoring.bench import app_timings
    from tests.ui.language import ALLOWED, problems

    timings = app_timings(server, chromium, tmp_path)
    TIMINGS.parent.mkdir(exist_ok=True)
    TIMINGS.write_text(json.dumps(timings, indent=2), encoding="utf-8")
    print(json.dumps(timings, indent=2))
    found, uploaders = [], 0
    draft = _write_dossiers(tmp_path / "draft", [EXAMPLE])[0]
    with sync_playwright() as p:
        browser, page = _launch(p, chromium)
        try:
            _open(page, server, "", t("ui.sa.title", "fr"))
            for lang in ("fr", "en"):
                if lang == "en":  # the sidebar's language choice; the session keeps the language from page to page
                    page.get_by_text(languages()["en"], exact=True).click()
                    _idle(page)
                for name in NAV:
                    page.get_by_role("link", name=t(NAV[name], lang), exact=True).click()
                    page.get_by_role("heading", name=t(TITLES[name], lang)).first.wait_for(timeout=60_000)
                    _idle(page)
                    _fill(page, name, lang, draft)
                    page.screenshot(path=str(SCREENSHOT.with_name(f"e2e_{name}_{lang}.png")), full_page=True)
                    # icons are drawn from a font's ligatures: their names are in the text, not on the screen
                    # (an element's own icon, or one inside a Markdown text, at the start of its line)
                    icons = set(page.evaluate(ICONS))
                    text = "\n".join(
                        _without_icons(line, icons)
                        for line in page.locator('[data-testid="stAppViewContainer"]').inner_text().splitlines()
                    )
                    found += [f"{name} ({lang}): {x}" for x in problems(text, lang, ALLOWED)]
                    zones = page.evaluate(UPLOADER_WORDS)
                    expected = [f'"{t("ui.upload.button", lang)}"', f'"{t("ui.upload.limit", lang, mb=MAX_UPLOAD_MB)}"']
                    found += [f"{name} ({lang}): the uploader says {z}" for z in zones if z != expected]
                    uploaders += len(zones)
                    if name == "triage":  # last: the refused file stays in its uploader
                        found += [f"{name} ({lang}): {x}" for x in _event_words(page, lang, tmp_path)]
        finally:
            browser.close()
    assert not found, "\n".join(found)
    assert uploaders >= 4  # the triage and portfolio uploaders, in each language
