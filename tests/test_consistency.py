"""Suspicious but possible answers are warnings (codes and sentences), never validation errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import catalogue, consistency, jsonform, rubric, schema
from scoring.i18n import t


def row_of(doc):
    v = jsonform.validate_records([doc])
    assert not v.issues, v.issues[:2]  # a warning never makes a dossier invalid
    return v.frame.iloc[0].to_dict()


def codes_of(doc):
    return [w.code for w in consistency.warnings(row_of(doc))]


def test_the_example_dossier_raises_no_warning(dossier):
    assert codes_of(dossier) == []


def test_marking_obtained_at_trl_3_is_a_warning_not_an_error(dossier):
    dossier["trl"] = 3
    dossier["answers"].update(rr_pathway="certified", rr_clinical_plan="protocol")
    [w] = consistency.warnings(row_of(dossier), "en")
    assert w.code == "stage_trl.rr_pathway" and w.fields == ("answers.rr_pathway", "trl")
    assert "TRL 7 or more" in w.text and "TRL 3" in w.text
    dossier["trl"] = 7
    assert codes_of(dossier) == []


def test_coverage_obtained_before_the_marking_is_flagged(dossier):
    dossier["trl"] = 8
    dossier["answers"].update(rr_reimbursement="secured", rr_pathway="agency_contacted")
    [w] = consistency.warnings(row_of(dossier), "fr")
    assert w.code == "stage_prior.rr_reimbursement.rr_pathway"
    assert t("rubric.rr_pathway.certified", "fr") in w.text and t("rubric.rr_pathway.agency_contacted", "fr") in w.text


def test_an_ai_project_with_unknown_data_volume(dossier):
    dossier["technology_axis"] = "ai"
    dossier["answers"]["dq_volume"] = "unknown"
    assert codes_of(dossier) == ["ai_data_volume_unknown"]


def test_a_collaborative_project_naming_no_kind_of_partner(dossier):
    dossier["partners"] = {"academic": False, "industrial": False, "clinical": False, "count": 1}
    assert codes_of(dossier) == ["collaborative_no_partner_kind"]


def test_a_consortium_agreement_without_partners(dossier):
    dossier.update(
        collaborative=False, partners={"academic": False, "industrial": False, "clinical": False, "count": 0}
    )
    dossier["answers"]["sp_consortium"] = "agreement"
    assert codes_of(dossier) == ["consortium_without_partners"]
    dossier["answers"]["sp_consortium"] = "na"
    assert codes_of(dossier) == []


def test_clinicians_in_the_team_without_a_clinical_partner_or_a_hospital(dossier):
    dossier["answers"]["sq_clinicians"] = "co_design"
    dossier["partners"] = {"academic": True, "industrial": False, "clinical": False, "count": 1}
    assert codes_of(dossier) == ["clinicians_without_clinical_partner"]
    dossier["carrier_type"] = "hospital"  # a hospital's own clinicians
    dossier["funding_window"] = "phrc"
    assert "clinicians_without_clinical_partner" not in codes_of(dossier)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_warning_has_a_sentence_in_both_languages(dossier, lang):
    dossier.update(
        trl=2,
        technology_axis="ai",
        collaborative=False,
        partners={"academic": False, "industrial": False, "clinical": False, "count": 0},
    )
    dossier["answers"].update(
        rr_pathway="certified",
        rr_reimbursement="secured",
        sp_adoption="deployed",
        sq_proof_of_concept="clinical",
        rr_clinical_plan="approved",
        dq_volume="unknown",
        dq_access="own_or_granted",
        sp_consortium="track_record",
        sq_clinicians="co_design",
        ii_business_model="validated",
        ii_market="not_studied",
    )
    found = consistency.warnings(row_of(dossier), lang)
    assert len(found) >= 10 and all(w.text and "{" not in w.text for w in found)
    assert [w.code for w in found] == [c for c in consistency.codes() if c in {w.code for w in found}]  # in order


def _rows():
    def answers(q):
        return st.sampled_from(q.answers + ((catalogue.NOT_APPLICABLE,) if q.na_allowed else ()) + (None,))

    return st.fixed_dictionaries(
        {"trl": st.one_of(st.none(), st.integers(1, 9)), **{q.id: answers(q) for q in rubric.all_questions()}}
    )


@settings(max_examples=150, deadline=None)
@given(row=_rows())
def test_stage_warnings_are_exactly_the_rubrics_unmet_requirements(row):
    frame = pd.DataFrame([row])
    frame["trl"] = pd.to_numeric(frame["trl"])
    raised = {c for c, hit in zip(consistency.codes(), consistency.flags(frame)[0]) if hit}
    expected = set()
    for q in rubric.all_questions():
        a = row[q.id]
        for need in q.unmet(a, row, unknown_met=True) if a in q.points else ():
            expected.add(f"stage_trl.{q.id}" if need == "trl" else f"stage_prior.{q.id}.{need}")
    assert {c for c in raised if c.startswith("stage_")} == expected


def test_a_frame_and_one_dossier_raise_the_same_warnings():
    from scoring.synthetic import generate

    v = schema.validate_frame(generate(300, 6))
    frame = v.frame[v.ok].reset_index(drop=True)
    f = consistency.flags(frame)
    assert f.any()  # the generator's dossiers do raise some
    for i in np.flatnonzero(f.any(axis=1))[:25]:
        row = frame.iloc[i].to_dict()
        assert [w.code for w in consistency.warnings(row, "en")] == [
            c for c, hit in zip(consistency.codes(), f[i]) if hit
        ]
