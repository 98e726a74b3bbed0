"""Explanations: exact additivity, honest actions, reasons that match the contributions, both languages."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pandas as pd
import pytest
import shap

from scoring import schema
from scoring.explain import InvalidDossiers, contributions, explain, logit_contributions
from scoring.features import CRITERIA, INPUTS
from scoring.model import AdditiveLogit, CalibratedAdditive, Platt
from scoring.synthetic import generate

KEYS = {"criteria", "probabilities", "contributions", "reasons", "actions", "windows", "model"}


@pytest.fixture(scope="module")
def result(bundle):
    return explain([schema.example()], bundle, "en")[0]


def test_output_has_exactly_the_contract_keys(result):
    assert set(result) == KEYS
    assert set(result["probabilities"]) >= {"labeled", "funded", "success", "base_rate", "band"}
    assert set(result["contributions"]) == {"labeled", "success"}
    assert {"field", "from", "to", "gain"} <= set(result["actions"][0])
    assert {"window", "eligible", "labeled", "success"} <= set(result["windows"][0])
    assert {"name", "sha256", "training_data"} <= set(result["model"])


@pytest.mark.parametrize("target", ["labeled", "success"])
def test_contributions_add_up_to_the_probability_shown(result, target):
    c = result["contributions"][target]
    assert c["base"] + sum(c["values"].values()) == pytest.approx(result["probabilities"][target], abs=1e-9)
    assert set(c["values"]) == set(INPUTS)
    assert c["groups"]["criteria"] + c["groups"]["context"] == pytest.approx(sum(c["values"].values()), abs=1e-12)


def test_additivity_holds_for_many_dossiers_against_the_models_own_decision_function(bundle):
    frame = schema.validate_frame(generate(2000, seed=77)).frame
    c = contributions(bundle.model, frame)
    pred = bundle.model.predict(frame)
    for target, p in (("labeled", pred.labeled), ("success", pred.success)):
        base, values = c[target]
        assert np.max(np.abs(base + values.sum(axis=1) - p)) < 1e-9
    X_lab = bundle.model.matrices(frame)[0]
    z0, phi = logit_contributions(bundle.model.label_, bundle.model.label_design_, X_lab)
    own = bundle.model.label_.platt(bundle.model.label_.model.decision_function(X_lab))
    assert np.max(np.abs(z0 + phi.sum(axis=1) - own)) < 1e-9


def test_closed_form_equals_shap_exact_explainer_on_the_inputs(bundle):
    """Our values are SHAP values: shap's exact explainer, run over model inputs, agrees to 1e-8.

    Eight inputs vary (the five criteria and the three contexts with their own
    slopes, so the pair terms are exercised); the others are held at the
    dossier's values in the background too, which keeps 2^8 coalitions.
    """
    from scoring.explain import _plan

    design, cal = bundle.model.label_design_, bundle.model.label_
    frame = schema.validate_frame(generate(60, seed=9)).frame
    X = bundle.model.matrices(frame)[0]
    k, explained = len(design.inputs), 3
    varying = [design.inputs.index(n) for n in ("industrial_interest", "scientific_quality", "success_probability",
                                                "data_quality", "regulatory_readiness", "filiere",
                                                "funding_window", "technology_axis")]
    plan = _plan(design)
    singles = [np.flatnonzero((design.owner == i) & (design.partner < 0)) for i in range(k)]

    def compose(sources):
        """Design row whose input i comes from row sources[i] of X (-1: the explained dossier)."""
        rows = [X[explained] if int(s) < 0 else X[20 + int(s)] for s in sources]
        x = np.zeros(X.shape[1])
        for i in range(k):
            x[singles[i]] = rows[i][singles[i]]
        for n, j in enumerate(plan.pair):
            x[j] = rows[design.owner[j]][plan.u_cols[n]].sum() * rows[design.partner[j]][plan.v_col[n]]
        return x

    bg = -np.ones((25, k))
    bg[:, varying] = np.arange(25)[:, None]
    f = lambda m: cal.logit(np.array([compose(r) for r in m]))
    sv = shap.explainers.Exact(f, shap.maskers.Independent(bg, max_samples=25))(-np.ones((1, k)))
    background = np.array([compose(r) for r in bg])
    z0, phi = logit_contributions(cal, design, X[explained:explained + 1], background.mean(axis=0))
    assert np.allclose(sv.values[0], phi[0], atol=1e-8)
    assert sv.base_values[0] == pytest.approx(z0[0], abs=1e-8)
    assert np.abs(phi[0, varying]).min() > 0  # every varying input, pairs included, was really exercised


def test_actions_deliver_the_gain_they_announce(bundle, result):
    base = schema.example()
    p0 = result["probabilities"]["success"]
    for a in result["actions"]:
        doc = copy.deepcopy(base)
        _, key = a["field"].split(".")
        assert doc["answers"][key] == a["from"]
        doc["answers"][key] = a["to"]
        p1 = explain([doc], bundle)[0]["probabilities"]["success"]
        assert p1 - p0 == pytest.approx(a["gain"], abs=1e-12)
        assert a["gain"] > 0


def test_actions_are_best_first_cheapest_first_at_equal_gain(result):
    keys = [(-round(a["gain"], 4), a["cost"]) for a in result["actions"]]
    assert keys == sorted(keys)


def test_labelling_set_brings_a_weak_dossier_over_the_line(bundle):
    doc = schema.example()
    doc["answers"].update({"ii_medical_need": "assumed", "ii_business_model": "none", "sq_methodology": "outlined",
                           "sp_roadmap": "none"})
    res = explain([doc], bundle)[0]
    assert res["probabilities"]["labeled"] < 0.5
    chosen = [a for a in res["actions"] if a["in_labelling_set"]]
    assert chosen
    for a in chosen:
        doc["answers"][a["field"].split(".")[1]] = a["to"]
    assert explain([doc], bundle)[0]["probabilities"]["labeled"] >= 0.5


def test_reasons_name_the_criteria_with_the_largest_contributions(result):
    """Reasons are criteria only: context contributions stay in the waterfall, never a reason (issue 12)."""
    values = {c: v for c, v in result["contributions"]["success"]["values"].items() if c in CRITERIA}
    ranked = sorted(values, key=values.get)
    against = [r["input"] for r in result["reasons"] if r["kind"] == "against"]
    favour = [r["input"] for r in result["reasons"] if r["kind"] == "for"]
    assert against == [i for i in ranked[:3] if values[i] < -5e-4]
    assert favour == [i for i in ranked[::-1][:3] if values[i] > 5e-4]
    assert any(r["kind"] == "advice" for r in result["reasons"])


def test_reason_sentence_shows_signed_points(result):
    r = next(r for r in result["reasons"] if r["kind"] == "against")
    assert f"{100 * r['value']:+.1f}".replace("-", "\u2212") in r["text"]


def test_same_dossier_same_explanation(bundle):
    a = explain([schema.example()], bundle, "fr")
    b = explain([schema.example()], bundle, "fr")
    assert a == b


def test_french_and_english_differ_only_in_words(bundle):
    fr, en = explain([schema.example()], bundle, "fr")[0], explain([schema.example()], bundle, "en")[0]
    assert fr["probabilities"]["success"] == en["probabilities"]["success"]
    assert fr["reasons"][0]["text"] != en["reasons"][0]["text"]


def test_window_list_is_ranked_with_eligibility(result):
    eligible = [w for w in result["windows"] if w["eligible"]]
    assert [w["success"] for w in eligible] == sorted((w["success"] for w in eligible), reverse=True)
    assert all(w["rule"] for w in result["windows"] if not w["eligible"])


def test_invalid_dossier_raises_with_field(bundle):
    doc = schema.example()
    doc["trl"] = 42
    with pytest.raises(InvalidDossiers) as err:
        explain([doc], bundle)
    assert err.value.issues[0].field == "trl"


@pytest.mark.parametrize("answers", [{}, {"ii_medical_need": "interviews"},
                                     {"ii_medical_need": "interviews", "dq_access": "negotiating"}])
def test_a_dossier_with_few_answers_still_gets_a_full_explanation(bundle, answers):
    doc = schema.example()
    doc["answers"] = answers
    res = explain([doc], bundle)[0]
    assert set(res) == KEYS
    assert all(a["gain"] > 0 for a in res["actions"])
    missing = res["probabilities"]["missing_inputs"]
    assert any(m.startswith("answers.") for m in missing)
