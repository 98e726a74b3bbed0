"""Plain-text rendering of an explanation, for the terminal (`cep-scoring score`).

Works only on the plain data `scoring.explain` returns; every word comes from
the translation table.
"""

from __future__ import annotations

from typing import Any

from scoring.explain import input_label
from scoring.i18n import t


def _pct(p: float) -> str:
    return f"{100 * p:.0f} %"


def render(result: dict[str, Any], lang: str = "fr") -> str:
    p = result["probabilities"]
    lines = [f"== {t('text.criteria', lang)}"]
    for c in result["criteria"]:
        score = "-" if c["score"] is None else f"{c['score']:g}/5"
        lines.append(f"  {c['label']}: {score} ({c['source_label']})")
        for e in c["evidence"][:3]:
            lines.append(f"     {e['effect']:+.2f}  {e['question_label']} {e['answer_label']}")
    lo_l, hi_l = p["band"]["labeled"]
    lo_s, hi_s = p["band"]["success"]
    rate_w = p["base_rate"]["window"]["value"]
    lines += [
        f"== {t('text.probabilities', lang)}",
        f"  {t('text.labeled', lang)}: {_pct(p['labeled'])} "
        f"({t('text.band', lang, lo=f'{100 * lo_l:.0f}', hi=f'{100 * hi_l:.0f}')})",
        f"  {t('text.success', lang)}: {_pct(p['success'])} "
        f"({t('text.band', lang, lo=f'{100 * lo_s:.0f}', hi=f'{100 * hi_s:.0f}')})",
        f"  {t('text.funded', lang)}: {_pct(p['funded'])}",
        f"  {p['summary']}",
        f"  {t('text.window_rate', lang, window=p['base_rate']['window']['text'], rate=_pct(rate_w) if rate_w else t('text.no_published', lang))}",
    ]
    if p["missing_inputs"]:
        lines.append(f"  {t('text.missing_inputs', lang)}: {', '.join(p['missing_inputs'])}")
    succ = result["contributions"]["success"]
    lines.append(f"== {t('text.contributions', lang)}")
    lines.append(f"  {t('text.base', lang)}: {100 * succ['base']:.1f}")
    for group in ("criteria", "context"):
        lines.append(f"  {t(f'text.group_{group}', lang)}: {100 * succ['groups'][group]:+.1f}")
    for name, v in sorted(succ["values"].items(), key=lambda kv: -abs(kv[1])):
        lines.append(f"  {100 * v:+6.1f}  {input_label(name, lang)}")
    lines.append(f"== {t('text.reasons', lang)}")
    for r in result["reasons"]:
        tag = {"for": t("text.for", lang), "against": t("text.against", lang)}.get(r["kind"], "->")
        lines.append(f"  [{tag}] {r['text']}")
    lines.append(f"== {t('text.actions', lang)}")
    if not result["actions"]:
        lines.append(f"  {t('text.no_actions', lang)}")
    for a in result["actions"]:
        flag = f"  ({t('text.labelling_set', lang)})" if a["in_labelling_set"] else ""
        lines.append(f"  {a['text']}{flag}")
    lines.append(f"== {t('text.windows', lang)}")
    for w in result["windows"]:
        status = "" if w["eligible"] else f"  [{t('text.ineligible', lang)}: {w['rule_text']}]"
        lines.append(f"  {w['label']:<36} {_pct(w['labeled']):>6} {_pct(w['success']):>6}{status}")
    m = result["model"]
    lines.append(f"== {t('text.model', lang)}: {m['name']} ({m['sha256'][:12]}) — {m['training_data']}")
    return "\n".join(lines)
