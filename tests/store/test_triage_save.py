"""Saving a triage queue: all of it or nothing, and saving it twice writes nothing new."""

import pytest

from scoring.store import ConflictOfInterestError, Outcome, Review, prepare

A, B = "CEP-2024-0001", "CEP-2024-0002"


@pytest.fixture
def docs(dossier):
    return [prepare(dossier(A)), prepare(dossier(B))]


def _counts(store, *ids):
    actions = [e.action for i in ids for e in store.history(i)]
    return {a: actions.count(a) for a in ("create", "save", "assess", "decide")}


def test_a_queue_saved_twice_adds_no_duplicate_reviews_decisions_or_versions(store, docs):
    reviews = {A: Review({"scientific_quality": 4.5}, "dossier solide")}
    first = store.save_triage(docs, {A: Outcome(True)}, reviews, user="ana")
    assert (first.decided, first.reviewed) == (1, (A,))
    again = store.save_triage(docs, {A: Outcome(True)}, reviews, user="ana")
    assert (again.decided, again.reviewed) == (0, ())
    assert not any(s.created for s in again.saved)
    assert _counts(store, A, B) == {"create": 2, "save": 2, "assess": 1, "decide": 1}
    [mine] = store.scores_visible_to("ana", A).assessments
    assert (mine.scores, mine.notes) == ({"scientific_quality": 4.5}, "dossier solide")


def test_a_changed_note_is_a_new_review_superseding_the_last(store, docs):
    store.save_triage(docs, {}, {A: Review({"data_quality": 2.0}, "first look")}, user="ana")
    later = store.save_triage(docs, {}, {A: Review({"data_quality": 2.0}, "after the interview")}, user="ana")
    assert later.reviewed == (A,)
    [mine] = store.scores_visible_to("ana", A).assessments
    assert mine.notes == "after the interview"


def test_a_refused_review_leaves_no_dossier_decision_or_review_behind(store, docs):
    store.save_dossier(dict(docs[0].payload), user="lead", expected_version=None)
    store.declare_conflict(A, expert="ana", user="ana", reason="adviser to the carrier")
    before = _counts(store, A, B)
    with pytest.raises(ConflictOfInterestError):
        store.save_triage(
            docs,
            {A: Outcome(True), B: Outcome(False)},
            {B: Review({"industrial_interest": 3.0}), A: Review({"industrial_interest": 1.0})},
            user="ana",
        )
    assert _counts(store, A, B) == before
    assert store.decisions() == {} and store.latest_version(B) is None


def test_a_review_needs_a_score_and_names_what_to_give():
    with pytest.raises(ValueError, match="at least one criterion score"):
        Review({}, "a note alone")
    with pytest.raises(ValueError, match="give 0, 0.5"):
        Review({"data_quality": 3.3})
