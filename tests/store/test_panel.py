"""The committee as a panel in the store: assignments, conflicts leaving the queue, blind scoring,
written justifications, decisions with reasons, and the audit log of each."""

import pytest

from scoring import committee, formatting
from scoring.i18n import t
from scoring.store import ConflictOfInterestError, ConsensusSettings
from ui import minutes

A, B = "CEP-A", "CEP-B"


@pytest.fixture
def two(store, dossier):
    for i in (A, B):
        store.save_dossier(dossier(i), user="lead", expected_version=None)
    return store


def test_the_chair_assigns_and_a_conflict_removes_the_dossier_from_the_queue(two):
    two.assign(A, ["ana", "ben", "ana"], user="carla")
    two.assign(B, ["ana"], user="carla")
    two.assign(A, ["ana"], user="carla")  # already assigned: nothing written
    assert two.assignments() == {A: ("ana", "ben"), B: ("ana",)}
    assert two.queue("ana") == [A, B]
    two.declare_conflict(B, expert="ana", user="ana", reason="former employer")
    assert two.queue("ana") == [A]
    with pytest.raises(ConflictOfInterestError):
        two.assign(B, ["ana"], user="carla")
    two.unassign(A, "ben", user="carla")
    assert two.assignments() == {A: ("ana",), B: ()}
    actions = [(e.user_name, e.action, e.details.get("expert")) for e in two.history(A) if e.entity == "assignments"]
    assert actions == [("carla", "assign", "ana"), ("carla", "assign", "ben"), ("carla", "unassign", "ben")]
    [declared] = [e for e in two.history(B) if e.action == "declare_conflict"]
    assert (declared.user_name, declared.details["expert"], declared.details["reason"]) == (
        "ana",
        "ana",
        "former employer",
    )


def test_scores_are_blind_until_the_expert_submitted_their_own(two):
    two.record_assessment(A, {"scientific_quality": 4.0}, user="ana")
    ben = two.scores_visible_to("ben", A)
    assert ben.blind and ben.assessments == () and ben.consensus is None
    two.record_assessment(
        A, {"scientific_quality": 1.0}, user="ben", justifications={"scientific_quality": "no preliminary results"}
    )
    ben = two.scores_visible_to("ben", A)
    assert not ben.blind and {a.expert for a in ben.assessments} == {"ana", "ben"}
    chair = two.scores_visible_to("carla", A, see_all=True)
    assert not chair.blind and chair.consensus.flagged == ("scientific_quality",)


def test_extreme_scores_need_a_written_justification(two):
    with pytest.raises(ValueError, match="write one for industrial_interest, data_quality"):
        two.record_assessment(
            A,
            {"industrial_interest": 2.5, "scientific_quality": 3.0, "data_quality": 5.0},
            user="ana",
            justifications={"scientific_quality": "fine"},
        )
    with pytest.raises(ValueError, match="no score"):
        two.record_assessment(A, {"industrial_interest": 3.0}, user="ana", justifications={"data_quality": "good data"})
    saved = two.record_assessment(
        A,
        {"industrial_interest": 2.5, "scientific_quality": 3.0},
        user="ana",
        justifications={"industrial_interest": "  no market study  ", "scientific_quality": ""},
    )
    assert saved.justifications == {"industrial_interest": "no market study"}
    assert two.panel(A)["ana"].justifications == {"industrial_interest": "no market study"}
    # Without justifications (the triage queue's single note), nothing is required.
    assert two.record_assessment(B, {"industrial_interest": 1.0}, user="ana").justifications is None


def test_a_decision_keeps_its_reasons(two):
    two.record_decision(A, labeled=True, reasons="strong consortium; data access secured", user="carla")
    decided = two.decision(A)
    assert (decided.labeled, decided.reasons, decided.created_by) == (
        True,
        "strong consortium; data access secured",
        "carla",
    )
    [entry] = [e for e in two.history(A) if e.action == "decide"]
    assert entry.details["reasons"] == "strong consortium; data access secured"
    assert two.record_decision(B, labeled=False, reasons="   ", user="carla").reasons is None


def test_consensus_settings_can_be_chosen_per_call(two):
    two.record_assessment(A, {"data_quality": 1.0}, user="ana")
    two.record_assessment(A, {"data_quality": 2.0}, user="ben")
    two.record_assessment(A, {"data_quality": 4.5}, user="eve")
    assert two.consensus([A])[A].values()["data_quality"] == 2.0  # median by default
    mean = two.consensus([A], ConsensusSettings(method="mean"))[A]
    assert mean.values()["data_quality"] == pytest.approx(2.5)


def test_a_window_that_cannot_take_the_dossier_gives_the_chair_its_label_only(store, dossier, bundle):
    # RHU closed in 2021: the consensus view must not show a funding estimate for a 2024 dossier aimed at it.
    store.save_dossier(dossier(A), user="lead", expected_version=None)
    store.save_dossier(dossier(B, funding_window="rhu"), user="lead", expected_version=None)
    for i in (A, B):
        store.record_assessment(i, {"scientific_quality": 3.5}, user="ana")
    rows = {r.dossier_id: r for r in committee.session(store, bundle, ConsensusSettings(), "fr")}
    assert rows[A].funding_estimate and not rows[B].funding_estimate
    assert not rows[B].rules.eligible
    assert minutes.model_line(rows[A], "fr").startswith("Probabilité d'être labellisé et financé")
    line = minutes.model_line(rows[B], "fr")
    assert line.startswith("Probabilité d'être labellisé\u202f:")
    assert formatting.percent(rows[B].p_consensus["labeled"], "fr") in line
    table = minutes.frame(list(rows.values()), "fr")
    assert table[t("ui.cm.col.p_consensus", "fr")].tolist() == [
        formatting.percent(rows[A].p_consensus["success"], "fr"),
        "\u2014",
    ]
