"""The committee in the app (AppTest, shared mode): sign-in, roles, and a session of three experts and a
chair on five dossiers, with one conflict of interest, one disagreement, blind scores until submission,
the consensus and a decision; the store and its audit log then hold exactly what was done, by whom."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from scoring import committee
from scoring.auth import hash_password
from scoring.catalogue import CRITERIA, OUTCOMES
from scoring.i18n import t
from scoring.jsonform import example
from scoring.store import Store, import_frame
from scoring.synthetic import generate
from tests.ui.conftest import APP, TIMEOUT, texts, unescape, upload
from tests.ui.language import ALLOWED, html_text, problems, shown
from ui import auth as ui_auth
from ui import components, minutes

PASSWORD = "correct horse battery"
PEOPLE = (
    ("ana", "expert", "academic"),
    ("ben", "expert", "industrial"),
    ("cleo", "expert", "academic"),
    ("carla", "chair", None),
    ("paul", "applicant", None),
)
COMMITTEE = "views/committee.py"


def five_dossiers() -> "pd.DataFrame":  # noqa: F821 - pandas only through generate
    frame = generate(5, seed=3)
    return frame.drop(columns=[c for c in frame.columns if c in OUTCOMES or c.startswith("score_")])


@pytest.fixture
def panel(monkeypatch, tmp_path) -> Store:
    """A shared-mode app's store: five dossiers, three experts (two academic, one industrial), a chair, an applicant."""
    url = f"sqlite:///{tmp_path / 'cep.db'}"
    monkeypatch.setenv("CEP_DB_URL", url)
    monkeypatch.setenv("CEP_MODE", "shared")
    store = Store(url)
    import_frame(store, five_dossiers(), user="secretary")
    for name, role, kind in PEOPLE:
        store.add_user(name, role, expert_kind=kind, password_hash=hash_password(PASSWORD), user="admin")
    yield store
    store.close()


def _click(at: AppTest, label: str) -> AppTest:
    [button] = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception, at.exception
    return at


def sign_in(name: str, password: str = PASSWORD) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="auth.form_name").input(name)
    at.text_input(key="auth.form_password").input(password)
    return _click(at, t("ui.auth.submit", "fr"))


def on_committee(name: str) -> AppTest:
    at = sign_in(name)
    at.switch_page(COMMITTEE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("ui.cm.title", "fr")
    return at


# --------------------------------------------------------------------------- sign-in


def test_no_page_opens_without_signing_in_in_shared_mode(panel):
    for path in (None, "views/triage.py", COMMITTEE, "views/portfolio.py", "views/model_card.py"):
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        if path:
            at.switch_page(path)
        at.run()
        assert not at.exception, at.exception
        assert [x.value for x in at.title] == [t("ui.auth.title", "fr")], path


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_name(panel):
    at = sign_in("ana", "wrong password!!")
    assert [e.value for e in at.error] == [t("ui.auth.refused", "fr")]
    assert [x.value for x in at.title] == [t("ui.auth.title", "fr")]
    assert ui_auth.SESSION not in at.session_state
    for _ in range(4):
        at = sign_in("ana", "wrong password!!")
    at = sign_in("ana")  # the right password, too late: the name is locked
    assert at.error[0].value.startswith(t("ui.auth.locked", "fr", seconds=0).split("0")[0])
    assert [x.value for x in at.title] == [t("ui.auth.title", "fr")]
    assert sign_in("ben").title[0].value == t("ui.sa.title", "fr")  # other names still sign in


def test_an_applicant_sees_the_self_assessment_only(panel):
    at = sign_in("paul")
    assert at.title[0].value == t("ui.sa.title", "fr")
    for path in ("views/triage.py", COMMITTEE, "views/portfolio.py"):
        # The page is not in the applicant's navigation: Streamlit has no such page to open, by any address.
        with pytest.raises(ValueError, match=r"Known pages: \['[^']*self_assessment.py'\]"):
            at.switch_page(path)


def test_an_applicant_reopens_their_own_drafts_only_and_saves_under_their_name(panel):
    mine, theirs = example(), example()
    mine["dossier_id"], theirs["dossier_id"] = "DRAFT-PAUL", "DRAFT-OTHER"
    panel.save_dossier(theirs, user="lead", expected_version=None, draft=True)
    at = sign_in("paul")
    upload(at, "sa.draft_upload", "draft.json", json.dumps(mine).encode(), "application/json")
    user = at.text_input(key="store.user")
    assert (user.value, user.disabled) == ("paul", True)
    at.button(key="sa.store_save").click().run()
    assert panel.load_dossier("DRAFT-PAUL").created_by == "paul"
    assert [o.split(" · ")[0] for o in at.selectbox(key="sa.store_pick").options] == ["DRAFT-PAUL"]  # not the lead's


def test_a_closed_account_is_signed_out_and_a_new_role_applies_at_the_next_click(panel):
    at = sign_in("ana")
    panel.add_user("ana", "applicant", user="admin", password_hash=panel.user("ana").password_hash)
    at.run()
    assert at.session_state[ui_auth.SESSION].role == "applicant"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(COMMITTEE)
    panel.add_user("ana", "applicant", user="admin", active=False)
    at.run()
    assert [x.value for x in at.title] == [t("ui.auth.title", "fr")]


def _queue(at: AppTest) -> list[str]:
    return [label.split(" · ")[0] for label in at.selectbox(key="cm.pick").options]


def test_an_expert_sees_their_queue_only(panel):
    first = panel.list_dossiers()[0].dossier_id
    panel.assign(first, ["ana"], user="carla")
    at = on_committee("ana")
    assert len(at.tabs) == 1  # no assignment, no consensus
    assert _queue(at) == [first]


# --------------------------------------------------------------------------- a committee session


def _score(at: AppTest, dossier: str, scores: dict[str, float], why: dict[str, str]) -> AppTest:
    at.selectbox(key="cm.pick").set_value(dossier).run()
    for c in CRITERIA:
        at.selectbox(key=f"cm.s.{dossier}.{c}").set_value(scores[c])
        at.text_area(key=f"cm.j.{dossier}.{c}").input(why.get(c, ""))
    return _click(at, t("ui.cm.submit", "fr"))


FAIR = dict.fromkeys(CRITERIA, 3.5)


def test_a_committee_session_end_to_end(panel):
    ids = [d.dossier_id for d in panel.list_dossiers()]
    d1, d2, d5 = ids[0], ids[1], ids[4]

    # The chair assigns: the suggested panels (all three experts) are saved as they are.
    chair = on_committee("carla")
    assert [m.value for m in chair.multiselect] == [["ana", "ben", "cleo"]] * 5
    _click(chair, t("ui.cm.assign_save", "fr"))
    assert panel.assignments() == {i: ("ana", "ben", "cleo") for i in ids}

    # Ben declares a conflict on the fifth dossier: it leaves his queue.
    ben = on_committee("ben")
    ben.selectbox(key="cm.pick").set_value(d5).run()
    ben.text_input(key=f"cm.coi.{d5}").input("co-founder of the carrier")
    _click(ben, t("ui.cm.conflict_declare", "fr"))
    assert panel.queue("ben") == ids[:4]
    assert _queue(ben) == ids[:4]

    # Ana scores d1 and d2; an extreme score without a justification is refused, nothing written.
    ana = on_committee("ana")
    low = {**FAIR, "scientific_quality": 1.0}
    _score(ana, d2, low, {})
    assert t("ui.cm.justify", "fr", criteria=t("criterion.scientific_quality", "fr")) in texts(ana)
    assert panel.panel(d2) == {}
    _score(ana, d2, low, {"scientific_quality": "no proof of concept"})
    _score(ana, d1, FAIR, {})

    # Blind: before submitting, Ben sees nothing of Ana's scores; after, he sees both.
    ben = on_committee("ben")
    ben.selectbox(key="cm.pick").set_value(d2).run()
    assert t("ui.cm.blind", "fr") in texts(ben) and not ben.dataframe
    _score(ben, d2, {**FAIR, "scientific_quality": 4.5}, {})
    assert t("ui.cm.blind", "fr") not in texts(ben)
    seen = ben.dataframe[0].value
    assert sorted(seen[t("ui.cm.col.expert", "fr")]) == ["ana", "ben"]
    assert t("ui.cm.discuss", "fr", criteria=t("criterion.scientific_quality", "fr")) in texts(ben)

    cleo = on_committee("cleo")
    _score(cleo, d2, {**FAIR, "scientific_quality": 3.0}, {})

    # The chair: the disagreement comes first, the consensus is the median, the decision is recorded.
    chair = on_committee("carla")
    summary = chair.dataframe[0].value
    assert list(summary[t("ui.cm.col.dossier", "fr")]) == [d2, d1]
    assert summary[t("criterion.scientific_quality", "fr")][0] == "3"
    assert summary[t("ui.cm.col.discuss", "fr")][0] == t("criterion.scientific_quality", "fr")
    chair.radio(key=f"cm.dec.{d2}").set_value("yes")
    chair.text_area(key=f"cm.why.{d2}").input("Strong team; the proof of concept is due in six months.")
    chair.button(key=f"cm.decide.{d2}").click().run()
    assert not chair.exception, chair.exception
    assert t("ui.cm.decided", "fr", id=d2) in texts(chair).replace("\\", "")
    decision = panel.decision(d2)
    assert (decision.labeled, decision.created_by) == (True, "carla")
    assert decision.reasons == "Strong team; the proof of concept is due in six months."

    # The store and its audit log hold exactly what was done, by whom.
    done = [
        (e.user_name, e.action, e.dossier_id, e.details.get("expert"))
        for e in _log(panel)
        if e.action not in ("create", "save", "add_user")
    ]
    assert done == [
        *[("carla", "assign", i, e) for i in ids for e in ("ana", "ben", "cleo")],
        ("ben", "declare_conflict", d5, "ben"),
        ("ana", "assess", d2, "ana"),
        ("ana", "assess", d1, "ana"),
        ("ben", "assess", d2, "ben"),
        ("cleo", "assess", d2, "cleo"),
        ("carla", "decide", d2, None),
    ]
    assert panel.panel(d2)["ana"].justifications == {"scientific_quality": "no proof of concept"}
    assert panel.verify_audit().intact


def _log(store: Store):
    ids = [d.dossier_id for d in store.list_dossiers()]
    return sorted((e for i in ids for e in store.history(i)), key=lambda e: e.id)


# --------------------------------------------------------------------------- workstation mode


@pytest.fixture
def workstation(monkeypatch, tmp_path) -> Store:
    url = f"sqlite:///{tmp_path / 'cep.db'}"
    monkeypatch.setenv("CEP_DB_URL", url)
    monkeypatch.delenv("CEP_MODE", raising=False)
    store = Store(url)
    import_frame(store, five_dossiers(), user="secretary")
    store.add_user("ana", "expert", expert_kind="academic", user="admin")
    yield store
    store.close()


def test_a_workstation_user_names_themself_once_and_every_page_opens(workstation):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert at.title[0].value == t("ui.sa.title", "fr")  # no sign-in on one's own machine
    at.switch_page(COMMITTEE).run()
    assert t("ui.cm.name_first", "fr") in texts(at)
    at.text_input(key=ui_auth.NAME).input("Camille").run()
    assert not at.exception, at.exception
    assert at.session_state[ui_auth.SESSION] == ui_auth.Signed("Camille", "chair", None, shared=False)
    assert [tab.label for tab in at.tabs] == [t(f"ui.cm.tab.{s}", "fr") for s in ("queue", "assign", "consensus")]
    _click(at, t("ui.cm.assign_save", "fr"))
    assert {
        e.user_name for e in workstation.history(workstation.list_dossiers()[0].dossier_id) if e.action == "assign"
    } == {"Camille"}


def test_a_workstation_user_the_store_knows_gets_their_role(workstation):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.text_input(key=ui_auth.NAME).input("ana").run()
    assert at.session_state[ui_auth.SESSION].role == "expert"


def test_workstation_mode_served_beyond_this_machine_serves_nothing(workstation):
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.run()
    finally:
        config.set_option("server.address", before)
    assert not at.exception, at.exception
    assert at.title == [] or at.title[0].value != t("ui.sa.title", "fr")
    assert unescape(at.error[0].value) == t("ui.auth.exposed", "fr", address="0.0.0.0")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_committee_page_and_its_minutes_speak_one_language(panel, lang):
    ids = [d.dossier_id for d in panel.list_dossiers()]
    panel.assign(ids[0], ["ana", "ben"], user="carla")
    panel.record_assessment(
        ids[0], {**FAIR, "data_quality": 1.0}, user="ana", justifications={"data_quality": "no data access"}
    )
    panel.record_assessment(ids[0], FAIR, user="ben")
    panel.record_decision(ids[0], labeled=False, reasons="data access", user="carla")
    at = on_committee("carla")
    if lang == "en":
        at.session_state[components.LANG_KEY] = "en"
        at.run()
    assert not at.exception, at.exception
    # The dossiers' titles and the experts' own words are in the language they were typed in.
    own = ALLOWED + tuple(d.payload["title"] for d in panel.list_dossiers()) + ("no data access", "data access")
    found = problems(shown(at), lang, own)
    rows = committee.session(panel, components.bundle(), panel.consensus_settings, lang)
    printed = minutes.html_page(
        rows,
        lang,
        method="median",
        normalised=False,
        chair="carla",
        audit_hash="0" * 64,
        when=dt.datetime(2026, 11, 30),
    )
    found += problems(html_text(printed.decode()), lang, own)
    assert not found, "\n".join(dict.fromkeys(found))
