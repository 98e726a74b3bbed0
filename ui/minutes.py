"""The minutes of a committee session: one table (XLSX) and one printable page (self-contained HTML).

Both are built from `scoring.committee.session`'s rows, in the reader's
language, numbers by `scoring.formatting` (French: decimal comma, narrow
no-break spaces before % and in the labels' : ; ?). The HTML page has its style
inline and no script, image or link: it opens and prints offline. Every text
that came from a user or a dossier is escaped.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from scoring import formatting, io
from scoring.catalogue import CRITERIA
from scoring.committee import DossierConsensus
from scoring.i18n import t


def _score(v: float | None, lang: str) -> str:
    return "—" if v is None else formatting.number(v, lang, 0 if float(v).is_integer() else 1)


def decision_text(row: DossierConsensus, lang: str) -> str:
    if row.decision is None:
        return t("ui.cm.undecided", lang)
    return t("ui.cm.labelled" if row.decision.labeled else "ui.cm.not_labelled", lang)


def _success(p: dict[str, float], r: DossierConsensus, lang: str) -> str:
    # a window that cannot take the dossier has no funding estimate: the rules column says why
    return formatting.percent(p["success"], lang) if r.funding_estimate else "\u2014"


def model_line(r: DossierConsensus, lang: str) -> str:
    """The model's probability with the consensus scores and from the questionnaire alone, in words.

    P(labelled and funded) when the targeted window can take the dossier, P(labelled) otherwise.
    """
    key, target = ("ui.cm.model_line", "success") if r.funding_estimate else ("ui.cm.model_line_labeled", "labeled")
    return t(
        key,
        lang,
        consensus=formatting.percent(r.p_consensus[target], lang),
        rubric=formatting.percent(r.p_rubric[target], lang),
    )


def rules_text(row: DossierConsensus, lang: str) -> str:
    if row.rules is None or row.rules.eligible:
        return t("ui.cm.rules_pass", lang)
    return formatting.typeset("; ".join(row.rules.sentences), lang)


def frame(rows: list[DossierConsensus], lang: str) -> pd.DataFrame:
    """One line per dossier: the panel, the consensus per criterion, the model, the rules, the decision."""
    out = []
    for r in rows:
        line = {
            t("ui.cm.col.dossier", lang): r.dossier_id,
            t("ui.cm.col.title", lang): r.title,
            t("ui.cm.col.experts", lang): ", ".join(sorted(r.assessments)),
            t("ui.cm.col.discuss", lang): ", ".join(t(f"criterion.{c}", lang) for c in r.consensus.flagged),
        }
        values = r.consensus.values()
        for c in CRITERIA:
            line[t(f"criterion.{c}", lang)] = _score(values[c], lang)
        line[t("ui.cm.col.p_consensus", lang)] = _success(r.p_consensus, r, lang)
        line[t("ui.cm.col.p_rubric", lang)] = _success(r.p_rubric, r, lang)
        line[t("ui.cm.col.rules", lang)] = rules_text(r, lang)
        line[t("ui.cm.col.decision", lang)] = decision_text(r, lang)
        line[t("ui.cm.col.reasons", lang)] = (r.decision.reasons or "") if r.decision else ""
        line[t("ui.cm.col.by", lang)] = r.decision.created_by if r.decision else ""
        out.append(line)
    return pd.DataFrame(out)


def xlsx(rows: list[DossierConsensus], lang: str) -> bytes:
    return io.xlsx_bytes(frame(rows, lang))


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.25em .5em;text-align:left}
.discuss{color:#c0392b;font-weight:600}.meta{color:#57606a;font-size:.9em}
@media print{body{margin:0}h2{break-after:avoid}section{break-inside:avoid}}
"""


def html_page(
    rows: list[DossierConsensus],
    lang: str,
    *,
    method: str,
    normalised: bool,
    chair: str,
    audit_hash: str,
    when: dt.datetime,
) -> bytes:
    """The printable minutes: settings, then per dossier its panel, consensus, model, rules and decision."""
    e = html.escape
    w = lambda key, **fmt: e(t(key, lang, **fmt))  # noqa: E731 - one translation helper
    crit = [t(f"criterion.{c}", lang) for c in CRITERIA]
    meta = w("ui.cm.minutes_meta", date=formatting.date(when.date(), lang), chair=chair)
    used = w(
        "ui.cm.minutes_settings",
        method=t(f"ui.cm.method.{method}", lang),
        normalised=t("value.yes" if normalised else "value.no", lang),
    )
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{w('ui.cm.minutes_title')}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{w('ui.cm.minutes_title')}</h1>",
        f'<p class="meta">{meta}<br>{used}<br>{w("ui.cm.minutes_audit", hash=audit_hash)}</p>',
    ]
    for r in rows:
        values = r.consensus.values()
        parts.append(f"<section><h2>{e(r.dossier_id)} · {e(r.title)}</h2>")
        if r.discuss:
            flagged = ", ".join(t(f"criterion.{c}", lang) for c in r.consensus.flagged)
            parts.append(f'<p class="discuss">{w("ui.cm.discuss", criteria=flagged)}</p>')
        head = "".join(f"<th>{e(c)}</th>" for c in crit)
        parts.append(f"<table><tr><th>{w('ui.cm.col.expert')}</th>{head}</tr>")
        for expert, a in sorted(r.assessments.items()):
            cells = []
            for c in CRITERIA:
                raw, norm = a.scores.get(c), r.normalised(expert, c)
                shown = _score(raw, lang) + ("" if norm is None else f" ({_score(round(norm, 1), lang)})")
                cells.append(f"<td>{e(shown)}</td>")
            parts.append(f"<tr><td>{e(expert)}</td>{''.join(cells)}</tr>")
        cons = "".join(
            f"<td><b>{e(_score(None if values[c] is None else round(values[c], 2), lang))}</b></td>" for c in CRITERIA
        )
        parts.append(f"<tr><td><b>{w('ui.cm.consensus_row')}</b></td>{cons}</tr></table>")
        parts.append(f"<p>{e(model_line(r, lang))}<br>")
        parts.append(f"{w('ui.cm.rules_line', rules=rules_text(r, lang))}<br>")
        by = r.decision.created_by if r.decision else ""
        parts.append(f"{w('ui.cm.decision_line', decision=decision_text(r, lang), by=by)}</p>")
        if r.decision and r.decision.reasons:
            parts.append(f"<p>{e(r.decision.reasons)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")
