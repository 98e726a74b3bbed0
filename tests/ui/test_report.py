"""The downloadable report: complete, dated, naming its model, and fetching nothing."""

from __future__ import annotations

import datetime as dt
import re
from html import escape

from scoring import jsonform
from scoring.explain import explain
from scoring.i18n import t
from ui import report, shaping


def _report(bundle, lang="fr", **changes):
    doc = {**jsonform.example(), **changes}
    result = explain([doc], bundle, lang)[0]
    return result, report.build_html(doc, result, bundle.card, lang, dt.datetime(2025, 3, 14, 9, 30))


def test_report_holds_every_part_of_the_result_with_date_and_model(bundle):
    result, html = _report(bundle)
    p = result["probabilities"]
    for value in (
        shaping.pct(p["labeled"], "fr"),
        shaping.pct(p["success"], "fr"),
        shaping.pct(p["funded"], "fr"),
        t("ui.prob.funded", "fr"),
        p["summary"],
        "14/03/2025 09:30",
        bundle.sha256,
        bundle.name,
        t("ui.notice.synthetic", "fr"),
    ):
        assert escape(value) in html, value
    for text in (
        [r["text"] for r in result["reasons"]]
        + [a["text"] for a in result["actions"]]
        + [c["label"] for c in result["criteria"]]
        + [w["label"] for w in result["windows"]]
    ):
        assert escape(text) in html, text
    for key in ("ui.report.criteria", "ui.report.contributions", "ui.report.actions", "ui.report.windows"):
        assert t(key, "fr") in html


def test_report_is_self_contained_and_escapes_what_the_user_typed(bundle):
    _, html = _report(bundle, lang="en", title="<script>alert(1)</script> & co")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert not re.search(r"(src|href)\s*=|url\(|@import|https?://", html)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html


def test_the_dossier_as_entered_writes_its_year_as_a_year_and_its_date_the_reader_s_way(bundle):
    for lang in ("fr", "en"):
        _, html = _report(bundle, lang, year=2024, submission_date="2024-03-15")
        text = re.sub(r"<[^>]+>", " ", html)
        assert re.search(r"\b2024\b", text) and not re.search(r"2[\u202f ,]024", text)
        assert "15/03/2024" in text and "2024-03-15" not in text
