"""The rubric's rule: transparent, additive evidence, N/A is not zero, expert overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import catalogue, jsonform, rubric, schema
from scoring.rubric import MIDPOINT, assess, round_half


def row_of(doc):
    v = jsonform.validate_records([doc])
    assert not v.issues, v.issues[:2]
    return v.frame.iloc[0].to_dict()


def test_each_criterion_has_four_to_six_questions_with_labels_in_both_languages():
    from scoring.i18n import t

    for crit, qs in rubric.rubric().items():
        assert 4 <= len(qs) <= 6, crit
        for q in qs:
            assert t(f"rubric.{q.id}", "fr") and t(f"rubric.{q.id}", "en")
            assert list(q.points.values()) == sorted(q.points.values()), f"{q.id}: answers not weakest first"


def test_score_is_the_documented_weighted_mean_rounded_to_half_points(dossier):
    row = row_of(dossier)
    for res in assess(row):
        qs = [q for q in rubric.rubric()[res.criterion] if row.get(q.id) in q.points]
        w = np.array([q.weight for q in qs])
        pts = np.array([q.points[row[q.id]] for q in qs])
        assert res.rubric_score == round_half((w * pts).sum() / w.sum())
        assert res.source == "rubric"


def test_evidence_adds_up_to_the_unrounded_score(dossier):
    row = row_of(dossier)
    raw, _, _ = rubric.rubric_arrays(pd.DataFrame([row]))
    for j, res in enumerate(assess(row)):
        assert MIDPOINT + sum(e.effect for e in res.evidence) == pytest.approx(raw[0, j], abs=1e-12)


def test_evidence_says_which_answers_raised_and_lowered(dossier):
    dossier["answers"]["dq_access"] = "not_secured"
    dossier["answers"]["dq_volume"] = "multicentre"
    dq = next(r for r in assess(row_of(dossier)) if r.criterion == "data_quality")
    effects = {e.question: e.effect for e in dq.evidence}
    assert effects["dq_access"] < 0 < effects["dq_volume"]


def test_not_applicable_is_left_out_not_a_zero(dossier):
    dossier["technology_axis"] = "implantable_device"  # a passive implant: "na" is allowed for its data questions
    base = next(r for r in assess(row_of(dossier)) if r.criterion == "data_quality")
    dossier["answers"]["dq_interoperability"] = "na"
    after = next(r for r in assess(row_of(dossier)) if r.criterion == "data_quality")
    assert after.not_applicable == ("dq_interoperability",)
    assert "dq_interoperability" not in {e.question for e in after.evidence}
    assert after.rubric_score >= base.rubric_score - 0.5  # the partial answer left the mean; not scored as 0


def test_criterion_with_nothing_applicable_is_reported_as_such(dossier):
    dossier["technology_axis"] = "small_molecule"
    for q in rubric.rubric()["data_quality"]:
        dossier["answers"][q.id] = "na"
    dq = next(r for r in assess(row_of(dossier)) if r.criterion == "data_quality")
    assert dq.source == "not_applicable" and dq.score is None


def test_unanswered_questions_are_reported_missing(dossier):
    del dossier["answers"]["sq_team"]
    sq = next(r for r in assess(row_of(dossier)) if r.criterion == "scientific_quality")
    assert sq.missing == ("sq_team",) and sq.source == "rubric"


def test_expert_score_overrides_the_rubric_and_says_so(dossier):
    dossier["expert_scores"] = {"industrial_interest": 4.5}
    ii = next(r for r in assess(row_of(dossier)) if r.criterion == "industrial_interest")
    assert (ii.score, ii.source, ii.expert_score) == (4.5, "expert", 4.5)
    assert ii.rubric_score is not None and ii.evidence


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_better_answer_never_lowers_the_criterion_score(data):
    doc = jsonform.example()
    q = data.draw(st.sampled_from(rubric.all_questions()))
    lo, hi = sorted(data.draw(st.lists(st.sampled_from(q.answers), min_size=2, max_size=2, unique=True)), key=q.rank)
    scores = []
    for a in (lo, hi):
        doc["answers"][q.id] = a
        scores.append(next(r.score for r in assess(row_of(doc)) if r.criterion == q.criterion))
    assert scores[1] >= scores[0]


def test_one_row_path_agrees_with_the_vectorised_table_bit_for_bit():
    from scoring.synthetic import generate

    frame = schema.validate_frame(generate(400, seed=17)).frame
    frame[list(catalogue.SCORE_COLUMNS)] = np.nan  # rubric scores, not the committee's
    table = rubric.score_table(frame)
    for i, row in enumerate(frame.to_dict("records")):
        scores, sources = rubric.scores_of(assess(row))
        assert np.array_equal(scores, table.score[i], equal_nan=True)
        assert list(sources) == list(table.source[i])


# --------------------------------------------------------------------------- stage requirements


def _moves(row):
    return {q.id: (a, b) for q, a, b in rubric.feasible_moves(row)}


def test_marking_is_out_of_reach_of_a_trl_2_device_and_within_reach_at_trl_7(dossier):
    dossier.update(trl=2, technology_axis="implantable_device")
    dossier["answers"].update(rr_pathway="agency_contacted", rr_clinical_plan="protocol")
    assert "rr_pathway" not in _moves(row_of(dossier))
    dossier["trl"] = 7
    assert _moves(row_of(dossier))["rr_pathway"] == ("agency_contacted", "certified")
    dossier["answers"]["rr_clinical_plan"] = "outline"  # marking needs a written clinical plan too
    assert "rr_pathway" not in _moves(row_of(dossier))


def test_coverage_needs_the_marking_first(dossier):
    dossier["trl"] = 8
    dossier["answers"].update(rr_reimbursement="early_dialogue", rr_pathway="agency_contacted")
    assert "rr_reimbursement" not in _moves(row_of(dossier))
    dossier["answers"]["rr_pathway"] = "certified"
    assert _moves(row_of(dossier))["rr_reimbursement"] == ("early_dialogue", "secured")


def test_a_trl_3_project_plans_a_pilot_but_cannot_deploy_in_routine(dossier):
    dossier["trl"] = 3
    dossier["answers"]["sp_adoption"] = "not_studied"
    assert _moves(row_of(dossier))["sp_adoption"] == ("not_studied", "pilot_planned")  # one level, never a jump
    dossier["answers"]["sp_adoption"] = "pilot_planned"
    assert "sp_adoption" not in _moves(row_of(dossier))


def test_a_prerequisite_answered_not_applicable_does_not_block():
    q = rubric.question("rr_pathway")
    row = {"trl": 7, "rr_clinical_plan": catalogue.NOT_APPLICABLE}
    assert q.unmet("certified", row) == []
    assert q.unmet("certified", {"trl": 7}) == ["rr_clinical_plan"]  # not said: not met
    assert q.unmet("certified", {"trl": 7}, unknown_met=True) == []


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"trl_min": 12}, "trl_min = 12"),
        ({"trl_min": 4.5}, "trl_min = 4.5"),
        ({"rr_pathway": "marked"}, "rr_pathway = 'marked'"),
        ({"no_such_question": "x"}, "unknown question"),
    ],
)
def test_a_bad_requirement_in_the_rubric_is_refused_naming_question_and_answer(spec, words):
    answers_of = {q.id: list(q.answers) for q in rubric.all_questions()}
    with pytest.raises(ValueError, match="question sp_adoption, answer deployed") as err:
        rubric._requirement("sp_adoption", "deployed", spec, answers_of)
    assert words in str(err.value)


def _rows():
    """Random flat rows: any TRL, every question answered at any level, "na" (where the rubric has it) or not at all."""

    def answers(q):
        return st.sampled_from(q.answers + ((catalogue.NOT_APPLICABLE,) if q.na_allowed else ()) + (None,))

    return st.fixed_dictionaries({"trl": st.integers(1, 9), **{q.id: answers(q) for q in rubric.all_questions()}})


@settings(max_examples=150, deadline=None)
@given(row=_rows())
def test_every_move_is_one_level_up_and_feasible_for_the_trl(row):
    moves = rubric.feasible_moves(row)
    assert len({q.id for q, _, _ in moves}) == len(moves)  # one move per question at most
    for q, a, b in moves:
        assert row[q.id] == a
        above = [x for x in q.answers[q.rank(a) + 1 :] if q.points[x] > q.points[a]]
        assert b == above[0]  # the next level that scores more, never a jump
        req = q.requires.get(b)
        if req is not None:
            assert req.trl_min is None or row["trl"] >= req.trl_min
            for other, least in req.answers:
                given = row[other]
                assert given == catalogue.NOT_APPLICABLE or (
                    given is not None and rubric.question(other).rank(given) >= rubric.question(other).rank(least)
                )
    # any set of moves is feasible together: after all of them, each moved answer still meets its requirement
    after = {**row, **{q.id: b for q, _, b in moves}}
    assert all(not q.unmet(b, after) for q, _, b in moves)


@settings(max_examples=100, deadline=None)
@given(row=_rows())
def test_a_question_without_a_move_is_at_its_top_or_blocked_by_its_stage(row):
    moved = {q.id for q, _, _ in rubric.feasible_moves(row)}
    for q in rubric.all_questions():
        a = row[q.id]
        if q.id in moved or a not in q.points:
            continue
        above = [x for x in q.answers[q.rank(a) + 1 :] if q.points[x] > q.points[a]]
        assert not above or q.unmet(above[0], row), (q.id, a)
