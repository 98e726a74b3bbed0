"""Plain-text rendering of an explanation, for the terminal (`cep-scoring score`).

Works only on the plain data `scoring.explain` returns; every word comes from
the translation table, every number from `scoring.formatting`.
"""

from __future__ import annotations

from typing import Any

from scoring import display, formatting
from scoring.explain import input_label
from scoring.i18n import DEFAULT_LANG, t


def _table(header: list[str], rows: list[list[str]], right: tuple[int, ...]) -> list[str]:
    """Columns padded to their widest cell; the columns in `right` (numbers) right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in [header, *rows]
    ]


def render(result: dict[str, Any], lang: str = DEFAULT_LANG, card: dict[str, Any] | None = None) -> str:
    """The explanation as text; `card`, the model's card, adds its training-data notice.

    What leads: the targeted window's refusal when there is one, then the answers to check with the applicant.
    """
    p = result["probabilities"]

    def pct(v: float) -> str:
        return formatting.percent(v, lang)

    lines = []
    if result["eligibility"]["text"]:
        lines += [f"== {t('text.eligibility', lang)}", f"  {result['eligibility']['text']}"]
    if result["warnings"]:
        lines.append(f"== {t('text.warnings', lang)}")
        lines += [f"  - {w['text']}" for w in result["warnings"]]
    lines.append(f"== {t('text.criteria', lang)}")
    for c in result["criteria"]:
        score = t("value.no_score", lang) if c["score"] is None else formatting.score(c["score"], lang)
        lines.append("  " + t("text.criterion_line", lang, label=c["label"], score=score, source=c["source_label"]))
        for e in c["evidence"][:3]:
            lines.append(
                f"     {formatting.number(e['effect'], lang, 2, sign=True)}  {e['question_label']} "
                f"— {e['answer_label']}"
            )
    rate_w = p["base_rate"]["window"]["value"]
    lines += [f"== {t('text.probabilities', lang)}"]
    for target in ("labeled", "success"):
        if target == "success" and not p["estimate"]:
            lines.append(
                "  " + t("text.probability", lang, label=t(f"text.{target}", lang), p=t("text.not_estimated", lang))
            )
            continue
        lines.append(
            "  "
            + t(
                "text.probability_line",
                lang,
                label=t(f"text.{target}", lang),
                p=p["interval"]["shown"][target],
                band=p["interval"]["text"][target],
            )
        )
    if p["estimate"]:
        lines.append("  " + t("text.probability", lang, label=t("text.funded", lang), p=pct(p["funded"])))
    lines += [
        f"  {p['summary']}",
        "  "
        + t(
            "text.window_rate",
            lang,
            window=p["base_rate"]["window"]["text"],
            rate=pct(rate_w) if rate_w else t("text.no_published", lang),
        ),
    ]
    if p["missing_inputs"]:
        lines.append(
            "  "
            + t(
                "text.missing_inputs",
                lang,
                inputs="; ".join(display.missing_label(m, lang) for m in p["missing_inputs"]),
            )
        )
    focus = "success" if p["estimate"] else "labeled"  # a window that cannot take the dossier: its label only
    contrib = result["contributions"][focus]
    lines += [
        f"== {t('text.contributions', lang, target=t(f'target.{focus}', lang))}",
        f"  {result['starting_point']['text']}",
        "  " + t("text.start", lang, v=pct(contrib["base"])),
    ]
    for name, v in sorted(contrib["values"].items(), key=lambda kv: -abs(kv[1])):
        typical = contrib["typical"][name]
        lines.append(
            f"  {formatting.points(v, lang):>6}  {input_label(name, lang)} ("
            + t(
                "text.typical",
                lang,
                v=t("value.no_score", lang) if typical is None else formatting.score(round(typical, 1), lang),
            )
            + ")"
        )
    lines.append("  " + t("text.this_dossier", lang, v=pct(p[focus])))
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
    lines.append(f"  {result['labelling']['text']}")
    lines.append(f"== {t('text.windows', lang)}")
    lines += _table(
        # whether the window can take the dossier is said before any number, as in the HTML report and the app
        [
            t("ui.col.window", lang),
            t("ui.col.eligibility", lang),
            t("ui.prob.labeled", lang),
            t("ui.prob.success", lang),
            t("text.interval", lang),
        ],
        [
            [
                w["label"],
                t("ui.windows.eligible", lang) if w["eligible"] else w["rule_text"],
                w["interval"]["shown"]["labeled"],
                w["interval"]["shown"]["success"],
                w["interval"]["text"]["success"],
            ]
            for w in result["windows"]
        ],
        right=(2, 3),
    )
    m = result["model"]
    lines.append(f"== {t('text.model_line', lang, name=m['name'], sha=m['sha256'][:12])}")
    if card is not None:
        lines.append(f"  {display.notice(card, lang)}")
    return "\n".join(lines)
