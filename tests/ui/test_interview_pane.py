"""Triage's preliminary-interview pane under AppTest (issue 18): the brief, the outcome, the store, the queue."""

from __future__ import annotations

from scoring.i18n import t
from scoring.store import Store
from scoring.store.interviews import latest_interviews
from tests.ui.conftest import pick_top, texts


def _queue_cell(at, dossier_id: str, column: str) -> str:
    [table] = [d.value for d in at.dataframe if t("ui.queue.rank", "fr") in d.value.columns]
    return table[table[t("ui.queue.dossier_id", "fr")] == dossier_id].iloc[0][t(f"ui.queue.{column}", "fr")]


def test_the_expert_reads_the_brief_and_records_a_replan_that_the_store_and_the_queue_keep(app, tmp_path):
    app.switch_page("views/triage.py").run()
    app.button(key="tr.examples").click().run()
    top = pick_top(app)
    shown = texts(app)
    assert t("interview.h.questions.expert", "fr") in shown
    assert _queue_cell(app, top, "interview") == ""
    app.text_input(key="store.user").input("Expert A")
    app.selectbox(key=f"tr.interview.outcome.{top}").select("replan")
    app.run()
    window = app.selectbox(key=f"tr.interview.window.{top}").value
    assert window is not None
    app.text_area(key=f"tr.interview.notes.{top}").input("viser l'appel suivant")
    app.button(key=f"tr.interview.record.{top}").click().run()
    assert not app.exception, app.exception
    assert t("ui.interview.recorded", "fr") in texts(app)
    expected = t(
        "ui.interview.outcome_window",
        "fr",
        outcome=t("ui.interview.outcome.replan", "fr"),
        window=t(f"funding_window.{window}", "fr"),
    )
    assert _queue_cell(app, top, "interview") == expected
    store = Store(f"sqlite:///{tmp_path / 'cep.db'}")
    recorded = latest_interviews(store)[top]
    assert (recorded.outcome, recorded.funding_window, recorded.notes) == ("replan", window, "viser l'appel suivant")
    assert store.load_dossier(top).payload["preliminary_interview"] is True
    assert "interview" in [e.action for e in store.history(top)]
    store.close()


def test_the_applicants_mirror_is_one_click_away_and_printable(app):
    app.switch_page("views/triage.py").run()
    app.button(key="tr.examples").click().run()
    top = pick_top(app)
    app.radio(key=f"tr.interview.audience.{top}").set_value("applicant").run()
    assert not app.exception, app.exception
    assert t("interview.h.questions.applicant", "fr") in texts(app)
