"""A committee session from the store (scoring.committee) and its minutes (ui.minutes): panel suggestion,
disagreements first, the model on the consensus beside the rubric, the window's rules on the consensus,
normalisation, and minutes that are self-contained, escaped and typeset in French."""

import datetime as dt
import io

import openpyxl
import pytest

from scoring import committee
from scoring.catalogue import CRITERIA
from scoring.explain import explain
from scoring.formatting import NNBSP
from scoring.store import ConsensusSettings, Store, combine
from ui import minutes

A, B, C = "CEP-A", "CEP-B", "CEP-C"
FAIR = dict.fromkeys(CRITERIA, 3.5)


def test_suggestion_alternates_kinds_least_loaded_first_and_skips_conflicts():
    experts = {"ana": "academic", "ben": "industrial", "cleo": "academic", "dan": "industrial", "eve": None}
    assert committee.suggest(experts, {}) == ["ana", "ben", "cleo"]
    assert committee.suggest(experts, {"ana": 2, "ben": 1}) == ["cleo", "dan", "ben"]
    assert committee.suggest(experts, {}, exclude={"ben", "dan"}) == ["ana", "cleo", "eve"]
    assert committee.suggest({"x": None, "y": "academic"}, {}) == ["y", "x"]
    assert committee.suggest(experts, {}, size=2) == ["ana", "ben"]


@pytest.fixture
def sitting(tmp_path, dossier):
    with Store(f"sqlite:///{tmp_path / 'cep.db'}") as store:
        store.save_dossier(dossier(A), user="lead", expected_version=None)
        store.save_dossier(dossier(B, funding_window="horizon_europe"), user="lead", expected_version=None)
        store.save_dossier(dossier(C), user="lead", expected_version=None)
        store.record_assessment(B, {**FAIR, "scientific_quality": 2.5}, user="ana")
        store.record_assessment(B, {**FAIR, "scientific_quality": 2.5}, user="ben")
        store.record_assessment(A, {**FAIR, "data_quality": 1.0}, user="ana")
        store.record_assessment(A, {**FAIR, "data_quality": 4.0}, user="ben")
        store.record_assessment(A, {**FAIR, "data_quality": 2.0}, user="cleo")
        yield store


def test_session_puts_disagreements_first_and_judges_the_consensus(sitting, bundle):
    rows = committee.session(sitting, bundle, ConsensusSettings())
    assert [r.dossier_id for r in rows] == [A, B]  # C has no score; A is to discuss
    a, b = rows
    assert a.discuss and a.consensus.flagged == ("data_quality",) and a.consensus.values()["data_quality"] == 2.0
    agreed = explain([{**sitting.load_dossier(A).payload, "expert_scores": a.consensus.values()}], bundle)[0]
    assert a.p_consensus["success"] == pytest.approx(agreed["probabilities"]["success"])
    assert a.p_rubric["success"] == pytest.approx(
        explain([sitting.load_dossier(A).payload], bundle)[0]["probabilities"]["success"]
    )
    assert a.p_consensus["success"] < a.p_rubric["success"] or a.p_consensus != a.p_rubric
    # Horizon Europe knocks out a criterion under 3/5: the consensus of 2.5 fails it.
    assert b.window == "horizon_europe" and "knockout.scientific_quality" in b.rules.codes
    assert not b.discuss and sorted(b.assessments) == ["ana", "ben"]
    mean = committee.session(sitting, bundle, ConsensusSettings(method="mean"))[0]
    assert mean.consensus.values()["data_quality"] == pytest.approx(7 / 3)
    # The model takes half points: a mean of 2.33 enters it as 2.5 (and 2.25 would too: halves round up).
    on_scale = {**mean.consensus.values(), "data_quality": 2.5}
    assert mean.p_consensus["success"] == pytest.approx(
        explain([{**sitting.load_dossier(A).payload, "expert_scores": on_scale}], bundle)[0]["probabilities"]["success"]
    )
    assert [committee.on_scale(v) for v in (2.24, 2.25, 2.74, 2.75, 0.0, 5.0)] == [2.0, 2.5, 2.5, 3.0, 0.0, 5.0]


def test_normalised_scores_are_shown_beside_the_raw_ones(sitting, bundle):
    rows = committee.session(sitting, bundle, ConsensusSettings(normalise=True))
    a = next(r for r in rows if r.dossier_id == A)
    # ana and ben gave 10 scores each (two dossiers): enough history; cleo gave 5, also enough.
    assert set(a.consensus.normalised_experts) == {"ana", "ben", "cleo"}
    assert a.normalised("ben", "data_quality") != 4.0
    assert committee.session(sitting, bundle, ConsensusSettings())[0].normalised("ben", "data_quality") is None


def test_minutes_are_escaped_self_contained_and_french(sitting, bundle):
    sitting.record_decision(A, labeled=True, reasons="<script>alert(1)</script> =cmd", user="carla")
    rows = committee.session(sitting, bundle, ConsensusSettings())
    page = minutes.html_page(
        rows,
        "fr",
        method="median",
        normalised=False,
        chair="Carla <b>",
        audit_hash="f" * 64,
        when=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc),
    ).decode()
    assert "<script" not in page and "&lt;script&gt;" in page and "Carla &lt;b&gt;" in page
    assert "http" not in page and "src=" not in page and "<link" not in page
    assert "30/11/2026" in page and "f" * 64 in page
    assert f"{NNBSP}%" in page and f"Consensus{NNBSP}:" in page
    assert "labellisé (enregistrée par carla)" in page
    book = openpyxl.load_workbook(io.BytesIO(minutes.xlsx(rows, "fr")))
    sheet = list(book.active.values)
    header = sheet[0]
    assert header[0] == "Dossier" and "Motifs" in header
    reasons = sheet[1][header.index("Motifs")]
    assert reasons.startswith("'") or not reasons.startswith("=")  # a reason is never run as a formula
    english = minutes.frame(rows, "en")
    assert list(english["Dossier"]) == [A, B] and english["Decision"][0] == "labelled"


def test_the_worked_example_of_docs_committee_md():
    history = {"ana": [1, 2, 2, 3, 2], "ben": [4, 4.5, 4, 5, 4.5], "cleo": [3, 3, 2.5, 3.5, 3]}
    scores = {
        "ana": {"scientific_quality": 1.0},
        "ben": {"scientific_quality": 4.5},
        "cleo": {"scientific_quality": 3.0},
    }

    def sq(**settings):
        [c] = [
            c
            for c in combine(scores, ConsensusSettings(**settings), history).criteria
            if c.criterion == "scientific_quality"
        ]
        return c

    assert (sq().value, sq().spread, sq().discuss) == (3.0, 3.5, True)
    assert sq(method="mean").value == pytest.approx(2.83, abs=0.005)
    normalised = sq(normalise=True)
    assert {e: round(v, 2) for e, v in normalised.used.items()} == {"ana": 1.41, "ben": 3.42, "cleo": 3.13}
    assert round(normalised.value, 2) == 3.13 and normalised.discuss
    assert round(sq(normalise=True, method="mean").value, 2) == 2.66
    assert (committee.on_scale(3.13), committee.on_scale(2.66)) == (3.0, 2.5)
