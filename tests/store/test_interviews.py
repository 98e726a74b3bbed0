"""The preliminary interview's outcome in the store (issue 18)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from scoring.store.interviews import latest_interviews, record_interview


def test_an_outcome_sets_the_interview_input_is_audited_and_the_latest_wins(store, dossier):
    store.save_dossier(dossier("D-1", preliminary_interview=False), user="ana", expected_version=None)
    first = record_interview(store, "D-1", "strengthen", user="eve", notes=" clinicians to involve ")
    assert store.load_dossier("D-1").payload["preliminary_interview"] is True
    assert first.dossier_version == 2 and first.notes == "clinicians to involve"
    second = record_interview(store, "D-1", "replan", user="eve", funding_window="feder")
    assert second.dossier_version == 2  # the input was already true: no new version
    assert latest_interviews(store)["D-1"].outcome == "replan"
    actions = [e.action for e in store.history("D-1")]
    assert actions.count("interview") == 2
    assert store.verify_audit().broken_id is None


def test_a_replan_names_its_window_and_unknown_outcomes_are_refused(store, dossier):
    store.save_dossier(dossier("D-2"), user="ana", expected_version=None)
    with pytest.raises(ValueError, match="funding_window"):
        record_interview(store, "D-2", "replan", user="eve")
    with pytest.raises(ValueError, match="outcome"):
        record_interview(store, "D-2", "maybe", user="eve")
    assert latest_interviews(store) == {}


def test_interview_rows_cannot_be_changed(store, dossier):
    store.save_dossier(dossier("D-3"), user="ana", expected_version=None)
    record_interview(store, "D-3", "submit", user="eve")
    with pytest.raises(sa.exc.DBAPIError):
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE interviews SET outcome = 'redirect'"))
