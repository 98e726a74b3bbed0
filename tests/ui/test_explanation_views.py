"""One dossier, five views: the JSON explanation, the text report, the HTML report, the app's self-assessment
page and the batch output show the same starting point, eligibility notice, answers to check, actions and
intervals (issue 13)."""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import pandas as pd
import pytest

from scoring import jsonform
from scoring.explain import explain
from scoring.textreport import render
from scoring.vectorised import score_frame
from tests.ui.conftest import texts, unescape, upload
from ui.report import build_html

SUITE = Path(__file__).resolve().parents[1] / "dossiers"


def _dossiers() -> dict[str, dict]:
    eligible = jsonform.example()
    refused = jsonform.example()
    refused.update(funding_window="rhu", dossier_id="CEP-2024-RHU")  # RHU: no call since 2021
    suite = {
        name: json.loads((SUITE / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("w08-sme-alone-at-anr", "w02-ai-no-data")
    }  # refused by ANR; an answer to check
    return {"eligible": eligible, "refused": refused, **suite}


def _expected(res: dict) -> list[str]:
    """The sentences every view must show, taken from the JSON explanation."""
    p = res["probabilities"]
    out = [res["starting_point"]["text"], res["labelling"]["text"], p["interval"]["text"]["labeled"]]
    out += [a["text"] for a in res["actions"]]
    out += [res["eligibility"]["text"]] if res["eligibility"]["text"] else []
    out += [w["text"] for w in res["warnings"]]
    out += [p["interval"]["text"]["success"]] if p["estimate"] else []
    return out


@pytest.mark.parametrize("name", list(_dossiers()))
def test_text_html_app_and_batch_show_the_same_explanation(app, bundle, name):
    doc = _dossiers()[name]
    res = explain([doc], bundle, "fr")[0]
    expected = _expected(res)
    assert res["eligibility"]["eligible"] == (name in ("eligible", "w02-ai-no-data"))
    assert bool(res["warnings"]) == (name == "w02-ai-no-data")

    text = render(res, "fr", bundle.card)
    page = html.unescape(build_html(doc, res, bundle.card, "fr", dt.datetime(2026, 11, 30, 12, 0)))
    upload(app, "sa.draft_upload", "draft.json", json.dumps(doc, ensure_ascii=False).encode(), "application/json")
    app.button(key="sa.evaluate").click().run()
    assert not app.exception, app.exception
    shown = unescape(texts(app))
    for sentence in expected:
        assert sentence in text, ("text", sentence)
        assert sentence in page, ("html", sentence)
        assert sentence in shown, ("app", sentence)
    # the window table's intervals, in every view that has one
    app_table = "\n".join(t.value.to_string() for t in app.table)
    for w in res["windows"]:
        interval = w["interval"]["text"]["success"]
        assert interval in text and interval in page and interval in app_table, w["window"]
    # the batch row of the same dossier: same starting point, interval, eligibility and contributions
    out = score_frame(pd.DataFrame([jsonform.from_json(doc)]), bundle, actions=True).iloc[0]
    assert out["status"] == "ok"
    focus = "success" if res["probabilities"]["estimate"] else "labeled"
    assert (out["actions"] or "") == " | ".join(
        f"{a['field']}: {a['from']} -> {a['to']} ({focus} {a['gain']:+.3f})" for a in res["actions"]
    )
    assert (out["labelling_set"] or "") == ";".join(res["labelling"]["steps"])
    assert bool(out["eligible"]) == res["eligibility"]["eligible"]
    assert (out["warnings"] or "") == ";".join(w["code"] for w in res["warnings"])
    for target in ("labeled", "success"):
        c = res["contributions"][target]
        assert out[f"base_{target}"] == pytest.approx(c["base"], abs=1e-9)
        assert [out[f"p_{target}_low"], out[f"p_{target}_high"]] == pytest.approx(
            res["probabilities"]["interval"][target], abs=1e-9
        )
        for criterion, v in c["values"].items():
            assert out[f"contrib_{target}__{criterion}"] == pytest.approx(v, abs=1e-9)
