"""One eligibility function: the catalogue's rules and the knock-outs, for a frame and for one dossier."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import DATA_DIR, catalogue, eligibility, jsonform, reference, schema
from scoring.i18n import t
from scoring.synthetic import generate


def row_of(doc):
    v = jsonform.validate_records([doc])
    assert not v.issues, v.issues
    return v.frame.iloc[0].to_dict()


def codes_of(doc, window, **kw):
    return eligibility.verdict(row_of(doc), window, **kw).codes


@pytest.fixture
def sme_alone():
    dossier = jsonform.example()
    dossier.update(
        collaborative=False, partners={"academic": False, "industrial": False, "clinical": False, "count": 0}
    )
    dossier["answers"]["sp_consortium"] = "na"
    return dossier


def test_every_rule_a_window_has_cites_its_source_or_says_it_is_an_assumption():
    with open(DATA_DIR / "windows.csv", encoding="utf-8", newline="") as fh:
        rows = {r["window"]: r for r in csv.DictReader(fh)}
    for code, w in reference.catalogue().items():
        has = {
            "open": True,
            "carrier": True,
            "collaboration": True,
            "trl": True,
            "aid": True,
            "partner": w.partner_required is not None,
            "knockouts": bool(reference.window_rules().get(code)) or w.knockout_total is not None,
        }
        for rule, needed in has.items():
            source = rows[code][f"source_{rule}"]
            assert bool(source) == needed, (code, rule, source)
            if source and not source.startswith(eligibility.ASSUMPTION):
                assert "Medi'Scope 2025, seed 002 l." in source or "Horizon Europe" in source, (code, rule, source)


def test_anr_funds_a_company_only_beside_a_public_research_partner(dossier, sme_alone):
    assert codes_of(sme_alone, "anr") == ("partner_academic",)
    assert codes_of(dossier, "anr") == ("partner_academic",)  # a consortium with a clinical partner only
    dossier["partners"] = {"academic": True, "industrial": False, "clinical": True, "count": 2}
    assert codes_of(dossier, "anr") == ()
    sme_alone["carrier_type"] = "academic"  # a public lab applies alone (JCJC, PRC)
    assert codes_of(sme_alone, "anr") == ()


def test_verdict_lists_every_rule_broken_in_the_catalogue_order(dossier):
    v = eligibility.verdict(row_of(dossier), "rhu", lang="en")  # an SME in 2024 asking 400 k€
    assert not v.eligible and v.codes == ("closed", "carrier", "aid")
    assert len(v.sentences) == 3
    assert "2021" in v.sentences[0] and "2024" in v.sentences[0]
    alone = row_of(
        {
            **dossier,
            "collaborative": False,
            "partners": {"academic": False, "industrial": False, "clinical": False, "count": 0},
            "answers": {**dossier["answers"], "sp_consortium": "na"},
        }
    )
    assert eligibility.verdict(alone, "i_demo").codes == ("collaboration",)


def test_each_sentence_is_in_the_readers_language_with_its_values_and_source(dossier):
    dossier.update(trl=2)
    for lang in ("fr", "en"):
        v = eligibility.verdict(row_of(dossier), "region_idf", lang=lang)
        assert v.codes == ("trl",)
        src = reference.catalogue()["region_idf"].sources["trl"]
        assumed = t("eligibility.assumption", lang, source=src[len(eligibility.ASSUMPTION) :].strip())
        assert v.sentences == (
            t("eligibility.trl", lang, window=t("funding_window.region_idf", lang), lo=3, hi=8, trl=2).rstrip(".")
            + f" {assumed}.",
        )
    published = eligibility.verdict(row_of(dossier), "phrc", lang="fr").sentences[0]
    assert t("eligibility.source", "fr", source="Medi'Scope 2025, seed 002 l.1159") in published


def test_knockouts_read_the_experts_scores_only(dossier):
    dossier.update(funding_window="horizon_europe", budget_eur=2_000_000, aid_requested_eur=1_000_000)
    assert codes_of(dossier, "horizon_europe") == ()  # the rubric's own scores are no evaluator's marks
    dossier["expert_scores"] = {"scientific_quality": 2.5}
    assert codes_of(dossier, "horizon_europe") == ("knockout.scientific_quality",)  # total unknown: not judged
    dossier["expert_scores"].update(industrial_interest=3.5, success_probability=3.5)
    assert codes_of(dossier, "horizon_europe") == ("knockout.scientific_quality", "knockout.total")
    given = {"scientific_quality": 4.0, "industrial_interest": 3.0, "success_probability": 3.0}
    assert codes_of(dossier, "horizon_europe", scores=given) == ()  # scores given replace the row's own
    assert codes_of(dossier, "anr", scores={c: 0.0 for c in catalogue.CRITERIA}) == ("partner_academic",)


def test_knockout_thresholds_are_the_european_ones():
    frame = jsonform.validate_records([jsonform.example()] * 3).frame
    scores = np.array([[3.0, 3.0, 3.0, 2.0, 2.0], [4.0, 2.5, 4.0, 5.0, 5.0], [3.5, 3.0, 3.5, 0, 0]])
    b = eligibility.broken(frame, ("horizon_europe",), scores)[:, 0]
    assert list(eligibility.reasons(b)) == ["aid;knockout.total", "aid;knockout.scientific_quality", "aid"]


def _frames():
    """Generated dossiers with their context shuffled across rows: every rule gets broken somewhere."""
    frame = generate(300, 8)
    rng = np.random.default_rng(3)
    for col in ("year", "carrier_type", "trl", "aid_requested_eur", "funding_window"):
        frame[col] = frame[col].to_numpy()[rng.permutation(len(frame))]
    frame["aid_requested_eur"] = np.minimum(frame["aid_requested_eur"], frame["budget_eur"])
    v = schema.validate_frame(frame)
    return v.frame[v.ok].reset_index(drop=True)


FRAME = _frames()


@settings(max_examples=40, deadline=None)
@given(i=st.integers(0, len(FRAME) - 1), lang=st.sampled_from(["fr", "en"]))
def test_one_dossier_and_the_frame_get_the_same_verdicts(i, lang):
    b = eligibility.broken(FRAME)
    first = eligibility.first_rule(FRAME)
    reasons = eligibility.reasons(b)
    for k, v in enumerate(eligibility.verdicts(FRAME.iloc[i].to_dict(), lang=lang)):
        assert v.codes == tuple(c for c, hit in zip(eligibility.CODES, b[i, k]) if hit)
        assert v.eligible == (first[i, k] == "") == (reasons[i, k] == "")
        assert ";".join(v.codes) == reasons[i, k] and (v.codes[:1] or ("",))[0] == first[i, k]
        assert len(v.sentences) == len(v.codes) and all(v.sentences)


def test_the_shuffled_frame_breaks_every_catalogue_rule_somewhere():
    hit = eligibility.broken(FRAME).any(axis=(0, 1))
    assert {c for c, h in zip(eligibility.CODES, hit) if h} >= {
        "closed",
        "carrier",
        "collaboration",
        "partner_academic",
        "trl",
        "aid",
        "knockout.total",
    }


def test_the_window_matrix_uses_the_same_verdicts(bundle):
    wm = bundle.model.window_matrix(FRAME.head(40))
    windows = catalogue.codes()["funding_window"]
    first = eligibility.first_rule(FRAME.head(40))
    got = wm.set_index(["row", "window"])
    for (i, w), r in got.iterrows():
        assert r["rule"] == first[i, windows.index(w)] and r["eligible"] == (r["rule"] == "")


def test_a_catalogue_row_the_rules_cannot_read_is_refused_naming_the_window():
    w = reference.catalogue()["anr"]
    from dataclasses import replace

    with pytest.raises(ValueError, match="window anr: unknown carrier type"):
        reference._check_window(replace(w, eligible_carriers=("startup",)))
    with pytest.raises(ValueError, match="window anr: partner_required must be"):
        reference._check_window(replace(w, partner_required="hospital"))
    with pytest.raises(ValueError, match="window anr: partner_required must be"):
        reference._check_window(replace(w, partner_required_for=()))
