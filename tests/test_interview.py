"""The preliminary-interview brief (issue 18): questions, strong answers, readiness verdict, outputs."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoring import formatting, interview
from scoring.cli import cli
from scoring.explain import LABELLING_LINE, PROMISING, explain
from scoring.i18n import t
from scoring.rubric import all_questions, feasible_moves, question

SUITE = Path(__file__).parent / "dossiers"


def load(name: str) -> dict:
    return json.loads((SUITE / name).read_text(encoding="utf-8"))


def suite() -> list[dict]:
    return [load(p.name) for p in sorted(SUITE.glob("*.json"))]


def flat(doc: dict) -> dict:
    """The answers and the TRL as feasible_moves reads them (a validated row's fields)."""
    return {**doc["answers"], "trl": doc["trl"]}


def test_every_rubric_question_has_an_interview_question_in_both_languages():
    for q in all_questions():
        fr, en = t(f"ask.{q.id}", "fr"), t(f"ask.{q.id}", "en")
        assert fr and en and fr != en and fr.endswith("?") and en.endswith("?"), q.id


def test_each_brief_asks_five_to_eight_distinct_questions_with_their_words(bundle):
    for b in interview.briefs(suite(), bundle, "fr"):
        qs = b["questions"]
        assert interview.MIN_QUESTIONS <= len(qs) <= interview.MAX_QUESTIONS, b["dossier_id"]
        ids = [q["question"] for q in qs if q["question"]]
        assert len(ids) == len(set(ids))
        assert all(q["ask"] == t(f"ask.{q['question']}", "fr") for q in qs if q["question"])
        assert len(b["summary"]) == 5


def test_questions_come_in_order_contradictions_doubtful_na_missing_then_weakest_by_model_gain(bundle):
    doc = load("s07-anr-biotherapy.json")  # biotherapy: its "na" on data are allowed by the axis, not proven
    doc["answers"]["sp_roadmap"] = None  # one unanswered question
    doc["trl"] = 3
    doc["answers"]["sp_adoption"] = "pilot_done"  # a pilot done at TRL 3: a stage contradiction
    b = interview.briefs([doc], bundle, "en")[0]
    kinds = [q["kind"] for q in b["questions"]]
    assert kinds == sorted(kinds, key=interview.KINDS.index), kinds
    assert {"warning", "not_applicable", "missing"} <= set(kinds)
    assert any(q["question"] == "sp_adoption" for q in b["questions"] if q["kind"] == "warning")
    assert any(q["question"] == "sp_roadmap" for q in b["questions"] if q["kind"] == "missing")
    gains = [q["gain"] for q in b["questions"] if q["kind"] == "weak"]
    assert gains == sorted(gains, reverse=True)


def test_a_single_partner_project_is_not_asked_about_its_partners_governance(bundle):
    doc = load("w01-gadget-app.json")
    assert doc["answers"]["sp_consortium"] == "na" and not doc["collaborative"]
    b = interview.briefs([doc], bundle, "fr")[0]
    assert "sp_consortium" not in [q["question"] for q in b["questions"]]


def test_a_strong_answer_is_the_next_feasible_level_and_its_gain_is_the_models(bundle):
    doc = load("w03-consortium-no-trust.json")
    b = interview.briefs([doc], bundle, "en")[0]
    moves = {q.id: to for q, _, to in feasible_moves(flat(doc))}
    weak = [q for q in b["questions"] if q["kind"] == "weak"]
    assert weak
    p0 = explain([doc], bundle, "en")[0]["probabilities"]
    focus = "success" if b["eligibility"]["eligible"] else "labeled"
    for q in weak[:2]:
        assert q["strong"] == moves[q["question"]]
        assert q["strong_label"] == t(f"rubric.{q['question']}.{q['strong']}", "en")
        # said as the next step, not as "a strong answer" (a step up may still be far from the rubric's top)
        assert q["strong_text"] == t("interview.next_step", "en", answer=q["strong_label"])
        moved = copy.deepcopy(doc)
        moved["answers"][q["question"]] = q["strong"]
        p1 = explain([moved], bundle, "en")[0]["probabilities"]
        assert q["gain"] == pytest.approx(p1[focus] - p0[focus], abs=1e-9)


def test_a_strong_dossier_is_ready_to_submit_with_its_probabilities(bundle):
    b = interview.briefs([load("s03-gecko-like.json")], bundle, "fr")[0]
    r = b["readiness"]
    assert r["verdict"] == "submit"
    assert r["probabilities"]["labeled"] >= LABELLING_LINE and r["probabilities"]["success"] >= PROMISING
    assert formatting.percent(r["probabilities"]["success"], "fr") in r["text"]


def test_a_dossier_its_window_cannot_take_is_re_planned_to_a_named_eligible_window(bundle):
    doc = load("w08-sme-alone-at-anr.json")
    b = interview.briefs([doc], bundle, "en")[0]
    r = b["readiness"]
    assert not b["eligibility"]["eligible"] and r["verdict"] == "replan"
    assert r["window"] != doc["funding_window"]
    assert r["window"] in [w["window"] for w in b["eligibility"]["best_windows"]]
    assert t(f"funding_window.{r['window']}", "en") in r["text"]


def _near_the_line(bundle) -> dict:
    """A weak dossier raised one answer at a time (best feasible step first) until P(labelled) is just under
    the labelling line: the case the expert tells to strengthen before submitting."""
    doc = load("w04-unclear-use.json")
    for _ in range(40):
        res = explain([doc], bundle, "en")[0]
        if res["labelling"]["steps"]:
            return doc
        step = res["actions"][0]
        doc["answers"][step["field"].split(".")[1]] = step["to"]
    raise AssertionError("no dossier near the labelling line found")


def test_a_dossier_near_the_line_is_told_which_steps_cross_it_and_they_do(bundle):
    doc = _near_the_line(bundle)
    b = interview.briefs([doc], bundle, "en")[0]
    r = b["readiness"]
    assert r["verdict"] == "strengthen" and r["steps"]
    moved = copy.deepcopy(doc)
    for s in r["steps"]:
        qid = s["field"].split(".")[1]
        assert question(qid).rank(s["to"]) > question(qid).rank(s["from"])
        moved["answers"][qid] = s["to"]
    assert explain([moved], bundle, "en")[0]["probabilities"]["labeled"] >= LABELLING_LINE
    assert r["probabilities"]["labeled"] < LABELLING_LINE <= r["probabilities"]["labeled_after"]


def test_the_applicants_mirror_has_the_same_content_under_its_own_headings(bundle):
    doc = load("w02-ai-no-data.json")
    expert, applicant = (interview.briefs([doc], bundle, "fr", a)[0] for a in interview.AUDIENCES)
    assert expert["questions"] == applicant["questions"]
    assert expert["readiness"]["verdict"] == applicant["readiness"]["verdict"]
    te, ta = interview.render_text(expert), interview.render_text(applicant)
    assert t("interview.h.questions.expert", "fr") in te and t("interview.h.questions.applicant", "fr") in ta
    assert t("interview.h.questions.expert", "fr") not in ta


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_writes_text_json_and_a_self_contained_printable_html_page_for_a_folder(tmp_path):
    folder = tmp_path / "day"
    folder.mkdir()
    for name in ("s03-gecko-like.json", "w08-sme-alone-at-anr.json"):
        (folder / name).write_text((SUITE / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "notes.txt").write_text("not a dossier", encoding="utf-8")
    r = run("interview", str(folder), "--format", "json")
    assert r.exit_code == 0, r.output
    items = json.loads(r.stdout)
    assert [b["dossier_id"] for b in items] == ["S03-GECKO-LIKE", load("w08-sme-alone-at-anr.json")["dossier_id"]]
    r = run("interview", str(folder / "s03-gecko-like.json"))
    assert r.exit_code == 0 and t("interview.h.verdict.expert", "fr") in r.stdout
    out = tmp_path / "briefs.html"
    r = run("interview", str(folder), "--format", "html", "--out", str(out))
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    assert not re.search(r"<script|<link|src=|https?://", page)  # nothing fetched: prints offline
    assert page.count('<section class="brief">') == 2 and "@media print" in page
    assert "\u202f%" in page and "\u202f:" in page  # French typography: narrow no-break spaces


def test_cli_reports_an_invalid_dossier_by_field(tmp_path, dossier):
    bad = dict(dossier, trl=12)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    r = run("interview", str(path))
    assert r.exit_code == 1 and "Maturité technologique (TRL)\u202f: la valeur 12 dépasse le maximum 9" in r.output
    assert f"{path}\u202f: 1 dossier invalide\u202f; corrigez les champs ci-dessus" in r.output


def test_a_strong_dossier_aimed_at_a_window_closed_to_it_is_re_planned_to_the_best_open_one(bundle):
    doc = load("s03-gecko-like.json")
    doc["funding_window"] = "phrc"  # a hospital clinical-research call: not open to a company
    b = interview.briefs([doc], bundle, "fr")[0]
    r, best = b["readiness"], b["eligibility"]["best_windows"][0]
    assert not b["eligibility"]["eligible"] and r["verdict"] == "replan"
    assert r["window"] == best["window"] != "phrc" and best["success"] >= PROMISING
    assert t(f"funding_window.{best['window']}", "fr") in r["text"]
    assert formatting.percent(best["success"], "fr") in r["text"]
