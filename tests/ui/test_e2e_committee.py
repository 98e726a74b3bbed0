"""End to end, in Chromium: a committee session on a shared-mode server.

Three experts and a chair, each in their own browser context (their own
session), sign in and work on five dossiers: the chair assigns, one expert
declares a conflict of interest, the experts score blind, one dossier splits
them by 3.5 points, the chair reads the consensus with the disagreement first,
decides, and downloads the printable minutes. The store and its audit log then
hold exactly what was done, by whom, and the browsers asked nothing of any
other host. Skipped without Chromium, as tests/ui/test_e2e_browser.py says.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scoring import formatting
from scoring.auth import hash_password
from scoring.bench import CHROMIUM_ARGS, serve_app
from scoring.catalogue import CRITERIA
from scoring.i18n import t
from scoring.store import Store, import_frame
from tests.ui.test_committee import PASSWORD, PEOPLE, five_dossiers
from tests.ui.test_e2e_browser import LOCAL, _idle, chromium, listener  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "e2e_committee.png"
FAIR = dict.fromkeys(CRITERIA, 3.5)


def fr(key: str, **values) -> str:
    return t(key, "fr", **values)


@pytest.fixture(scope="module")
def panel_url(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("e2e-committee") / "cep.db"
    url = f"sqlite:///{path}"
    with Store(url) as store:
        import_frame(store, five_dossiers(), user="secretary")
        for name, role, kind in PEOPLE:
            store.add_user(name, role, expert_kind=kind, password_hash=hash_password(PASSWORD), user="admin")
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory, listener, panel_url) -> str:  # noqa: F811 - the imported fixture
    proxies = {
        k: listener.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    }
    env = {
        **{k: v for k, v in os.environ.items() if k.lower() != "no_proxy"},
        **proxies,
        "CEP_DB_URL": panel_url,
        "CEP_MODE": "shared",
    }
    try:
        with serve_app(env, log=tmp_path_factory.mktemp("e2e") / "server.log") as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


class Person:
    """One committee member in a browser context of their own (a session of their own)."""

    def __init__(self, browser, url: str, name: str, outside: list[str]):
        self.page = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
        self.page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
        self.page.goto(url)
        self.page.get_by_role("heading", name=fr("ui.auth.title")).wait_for(timeout=60_000)
        self.page.get_by_role("textbox", name=fr("ui.auth.name"), exact=True).fill(name)
        self.page.get_by_label(fr("ui.auth.password"), exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name=fr("ui.auth.submit")).click()
        self.page.get_by_role("heading", name=fr("ui.sa.title")).wait_for(timeout=60_000)
        self.open_committee()

    def open_committee(self) -> None:
        # Through the navigation, not the address: a page load is a new session, which signs in again.
        self.page.get_by_role("link", name=fr("ui.nav.committee")).click()
        self.page.get_by_role("heading", name=fr("ui.cm.title")).wait_for(timeout=60_000)
        _idle(self.page)

    def text(self) -> str:
        return self.page.locator('[data-testid="stMain"]').inner_text()

    def click(self, label: str) -> None:
        self.page.get_by_role("button", name=label, exact=True).click()
        _idle(self.page)

    def tab(self, section: str) -> None:
        self.page.get_by_role("tab", name=fr(f"ui.cm.tab.{section}")).click()
        _idle(self.page)

    def pick(self, dossier: str) -> None:
        self.page.get_by_role("combobox", name=fr("ui.cm.pick"), exact=True).click()
        self.page.get_by_role("option", name=dossier).first.click()  # the option's label starts with the id
        _idle(self.page)

    def score(self, dossier: str, scores: dict[str, float], why: dict[str, str]) -> None:
        self.pick(dossier)
        for c in CRITERIA:
            # half points, written the French way ("3,5/5"): a number box read "3,5" as 35
            self.page.get_by_role("combobox", name=fr(f"criterion.{c}"), exact=True).click()
            self.page.get_by_role("option", name=formatting.score(scores[c], "fr"), exact=True).click()
            _idle(self.page)
            if why.get(c):
                self.page.get_by_role(
                    "textbox", name=fr("ui.cm.justification", criterion=fr(f"criterion.{c}")), exact=True
                ).fill(why[c])
        self.click(fr("ui.cm.submit"))
        self.page.get_by_text(fr("ui.cm.submitted", id=dossier)).wait_for(timeout=30_000)


def test_a_committee_session_in_the_browser(chromium, server, panel_url):  # noqa: F811 - fixtures
    from playwright.sync_api import sync_playwright

    with Store(panel_url) as store:
        ids = [d.dossier_id for d in store.list_dossiers()]
    d1, d2, d5 = ids[0], ids[1], ids[4]
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        chair = None
        try:
            # Nobody signed in: a page's address gives the sign-in form, not the page.
            stranger = browser.new_context().new_page()
            stranger.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
            stranger.goto(f"{server}/triage")
            stranger.get_by_role("heading", name=fr("ui.auth.title")).wait_for(timeout=60_000)
            _idle(stranger)
            triage_shown = stranger.get_by_role("heading", name=fr("ui.triage.title")).count()

            chair = Person(browser, server, "carla", outside)
            chair.tab("assign")
            chair.click(fr("ui.cm.assign_save"))
            chair.page.get_by_text(fr("ui.cm.assigned", added=15, removed=0)).wait_for(timeout=30_000)

            ben = Person(browser, server, "ben", outside)
            ben.pick(d5)
            ben.page.get_by_text(fr("ui.cm.conflict_title")).click()
            ben.page.get_by_role("textbox", name=fr("ui.cm.conflict_reason"), exact=True).fill("co-founder")
            ben.click(fr("ui.cm.conflict_declare"))
            ben.page.get_by_text(fr("ui.cm.conflict_declared", expert="ben", id=d5)).wait_for(timeout=30_000)

            ana = Person(browser, server, "ana", outside)
            ana.score(d2, {**FAIR, "scientific_quality": 1.0}, {"scientific_quality": "no proof of concept"})
            ana.score(d1, FAIR, {})

            ben.pick(d2)
            blind_before = fr("ui.cm.blind") in ben.text()
            ben.score(d2, {**FAIR, "scientific_quality": 4.5}, {})
            grid = ben.page.locator('[data-testid="stDataFrame"]')  # drawn on a canvas: no text to read
            grid.first.wait_for(timeout=30_000)
            panel_table = grid.count()
            after = ben.text()

            cleo = Person(browser, server, "cleo", outside)
            cleo.score(d2, {**FAIR, "scientific_quality": 3.0}, {})

            chair.page.get_by_role("link", name=fr("ui.nav.self_assessment")).click()
            chair.page.get_by_role("heading", name=fr("ui.sa.title")).wait_for(timeout=60_000)
            chair.open_committee()  # the page read afresh: the experts' scores are in
            chair.tab("consensus")
            states = (fr("ui.cm.state.discuss"), fr("ui.cm.state.agreed"))
            heads = [
                h
                for h in chair.page.locator('[data-testid="stExpander"] summary').all_inner_texts()
                if h.endswith(states)
            ]  # the dossiers' expanders, in the page's order
            disputed = chair.page.locator('[data-testid="stExpander"]', has_text=fr("ui.cm.state.discuss")).first
            disputed.get_by_text(fr("ui.cm.labelled"), exact=True).click()
            _idle(chair.page)
            disputed.get_by_role("textbox", name=fr("ui.cm.reasons"), exact=True).fill("Strong team.")
            disputed.get_by_role("button", name=fr("ui.cm.decide"), exact=True).click()
            _idle(chair.page)
            chair.page.get_by_text(fr("ui.cm.decided", id=d2)).wait_for(timeout=30_000)
            with chair.page.expect_download() as download:
                chair.click(fr("ui.cm.minutes_html"))
            html = Path(download.value.path()).read_text(encoding="utf-8")
        finally:
            if chair is not None:
                SCREENSHOT.parent.mkdir(exist_ok=True)
                chair.page.screenshot(path=str(SCREENSHOT), full_page=True)
            browser.close()

    assert triage_shown == 0
    assert blind_before and fr("ui.cm.blind") not in after
    assert panel_table == 1 and fr("ui.cm.discuss", criteria=fr("criterion.scientific_quality")) in after
    assert len(heads) == 2 and d2 in heads[0] and heads[0].endswith(fr("ui.cm.state.discuss")) and d1 in heads[1]
    assert d2 in html and "Strong team." in html and fr("ui.cm.labelled") in html
    with Store(panel_url) as store:
        assert store.assignments()[d5] == ("ana", "cleo")  # ben's conflict took him off it
        assert store.queue("ben") == ids[:4]
        decided = store.decision(d2)
        assert (decided.labeled, decided.reasons, decided.created_by) == (True, "Strong team.", "carla")
        log = sorted((e for i in ids for e in store.history(i)), key=lambda e: e.id)
        done = [(e.user_name, e.action, e.dossier_id) for e in log if e.action not in ("create", "save")]
        assert done == [
            *[("carla", "assign", i) for i in ids for _ in range(3)],
            ("ben", "declare_conflict", d5),
            ("ana", "assess", d2),
            ("ana", "assess", d1),
            ("ben", "assess", d2),
            ("cleo", "assess", d2),
            ("carla", "decide", d2),
        ]
        assert store.verify_audit().intact
    assert outside == [], f"the pages asked outside hosts for {outside}"
