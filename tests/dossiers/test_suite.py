"""The realistic-dossier suite (issue 12): the shipped model orders hand-written dossiers as a committee would."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from scoring import catalogue, jsonform, reference, schema
from scoring.features import CRITERIA

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def rows(bundle):
    return reference.dossier_suite(HERE, bundle)


def test_suite_has_a_dozen_valid_dossiers_of_both_tiers():
    entries = tomllib.loads((HERE / "suite.toml").read_text(encoding="utf-8"))["dossier"]
    assert len(entries) >= 12
    assert {e["tier"] for e in entries} == {"strong", "weak"}
    assert sorted(e["file"] for e in entries) == sorted(p.name for p in HERE.glob("*.json"))
    for e in entries:
        doc = json.loads((HERE / e["file"]).read_text(encoding="utf-8"))
        v = jsonform.validate_records([doc])
        assert not v.issues, (e["file"], v.issues[:2])
        assert e["rationale"] and e["modelled_on"]


@pytest.mark.parametrize("target", ["labeled", "success"])
def test_every_strong_dossier_scores_above_every_weak_one(rows, target):
    strong = {r.file: getattr(r, target) for r in rows if r.tier == "strong"}
    weak = {r.file: getattr(r, target) for r in rows if r.tier == "weak"}
    assert min(strong.values()) > max(weak.values()), (strong, weak)


def test_a_strong_collaborative_dossier_never_gains_by_dropping_its_clinical_partners(rows):
    checked = [r for r in rows if r.tier == "strong" and r.without_clinicians]
    assert len(checked) >= 4
    for r in checked:
        assert r.without_clinicians[0] <= r.labeled + 1e-9, r.file
        assert r.without_clinicians[1] <= r.success + 1e-9, r.file


def test_no_reason_credits_or_blames_the_context(rows):
    """Collaboration, carrier type, year, filière...: never a reason; criteria explain."""
    for r in rows:
        assert r.reasons, r.file
        assert all(x[1:] in CRITERIA for x in r.reasons), (r.file, r.reasons)


def test_suite_problems_names_a_broken_order(rows):
    """The checker the reviewer's table relies on can fail: swap a strong and a weak dossier's tiers."""
    swapped = [reference.SuiteRow(**{**r.as_dict(), "tier": "weak" if r.tier == "strong" else "strong"}) for r in rows]
    problems = reference.suite_problems(swapped)
    assert any(p.startswith("labeled:") for p in problems) and any(p.startswith("success:") for p in problems)


def test_without_clinical_partners_removes_them_and_a_lone_carrier_stops_being_collaborative():
    doc = json.loads((HERE / "s02-tumordrop-like.json").read_text(encoding="utf-8"))
    assert doc["partners"] == {"academic": False, "industrial": False, "clinical": True, "count": 1}
    alone = reference.without_clinical_partners(doc)
    assert alone["collaborative"] is False and alone["partners"]["count"] == 0
    assert (
        alone["answers"]["sp_consortium"] == "na"
        and alone["answers"]["sq_clinicians"] == doc["answers"]["sq_clinicians"]
    )
    assert reference.without_clinical_partners(alone) is None


def test_eligibility_notice_where_due(rows):
    """Each dossier breaks exactly the rules of its target window that suite.toml declares (none: eligible)."""
    assert any(r.expected_ineligible for r in rows)  # the suite holds a dossier its window cannot take
    for r in rows:
        assert r.ineligible == r.expected_ineligible, r.file


def test_suite_problems_names_a_missing_eligibility_notice(rows):
    hidden = [reference.SuiteRow(**{**r.as_dict(), "expected_ineligible": ()}) for r in rows]
    assert any("breaks ['partner_academic']" in p for p in reference.suite_problems(hidden))


def test_no_not_applicable_where_the_rubric_forbids_it():
    for path in sorted(HERE.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        row = jsonform.validate_records([doc]).frame.iloc[0].to_dict()
        forbidden = [
            q for q, a in doc["answers"].items() if a == catalogue.NOT_APPLICABLE and not schema.na_allowed(q, row)
        ]
        assert not forbidden, (path.name, forbidden)
