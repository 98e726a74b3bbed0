"""The committee's work in the store: expert scores, conflicts of interest, predictions, decisions."""

import datetime as dt

import pytest

from scoring.store import ConflictOfInterestError, ConsensusSettings, Store

ID = "CEP-2024-0042"


@pytest.fixture
def saved(store, dossier):
    store.save_dossier(dossier(), user="lead", expected_version=None)
    return store


def test_each_expert_keeps_their_scores_and_notes_latest_wins(saved):
    saved.record_assessment(ID, {"industrial_interest": 2.0}, user="ana", notes="first look")
    saved.record_assessment(ID, {"industrial_interest": 3.0, "data_quality": 4.0}, user="ana", notes="after interview")
    saved.record_assessment(ID, {"industrial_interest": 4.0}, user="secretary", expert="ben", notes="by phone")
    view = saved.scores_visible_to("chair", ID, see_all=True)
    by = {a.expert: a for a in view.assessments}
    assert by["ana"].scores == {"industrial_interest": 3.0, "data_quality": 4.0}
    assert by["ana"].notes == "after interview"
    assert (by["ben"].created_by, by["ben"].notes) == ("secretary", "by phone")
    assert by["ana"].answers["ii_medical_need"] == "interviews"  # the dossier's answers, as scored against
    assert view.consensus.values()["industrial_interest"] == 3.5
    assert [e.action for e in saved.history(ID)].count("assess") == 3


def test_disagreement_is_flagged(saved):
    saved.record_assessment(ID, {"regulatory_readiness": 1.0}, user="ana")
    saved.record_assessment(ID, {"regulatory_readiness": 3.5}, user="ben")
    assert saved.scores_visible_to("chair", ID, see_all=True).consensus.flagged == ("regulatory_readiness",)


def test_scores_are_checked(saved):
    with pytest.raises(ValueError, match="give 0, 0.5"):
        saved.record_assessment(ID, {"industrial_interest": 3.2}, user="ana")
    with pytest.raises(ValueError, match="unknown criterion"):
        saved.record_assessment(ID, {"charm": 3.0}, user="ana")
    with pytest.raises(ValueError, match="answer 'maybe'"):
        saved.record_assessment(ID, {"industrial_interest": 3.0}, user="ana", answers={"ii_medical_need": "maybe"})
    with pytest.raises(KeyError, match="not in the store"):
        saved.record_assessment("nope", {"industrial_interest": 3.0}, user="ana")


def test_conflict_of_interest_hides_scores_and_refuses_scoring(saved):
    saved.record_assessment(ID, {"scientific_quality": 4.0}, user="ana")
    saved.record_assessment(ID, {"scientific_quality": 1.0}, user="ben")
    saved.declare_conflict(ID, expert="ben", user="ben", reason="co-founder of the carrier")
    hidden = saved.scores_visible_to("ben", ID)
    assert hidden.hidden and hidden.assessments == () and hidden.consensus is None
    with pytest.raises(ConflictOfInterestError, match="conflict of interest"):
        saved.record_assessment(ID, {"scientific_quality": 2.0}, user="ben")
    # Nor does the conflicted expert's earlier score count any more.
    view = saved.scores_visible_to("chair", ID, see_all=True)
    assert [a.expert for a in view.assessments] == ["ana"] and not view.consensus.discuss
    assert saved.has_conflict(ID, "ben")
    entry = [e for e in saved.history(ID) if e.action == "declare_conflict"][0]
    assert entry.details["reason"] == "co-founder of the carrier"


def test_a_withdrawn_conflict_restores_scoring(saved):
    saved.declare_conflict(ID, expert="ben", user="chair")
    saved.withdraw_conflict(ID, expert="ben", user="chair", reason="declared by mistake")
    saved.record_assessment(ID, {"scientific_quality": 2.0}, user="ben")
    assert not saved.scores_visible_to("ben", ID).hidden
    assert [e.action for e in saved.history(ID)][-3:] == ["declare_conflict", "withdraw_conflict", "assess"]


def test_normalised_consensus_uses_each_experts_history(db_url, dossier):
    with Store(db_url, consensus=ConsensusSettings("mean", normalise=True, min_history=2)) as store:
        for i in range(4):
            store.save_dossier(dossier(f"D{i}"), user="lead", expected_version=None)
            store.record_assessment(f"D{i}", {"data_quality": 1.0 + i * 0.5}, user="severe")
            store.record_assessment(f"D{i}", {"data_quality": 2.0 + i * 0.5}, user="lenient")
        c = store.scores_visible_to("chair", "D2", see_all=True).consensus
        used = {x.criterion: x for x in c.criteria}["data_quality"].used
        assert used["severe"] == pytest.approx(used["lenient"])
        assert set(store.consensus()) == {"D0", "D1", "D2", "D3"}


def test_decisions_supersede_and_are_checked(saved):
    assert saved.decision(ID) is None
    saved.record_decision(ID, labeled=True, user="secretary", funding_window="region_idf")
    later = saved.record_decision(
        ID,
        labeled=True,
        funded=True,
        funding_window="region_idf",
        decided_on=dt.date(2024, 6, 30),
        amount_eur=350_000,
        user="secretary",
    )
    d = saved.decision(ID)
    assert d == later and (d.funded, d.amount_eur, d.decided_on) == (True, 350_000, dt.date(2024, 6, 30))
    assert d.dossier_version == 1
    assert [e.action for e in saved.history(ID)].count("decide") == 2
    with pytest.raises(ValueError, match="unfunded"):
        saved.record_decision(ID, labeled=True, funded=False, amount_eur=10.0, user="secretary")
    with pytest.raises(ValueError, match="not known"):
        saved.record_decision(ID, labeled=True, funding_window="lottery", user="secretary")
    with pytest.raises(ValueError, match="future"):
        saved.record_decision(ID, labeled=True, decided_on=dt.date.today() + dt.timedelta(days=2), user="secretary")


def test_predictions_record_model_identity_and_explanation(saved):
    p = saved.record_prediction(
        ID,
        model_name="gbm-synthetic",
        model_sha256="ab" * 32,
        probabilities={"labeled": 0.7, "success": 0.31},
        explanation={"top": [["dq_access", -0.12]]},
        user="app",
    )
    [back] = saved.predictions(ID)
    assert back == p and back.explanation == {"top": [["dq_access", -0.12]]}
    with pytest.raises(ValueError, match="from 0 to 1"):
        saved.record_prediction(
            ID, model_name="m", model_sha256="ab" * 32, probabilities={"labeled": 1.5}, explanation={}, user="app"
        )
    with pytest.raises(ValueError, match="hex"):
        saved.record_prediction(
            ID, model_name="m", model_sha256="xyz", probabilities={"labeled": 0.5}, explanation={}, user="app"
        )
