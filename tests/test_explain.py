"""Explanations: from "projects like yours" to the dossier, exactly; feasible actions; eligibility first; honest
intervals; the realistic-dossier suite and random dossiers (hypothesis) checked alike."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import shap
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scoring import formatting, jsonform, schema
from scoring.actions import LABELLING_LINE, MIN_GAIN
from scoring.consistency import warnings as answer_warnings
from scoring.contributions import background, contributions, logit_contributions, profiles_of
from scoring.eligibility import verdict
from scoring.evaluate import interval_coverage
from scoring.explain import InvalidDossiers, explain, explain_frame
from scoring.features import CONTEXT, CRITERIA
from scoring.i18n import t
from scoring.model import INTERVAL_LEVEL, CEPModel, criterion_profiles
from scoring.phrasing import NO_ESTIMATE, amount, interval_text
from scoring.rubric import all_questions, feasible_moves, question
from scoring.synthetic import generate
from scoring.textreport import render
from tests.contract import EXPLANATION_KEYS

SUITE = sorted((Path(__file__).parent / "dossiers").glob("*.json"))


@pytest.fixture(scope="module")
def result(bundle):
    return explain([jsonform.example()], bundle, "en")[0]


@pytest.fixture(scope="module")
def suite(bundle):
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in SUITE]
    return list(zip(docs, explain(docs, bundle, "fr")))


def _doc(**context) -> dict:
    doc = jsonform.example()
    doc.update(context)
    return doc


# --------------------------------------------------------------------------- what every explanation must hold


def check_explanation(row: dict, res: dict, lang: str = "fr") -> None:
    """What the issue asks of any dossier's explanation; used on the suite and on random dossiers."""
    p = res["probabilities"]
    # context is the starting point: the criteria alone move the dossier from it, exactly
    for target in ("labeled", "success"):
        c = res["contributions"][target]
        assert set(c["values"]) == set(CRITERIA)
        assert c["base"] == pytest.approx(res["starting_point"][target], abs=1e-12)
        assert c["base"] + sum(c["values"].values()) == pytest.approx(p[target], abs=1e-9)
    # no context input is a reason; the year never appears
    assert {r["input"] for r in res["reasons"] if r["kind"] != "advice"} <= set(CRITERIA)
    text = json.dumps(res, ensure_ascii=False)
    assert t("input.year", lang) not in text and '"year"' not in text
    for name in CONTEXT:
        assert all(not r["text"].startswith(t(f"input.{name}", lang)) for r in res["reasons"])
    # eligibility first, where due; an ineligible target is never called a good choice nor estimated
    v = verdict(row, row["funding_window"], lang=lang)
    e = res["eligibility"]
    assert e["eligible"] == v.eligible and e["codes"] == list(v.codes)
    assert bool(e["text"]) == (not v.eligible) and p["estimate"] == v.eligible
    if not v.eligible:
        assert all(s in e["text"] for s in v.sentences)
        assert all(a["window"] != row["funding_window"] for a in e["alternatives"])
        advice = next(r["text"] for r in res["reasons"] if r["kind"] == "advice")
        target = next(w["label"] for w in res["windows"] if w["window"] == row["funding_window"])
        assert advice != t("advice.good_fit", lang, window=target, p=f"{100 * p['success']:.0f}")
    # suspicious answers are shown with the result
    assert res["warnings"] == [w.as_dict() for w in answer_warnings(row, lang)]
    # what is explained: P(success), unless the targeted window cannot take the dossier
    focus = "success" if p["estimate"] else "labeled"
    # every action is a step the project can take now: one level up, feasible for its TRL and answers
    feasible = {(f"answers.{q.id}", a, b) for q, a, b in feasible_moves(row)}
    for a in res["actions"]:
        assert (a["field"], a["from"], a["to"]) in feasible, a
        q = question(a["field"].split(".", 1)[1])
        assert not q.unmet(a["to"], row)
        assert a["gain"] == a["gains"][focus] and (a["gain"] >= MIN_GAIN or a["in_labelling_set"])
        assert amount(a["gains"]["labeled"], "labeled", lang) in a["text"]
    for r in res["reasons"]:
        if r["kind"] != "advice":
            assert r["value"] == res["contributions"][focus]["values"][r["input"]]
            assert amount(r["value"], focus, lang) in r["text"]
    # honest intervals: never a point, around the estimate, and written so
    for target in ("labeled", "success"):
        lo, hi = p["interval"][target]
        assert lo < p[target] < hi
        assert p["interval"]["level"] == INTERVAL_LEVEL
        assert p["interval"]["text"][target] == interval_text(lo, hi, lang)
        # the probability is written with the decimals its interval needs: the two ends differ as written
        d = next(d for d in range(3) if formatting.percent(p[target], lang, d) == p["interval"]["shown"][target])
        assert formatting.percent(lo, lang, d) != formatting.percent(hi, lang, d) or d == 2
        assert p["interval"]["text"][target].startswith(
            t("interval.text", lang, level=formatting.percent(INTERVAL_LEVEL, lang), lo="", hi="")[:12]
        )
    for w in res["windows"]:
        for target in ("labeled", "success"):
            lo, hi = w["interval"][target]
            assert lo < w[target] < hi


# --------------------------------------------------------------------------- contract and exactness


def test_output_has_exactly_the_contract_keys(result):
    assert set(result) == EXPLANATION_KEYS
    assert set(result["probabilities"]) >= {"labeled", "funded", "success", "base_rate", "interval", "estimate"}
    assert set(result["contributions"]) == {"labeled", "success"}
    assert {"field", "from", "to", "gain", "gains", "same_effect"} <= set(result["actions"][0])
    assert {"window", "eligible", "labeled", "success", "interval"} <= set(result["windows"][0])
    assert {"name", "sha256", "training_data"} <= set(result["model"])


def test_example_explanation_holds_every_rule(result):
    check_explanation(jsonform.from_json(jsonform.example()), result, "en")


def test_additivity_holds_for_many_dossiers_against_the_models_own_decision_function(bundle):
    frame = schema.validate_frame(generate(2000, seed=77)).frame
    c = contributions(bundle.model, frame)
    pred = bundle.model.predict(frame)
    for target, p in (("labeled", pred.labeled), ("success", pred.success)):
        base, values = c[target]
        assert values.shape == (len(frame), len(CRITERIA))
        assert np.max(np.abs(base + values.sum(axis=1) - p)) < 1e-9
    m = bundle.model
    X = m.matrices(frame).label
    B = background(m.label_design_, X, profiles_of(m, frame)[0])
    z0, phi = logit_contributions(m.label_, m.label_design_, X, B)
    assert np.max(np.abs(z0 + phi.sum(axis=1) - m.label_.logit(X))) < 1e-9


def test_the_starting_point_is_the_dossiers_context_with_its_groups_average_criteria(bundle):
    """Answers move the dossier, never its starting point; a context field moves the starting point."""
    doc = jsonform.example()
    base = explain([doc], bundle)[0]["starting_point"]
    weaker = copy.deepcopy(doc)
    weaker["answers"].update(ii_medical_need="assumed", sq_methodology="outlined")
    assert explain([weaker], bundle)[0]["starting_point"]["success"] == pytest.approx(base["success"], abs=1e-12)
    moved = copy.deepcopy(doc)
    moved["trl"] = 7
    assert explain([moved], bundle)[0]["starting_point"]["success"] != pytest.approx(base["success"], abs=1e-6)


def test_closed_form_equals_shap_exact_explainer_over_the_five_criteria(bundle):
    """Our values are SHAP values: the five criteria drawn from 25 dossiers' scores (their profile the
    background), the dossier's context held, as shap's exact explainer computes them, to 1e-8."""
    m = bundle.model
    design, cal = m.label_design_, m.label_
    frame = schema.validate_frame(generate(40, seed=9)).frame
    mats = m.matrices(frame)
    scores = mats.scores
    explained = 3
    x = mats.label[explained : explained + 1]
    donors = scores[10:35]
    profile = criterion_profiles(frame.iloc[10:35].reset_index(drop=True), donors)[()][1]
    z0, phi = logit_contributions(cal, design, x, background(design, x, profile[None]))

    def f(masks):
        rows = np.array(
            [[scores[explained, j] if int(s) < 0 else donors[int(s), j] for j, s in enumerate(r)] for r in masks]
        )
        return cal.logit(design.with_scores(np.repeat(x, len(rows), axis=0), rows))

    bg = np.repeat(np.arange(25)[:, None], len(CRITERIA), axis=1)
    sv = shap.explainers.Exact(f, shap.maskers.Independent(bg, max_samples=25))(-np.ones((1, len(CRITERIA))))
    assert np.allclose(sv.values[0], phi[0], atol=1e-8)
    assert sv.base_values[0] == pytest.approx(z0[0], abs=1e-8)
    assert np.abs(phi[0]).min() > 0


# --------------------------------------------------------------------------- monotonicity (property)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), qi=st.integers(0, len(all_questions()) - 1), data=st.data())
def test_a_better_answer_never_lowers_either_probability(bundle, seed, qi, data):
    """Criterion coefficients are bounded >= 0 in both models and a score is nondecreasing in an answer's
    points: the model is monotone by construction, so a better-scoring answer can only raise P(L) and P(L and F)."""
    frame = schema.validate_frame(generate(1, seed=seed)).frame
    q = all_questions()[qi]
    a = frame.at[0, q.id]
    if not isinstance(a, str) or a not in q.points:
        a = data.draw(st.sampled_from(q.answers))
        frame[q.id] = frame[q.id].astype(object)
        frame.at[0, q.id] = a
    better = [b for b in q.answers if q.points[b] > q.points[a]]
    if not better:
        return
    after = frame.copy()
    after[q.id] = after[q.id].astype(object)
    after.at[0, q.id] = data.draw(st.sampled_from(better))
    p0, p1 = bundle.model.predict(frame), bundle.model.predict(after)
    assert p1.labeled[0] >= p0.labeled[0] - 1e-12
    assert p1.success[0] >= p0.success[0] - 1e-12


# --------------------------------------------------------------------------- random dossiers (property)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 100_000))
def test_random_dossiers_get_explanations_that_hold_every_rule(bundle, seed):
    frame = schema.validate_frame(generate(2, seed=seed)).frame
    for row, res in zip(frame.to_dict("records"), explain_frame(frame, bundle, "fr")):
        check_explanation(row, res, "fr")


# --------------------------------------------------------------------------- the realistic-dossier suite


@pytest.mark.parametrize("i", range(len(SUITE)), ids=[p.stem for p in SUITE])
def test_every_suite_dossier_gets_an_explanation_that_holds_every_rule(suite, i):
    doc, res = suite[i]
    check_explanation(jsonform.from_json(doc), res, "fr")


def test_a_queue_explained_together_reads_as_each_dossier_explained_alone(bundle):
    # the windows, the verdicts and the warnings of a queue are computed in one pass over its rows
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in SUITE]
    docs.append({**_doc(funding_window="rhu", year=2024), "dossier_id": "Q-RHU"})
    assert _rounded(explain(docs, bundle, "fr")) == _rounded([explain([d], bundle, "fr")[0] for d in docs])


def _rounded(x):
    """`x` with every float to 12 decimals: a matrix product's last bits depend on how many rows it holds."""
    if isinstance(x, float):
        return round(x, 12)
    if isinstance(x, dict):
        return {k: _rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_rounded(v) for v in x]
    return x


# --------------------------------------------------------------------------- eligibility first


@pytest.mark.parametrize(
    "context",
    [
        {"funding_window": "rhu", "year": 2024},  # closed since 2021
        {"funding_window": "bpifrance", "carrier_type": "academic"},  # companies only
        {"funding_window": "bpifrance", "trl": 2},  # outside the window's TRL range
    ],
)
def test_a_target_window_the_dossier_cannot_use_leads_the_result(bundle, context):
    doc = _doc(**context)
    row = jsonform.from_json(doc)
    v = verdict(row, row["funding_window"], lang="fr")
    assert not v.eligible, context
    res = explain([doc], bundle, "fr")[0]
    check_explanation(row, res, "fr")
    e = res["eligibility"]
    assert all(w["window"] != context["funding_window"] for w in e["alternatives"])
    assert bool(e["alternatives"]) == any(w["eligible"] for w in res["windows"])
    assert [w["success"] for w in e["alternatives"]] == sorted((w["success"] for w in e["alternatives"]), reverse=True)
    assert not res["probabilities"]["estimate"]
    target = next(w["label"] for w in res["windows"] if w["window"] == context["funding_window"])
    assert target in e["text"] and all(w["label"] in e["text"] for w in e["alternatives"])
    # the window table says the same: no funding written for a window that cannot take the dossier
    for w in res["windows"]:
        written = (w["interval"]["shown"]["success"], w["interval"]["text"]["success"])
        assert (written == (NO_ESTIMATE, NO_ESTIMATE)) == (not w["eligible"]), w["window"]
        assert w["interval"]["shown"]["labeled"] != NO_ESTIMATE
    lines = render(res, "fr").splitlines()
    for w in res["windows"]:
        line = next(x for x in lines if x.strip().startswith(w["label"] + " "))
        if w["eligible"]:
            assert w["interval"]["shown"]["success"] in line and NO_ESTIMATE not in line, line
        else:
            assert NO_ESTIMATE in line, line


# --------------------------------------------------------------------------- actions


def test_actions_deliver_the_gains_they_announce_on_both_probabilities(bundle, result):
    base = jsonform.example()
    p0 = result["probabilities"]
    assert result["actions"]
    for a in result["actions"]:
        doc = copy.deepcopy(base)
        _, key = a["field"].split(".")
        assert doc["answers"][key] == a["from"]
        doc["answers"][key] = a["to"]
        p1 = explain([doc], bundle)[0]["probabilities"]
        assert p1["success"] - p0["success"] == pytest.approx(a["gains"]["success"], abs=1e-12)
        assert p1["labeled"] - p0["labeled"] == pytest.approx(a["gains"]["labeled"], abs=1e-12)
        assert a["gain"] == a["gains"]["success"] > 0
        assert amount(a["gains"]["success"], "success", "en") in a["text"]
        assert amount(a["gains"]["labeled"], "labeled", "en") in a["text"]


def test_actions_are_best_first_and_no_two_are_the_same_step_for_the_model(bundle, result):
    gains = [a["gain"] for a in result["actions"]]
    assert gains == sorted(gains, reverse=True)
    # steps leaving the five scores the same are one action: the others are named with it
    seen = set()
    for a in result["actions"]:
        doc = copy.deepcopy(jsonform.example())
        doc["answers"][a["field"].split(".")[1]] = a["to"]
        key = tuple(c["score"] for c in explain([doc], bundle)[0]["criteria"])
        assert key not in seen or a["in_labelling_set"]
        seen.add(key)
    assert any(a["same_effect"] for a in result["actions"])


def test_a_near_certain_dossier_is_offered_no_zero_gain_steps(bundle):
    doc = jsonform.example()
    doc["answers"] = {q.id: q.answers[-2] if len(q.answers) > 2 else q.answers[-1] for q in all_questions()}
    doc.update(trl=7)
    res = explain([doc], bundle, "fr")[0]
    assert res["probabilities"]["labeled"] > 0.95 and res["probabilities"]["estimate"]
    assert all(a["gains"]["success"] >= MIN_GAIN for a in res["actions"])
    shown = [formatting.points(a["gain"], "fr") for a in res["actions"]]
    assert all(s != formatting.points(0.0, "fr") for s in shown)


def test_labelling_set_brings_a_weak_dossier_over_the_line_with_feasible_steps(bundle):
    doc = jsonform.example()
    doc["answers"].update(
        {"ii_medical_need": "assumed", "ii_business_model": "none", "sq_methodology": "outlined", "sp_roadmap": "none"}
    )
    res = explain([doc], bundle)[0]
    assert res["probabilities"]["labeled"] < LABELLING_LINE
    chosen = [a for a in res["actions"] if a["in_labelling_set"]]
    assert chosen and [a["field"] for a in chosen] == res["labelling"]["steps"]
    for a in chosen:
        doc["answers"][a["field"].split(".")[1]] = a["to"]
    after = explain([doc], bundle)[0]["probabilities"]["labeled"]
    assert after >= LABELLING_LINE and after == pytest.approx(res["labelling"]["labeled_after"], abs=1e-12)


def test_french_amounts_take_the_singular_below_two_and_the_minus_sign():
    assert amount(0.015, "labeled", "fr") == "+1,5 point de P(labellisé)"
    assert amount(-0.08, "success", "fr") == "\u22128,0 points de P(labellisé et financé)"
    assert amount(0.01, "labeled", "en") == "+1.0 points of P(labelled)"
    assert formatting.plural(Decimal("1.0"), "en") == "other"


# --------------------------------------------------------------------------- reasons, languages, errors


def test_reasons_name_the_criteria_with_the_largest_moves_from_projects_like_yours(result):
    values = result["contributions"]["success"]["values"]
    ranked = sorted(values, key=values.get)
    against = [r["input"] for r in result["reasons"] if r["kind"] == "against"]
    favour = [r["input"] for r in result["reasons"] if r["kind"] == "for"]
    assert against == [i for i in ranked[:3] if values[i] <= -MIN_GAIN]
    assert favour == [i for i in ranked[::-1][:3] if values[i] >= MIN_GAIN]
    assert any(r["kind"] == "advice" for r in result["reasons"])
    for r in result["reasons"]:
        if r["kind"] != "advice":
            assert amount(r["value"], "success", "en") in r["text"]


def test_a_reason_names_only_an_answer_that_pushes_its_way(suite):
    """A criterion can be "for" against its group's average with every answer at or below the rubric's
    midpoint (w08: 2/5 where projects like yours score 1/5): then no answer is named, never one that moves
    nothing or pulls the other way."""
    named = 0
    for _, res in suite:
        evidence = {c["criterion"]: c["evidence"] for c in res["criteria"]}
        for r in res["reasons"]:
            if r["kind"] not in ("for", "against"):
                continue
            sign = 1 if r["kind"] == "for" else -1
            quoted = [e for e in evidence[r["input"]] if f"« {e['answer_label']} »" in r["text"]]
            assert all(sign * e["effect"] > 0 for e in quoted), (r["text"], quoted)
            named += bool(quoted)
    assert named  # most reasons do name their answer


def test_a_criterion_without_a_score_is_no_reason_though_its_move_is_shown(suite):
    """Not applicable (w06's data quality) moves P from its group's average, and the contributions show it;
    the dossier shows nothing on it, so it is neither for nor against."""
    moved = 0
    for _, res in suite:
        unscored = {c["criterion"] for c in res["criteria"] if c["score"] is None}
        values = res["contributions"]["success"]["values"]
        moved += sum(abs(values[c]) >= MIN_GAIN for c in unscored)
        assert not unscored & {r["input"] for r in res["reasons"] if r["kind"] != "advice"}, res["dossier_id"]
    assert moved  # the suite holds such a criterion, large enough to have been a reason


def test_same_dossier_same_explanation(bundle):
    assert explain([jsonform.example()], bundle, "fr") == explain([jsonform.example()], bundle, "fr")


def test_french_and_english_differ_only_in_words(bundle):
    fr, en = explain([jsonform.example()], bundle, "fr")[0], explain([jsonform.example()], bundle, "en")[0]
    assert fr["probabilities"]["success"] == en["probabilities"]["success"]
    assert fr["starting_point"]["text"] != en["starting_point"]["text"]


def test_window_list_is_ranked_with_eligibility(result):
    eligible = [w for w in result["windows"] if w["eligible"]]
    assert [w["success"] for w in eligible] == sorted((w["success"] for w in eligible), reverse=True)
    assert all(w["rule"] for w in result["windows"] if not w["eligible"])


def test_invalid_dossier_raises_with_field(bundle):
    doc = jsonform.example()
    doc["trl"] = 42
    with pytest.raises(InvalidDossiers) as err:
        explain([doc], bundle)
    assert err.value.issues[0].field == "trl"


@pytest.mark.parametrize(
    "answers", [{}, {"ii_medical_need": "interviews"}, {"ii_medical_need": "interviews", "dq_access": "negotiating"}]
)
def test_a_dossier_with_few_answers_still_gets_a_full_explanation(bundle, answers):
    doc = jsonform.example()
    doc["answers"] = answers
    res = explain([doc], bundle)[0]
    assert set(res) == EXPLANATION_KEYS
    assert all(a["gain"] > 0 for a in res["actions"])
    assert any(m.startswith("answers.") for m in res["probabilities"]["missing_inputs"])


# --------------------------------------------------------------------------- honest intervals


@pytest.fixture(scope="module")
def small_model():
    """A model trained here on a base with its true probabilities: its interval scale is measured on them."""
    frame = schema.validate_frame(generate(3000, seed=3)).frame
    return CEPModel(seed=0, n_bootstrap=10).fit(frame)


def test_intervals_hold_the_true_probability_about_as_often_as_they_say(small_model):
    fresh = schema.validate_frame(generate(20_000, seed=11)).frame
    cov = interval_coverage(small_model, fresh)
    assert cov["level"] == 0.8
    for target in ("labeled", "success"):
        assert 0.74 <= cov[target] <= 0.86, cov
    lab, succ = small_model.intervals(small_model.matrices(fresh).label)
    pred = small_model.predict(fresh)
    for band, p in ((lab, pred.labeled), (succ, pred.success)):
        assert np.all(band[:, 0] < p) and np.all(p < band[:, 1])


@given(lo=st.floats(1e-3, 0.99), width=st.floats(1e-3, 0.5))
def test_an_interval_end_reads_0_or_100_percent_only_when_it_is(lo, width):
    """A probability of 0.4 % is not written "0 %" (as the triage queue once wrote a not-ready dossier)."""
    hi = min(lo + width, 0.999)
    assume(hi > lo)
    ends = interval_text(lo, hi, "fr").split(":")[-1].split("\u2013")
    assert ends[0].strip() != ends[1].strip()
    assert not {e.strip() for e in ends} & {"0\u202f%", "100\u202f%"}, ends


def test_an_interval_at_the_extremes_is_narrow_but_never_a_point(bundle):
    doc = jsonform.example()
    doc["answers"] = {q.id: q.answers[-1] for q in all_questions()}
    doc.update(trl=7)
    top = explain([doc], bundle, "fr")[0]["probabilities"]
    lo, hi = top["interval"]["success"]
    assert lo < top["success"] < hi
    ends = top["interval"]["text"]["success"].split(":")[-1].split("\u2013")
    assert ends[0].strip() != ends[1].strip()
