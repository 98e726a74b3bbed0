"""The downloadable self-assessment report: one self-contained HTML file.

Inline CSS, charts as plain HTML bars, no script, no font, no image, no link
to fetch: it opens offline, prints to PDF from any browser, and can be sent
as it is. Every user-typed text is escaped. Built from the same plain result
(`scoring.explain`) and the same rows (`ui.shaping`) as the app's page.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from scoring import display, formatting
from scoring.fields import FIELD_BY_NAME
from scoring.i18n import code_label, t
from scoring.jsonform import from_json
from ui import form, shaping

CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,Arial,sans-serif;color:#1f2328;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem;
margin-top:2rem}
.meta{color:#57606a;font-size:.9rem}.notice{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem .8rem;
border-radius:6px;font-size:.9rem}
.probs{display:flex;gap:1rem;flex-wrap:wrap}.prob{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;
min-width:14rem}.prob .v{font-size:2rem;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #eaeef2;padding:.3rem .4rem;
text-align:left;vertical-align:top}
.bar{background:#eaeef2;height:.8rem;border-radius:3px;position:relative;min-width:8rem}
.wide .bar{min-width:24rem}
.bar span{position:absolute;top:0;bottom:0;border-radius:3px}
.up{background:#1a7f37}.down{background:#c0392b}.fill{background:#0b5cad}
.for{color:#1a7f37}.against{color:#c0392b}.muted{color:#57606a}
@media print{.notice{break-inside:avoid}section{break-inside:avoid}}
"""


def _bar(start: float, end: float, kind: str, lo: float = 0.0, hi: float = 100.0) -> str:
    """A horizontal bar from `start` to `end` on the [lo, hi] scale (percent of the cell's width)."""
    a, b = sorted((start, end))
    left = 100 * (a - lo) / (hi - lo)
    width = max(100 * (b - a) / (hi - lo), 0.5)
    return f'<div class="bar"><span class="{kind}" style="left:{left:.2f}%;width:{width:.2f}%"></span></div>'


def _rows(cells: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _probabilities(p: dict[str, Any], lang: str) -> str:
    boxes = []
    for target in ("labeled", "success", "funded"):  # the three the app shows, in its order
        label = t(f"ui.prob.{target}", lang)
        estimated = p["estimate"] or target == "labeled"  # a window that cannot take the dossier: no funding estimate
        note = (
            (p["interval"]["text"][target] if target in p["interval"]["text"] else t("ui.prob.funded_help", lang))
            if estimated
            else t("text.not_estimated", lang)
        )
        # written with as many decimals as its interval: "0,4 %" beside "0,3 % – 0,5 %"
        value = (
            p["interval"]["shown"].get(target, shaping.pct(p[target], lang)) if estimated else shaping.pct(None, lang)
        )
        boxes.append(
            f'<div class="prob"><div>{escape(label)}</div>'
            f'<div class="v">{escape(value)}</div>'
            f'<div class="muted">{escape(note)}</div></div>'
        )
    filiere, window = shaping.base_rates(p, lang)
    return (
        f'<div class="probs">{"".join(boxes)}</div><p>{escape(p["summary"])}</p>'
        f"<ul><li>{escape(filiere)}</li><li>{escape(window)}</li></ul>"
    )


def _lead(result: dict[str, Any], lang: str) -> str:
    """What comes before the numbers: the targeted window's refusal, and the answers to check."""
    out = ""
    if result["eligibility"]["text"]:
        out += f'<p class="notice"><strong>{escape(result["eligibility"]["text"])}</strong></p>'
    if result["warnings"]:
        items = "".join(f"<li>{escape(w['text'])}</li>" for w in result["warnings"])
        out += f"<p>{escape(t('text.warnings', lang))}</p><ul>{items}</ul>"
    return out


def _reasons(reasons: list[dict[str, Any]], lang: str) -> str:
    items = []
    for r in reasons:
        kind = t(f"ui.reason.{r['kind']}", lang)
        items.append(f'<li class="{r["kind"]}"><strong>{escape(kind)}</strong> {escape(r["text"])}</li>')
    return f"<ul>{''.join(items)}</ul>"


def _criteria(criteria: list[dict[str, Any]], lang: str) -> str:
    cells = []
    for c in criteria:
        score = shaping.score(c["score"], lang)
        evidence = "<br>".join(
            f'<span class="{"for" if e["effect"] >= 0 else "against"}">{formatting.number(e["effect"], lang, 2, True)}'
            "</span> "
            f"{escape(e['question_label'])} — {escape(e['answer_label'])}"
            for e in c["evidence"]
        )
        cells.append(
            [escape(c["label"]), score, _bar(0, c["score"] or 0, "fill", 0, 5), escape(c["source_label"]), evidence]
        )
    return _rows(
        cells,
        [t(k, lang) for k in ("ui.col.criterion", "ui.col.score", "ui.col.scale", "ui.col.source", "ui.col.evidence")],
    )


def _contributions(contrib: dict[str, Any], lang: str) -> str:
    rows = shaping.contribution_rows(contrib, lang)
    hi = max(0.0, *(r["points"] for r in rows))
    lo = min(0.0, *(r["points"] for r in rows))
    cells = [[escape(r["step"]), escape(r["label"]), _bar(0.0, r["points"], r["kind"], lo, hi)] for r in rows]
    return (
        f"<p>{escape(shaping.levels(contrib, lang))}</p>"
        f'<div class="wide">{_rows(cells, [t("ui.col.input", lang), t("ui.col.points", lang), ""])}</div>'
    )


def _actions(actions: list[dict[str, Any]], labelling: dict[str, Any], lang: str) -> str:
    note = f'<p class="muted">{escape(labelling["text"])}</p>'
    if not actions:
        return f'<p class="muted">{escape(t("ui.actions.none", lang))}</p>' + note
    cells = [
        [escape(a["text"]), escape(t("ui.actions.labelling_set", lang)) if a["in_labelling_set"] else ""]
        for a in actions
    ]
    return _rows(cells, [t("ui.col.action", lang), t("ui.col.labelling_set", lang)]) + note


def _windows(windows: list[dict[str, Any]], lang: str) -> str:
    cells = [
        [
            escape(w["label"]),
            escape(t("ui.windows.eligible", lang) if w["eligible"] else w["rule_text"]),
            escape(w["interval"]["shown"]["labeled"]) + _bar(0, 100 * w["labeled"], "fill"),
            escape(w["interval"]["shown"]["success"]) + _bar(0, 100 * w["success"], "fill"),
            escape(w["interval"]["text"]["success"]),
        ]
        for w in windows
    ]
    return _rows(
        cells,
        [
            t("ui.col.window", lang),
            t("ui.col.eligibility", lang),
            t("ui.prob.labeled", lang),
            t("ui.prob.success", lang),
            t("text.interval", lang),
        ],
    )


def _display(name: str, value: Any, lang: str) -> str:
    f = FIELD_BY_NAME[name]
    if f.kind == "code":
        return code_label(name, value, lang)
    if f.kind == "answer":
        return display.answer_label(name, value, lang)
    if f.kind == "int":  # a year is a name, not a quantity: "2024", never "2 024"
        return str(value) if name == "year" else formatting.number(value, lang)
    if f.kind == "date":
        return formatting.date(dt.date.fromisoformat(str(value)[:10]), lang)
    if f.kind == "bool":
        return t("value.yes" if value else "value.no", lang)
    if f.kind == "float":
        return formatting.euros(value, lang)
    return str(value)


def _dossier(doc: dict[str, Any], lang: str) -> str:
    flat = from_json(doc)
    cells = [
        [escape(display.field_label(f.name, lang)), escape(_display(f.name, flat[f.name], lang))]
        for f in form.FORM_FIELDS
        if f.name in flat
    ]
    return _rows(cells, [t("ui.col.field", lang), t("ui.col.value", lang)])


def build_html(doc: dict[str, Any], result: dict[str, Any], card: dict[str, Any], lang: str, when: dt.datetime) -> str:
    """The report of one explained dossier: every number with its explanation, the date and the model."""
    model = result["model"]
    title = t("ui.report.title", lang)
    name = " — ".join(escape(str(doc[k])) for k in ("dossier_id", "acronym", "title") if doc.get(k))
    p = result["probabilities"]
    missing = "".join(f"<li>{escape(display.missing_label(m, lang))}</li>" for m in p["missing_inputs"])
    focus = "success" if p["estimate"] else "labeled"  # a window that cannot take the dossier: its label only
    sections = [
        ("ui.report.probabilities", _lead(result, lang) + _probabilities(p, lang)),
        ("ui.report.reasons", _reasons(result["reasons"], lang)),
        ("ui.report.criteria", _criteria(result["criteria"], lang)),
        (
            "ui.report.contributions",
            f"<p>{escape(result['starting_point']['text'])}</p>"
            f'<p class="muted">{escape(t("ui.contrib.explain", lang))}</p>'
            + _contributions(result["contributions"][focus], lang),
        ),
        ("ui.report.actions", _actions(result["actions"], result["labelling"], lang)),
        ("ui.report.windows", _windows(result["windows"], lang)),
    ]
    if missing:
        sections.append(("ui.report.missing", f"<ul>{missing}</ul>"))
    sections.append(("ui.report.dossier", _dossier(doc, lang)))
    body = "".join(f"<section><h2>{escape(t(k, lang))}</h2>{html}</section>" for k, html in sections)
    meta = escape(
        t(
            "ui.report.meta",
            lang,
            date=f"{formatting.date(when, lang)} {when:%H:%M}",
            name=model["name"],
            sha=model["sha256"],
        )
    )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p><strong>{name}</strong></p><p class="meta">{meta}</p>'
        f'<p class="notice">{escape(display.notice(card, lang))}</p>{body}'
        f'<footer class="meta"><p>{escape(t("ui.report.footer", lang))}</p><p>{meta}</p></footer>'
        "</body></html>"
    )
