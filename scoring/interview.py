"""The preliminary-interview brief: what the expert asks the applicant before the committee, and why.

Since 2024 every dossier meets an expert in a preliminary interview before the CEP (seed 002); the expert
can orient the project or advise re-planning it to a later call. The brief prepares that hour from the
dossier's own explanation (`scoring.explain.explain_frame`):

- the dossier in five lines, the eligibility verdict and the best eligible windows;
- 5 to 8 questions, picked in this order: the contradictions between answers (`scoring.consistency`),
  the doubtful "not applicable" answers (an "na" leaves the criterion's mean, so a doubtful one flatters
  the score; CERTAIN_NA_RULES says which are not doubtful), the unanswered questions, then the weakest
  answers by what one feasible step up would add to the probability the model explains (their weight in
  the model, not in the rubric); each with the expert's question (`ask` in data/rubric.toml) and what a
  strong answer looks like (the next feasible answer level, `scoring.rubric.feasible_moves`'s rule);
- the readiness verdict: submit now, strengthen then submit (the stage-aware steps that cross the
  labelling line), or re-plan to a named window, with the probabilities behind it.

The applicant's mirror has the same content under the applicant's headings: what the expert will ask and
what to bring. Everything here is plain data and text; `render_text` and `render_html` lay it out.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from scoring import formatting
from scoring.catalogue import NOT_APPLICABLE
from scoring.catalogue import questions as catalogue_questions
from scoring.explain import LABELLING_LINE, MIN_GAIN, PROMISING, amount, explain_frame, validated
from scoring.i18n import DEFAULT_LANG, code_label, t
from scoring.rubric import Question, ScoreTable, all_questions, feasible_moves, question, row_scores

MIN_QUESTIONS, MAX_QUESTIONS = 5, 8
# Each kind gets at most this many places, so that contradictions or blanks never crowd out the answers
# that weigh most in the model (5 places are always left to the other kinds together).
KIND_CAP = {"warning": 3, "not_applicable": 2, "missing": 3, "weak": MAX_QUESTIONS}
KINDS = tuple(KIND_CAP)
AUDIENCES = ("expert", "applicant")
# "na" is accepted only in its rule's context (data/rubric.toml), but most contexts only make it possible: a
# technology axis or a public carrier does not prove that a project has no data or nothing to patent, so
# such an "na" is asked about. A single-partner project has no governance between partners, a fact.
CERTAIN_NA_RULES = frozenset({"not_collaborative"})
N_STEPS = 3  # steps named when strengthening without a labelling set (already above the line, funding low)


def briefs(docs: list[dict[str, Any]], bundle, lang: str = "fr", audience: str = "expert") -> list[dict[str, Any]]:
    """The brief of each dossier JSON object; raises InvalidDossiers naming every bad row and field."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience={audience!r}; use one of {', '.join(AUDIENCES)}")
    frame = validated(docs, lang).frame.reset_index(drop=True)
    results = explain_frame(frame, bundle, lang)
    rows = [dict(zip(frame.columns, values)) for values in frame.to_numpy(dtype=object)]
    return [
        brief_of(row, frame.iloc[[i]].reset_index(drop=True), result, bundle, lang, audience)
        for i, (row, result) in enumerate(zip(rows, results))
    ]


def brief_of(
    row: dict[str, Any], one: pd.DataFrame, result: dict[str, Any], bundle, lang: str, audience: str
) -> dict[str, Any]:
    """The brief of one validated row (`one`, its one-row frame) from its explanation `result`."""
    focus = "success" if result["eligibility"]["eligible"] else "labeled"
    questions = pick_questions(row, result, _move_gains(bundle.model, one, row, focus), lang)
    return {
        "dossier_id": _text(row.get("dossier_id")),
        "audience": audience,
        "lang": lang,
        "title": t(f"interview.title.{audience}", lang, acronym=_text(row.get("acronym")) or "-"),
        "summary": summary_lines(row, lang),
        "eligibility": {
            "eligible": result["eligibility"]["eligible"],
            "text": _eligibility_text(result, lang),
            "best_windows": _best_windows(result),
        },
        "questions": questions,
        "readiness": readiness(row, result, lang, audience),
        "model": result["model"],
    }


# --------------------------------------------------------------------------- the dossier in five lines


def _text(v: Any) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _known(v: Any) -> bool:
    return v is not None and not (not isinstance(v, str) and pd.isna(v))


def summary_lines(row: dict[str, Any], lang: str) -> list[str]:
    """Filière and window; carrier and TRL; partners; budget and aid; title: five lines, unknowns said so."""
    unknown = t("interview.unknown", lang)

    def label(field: str) -> str:
        return code_label(field, row[field], lang) if _known(row.get(field)) else unknown

    def money(field: str) -> str:
        return formatting.euros(float(row[field]), lang) if _known(row.get(field)) else unknown

    kinds = [
        t(f"interview.partner.{k}", lang)
        for k in ("academic", "industrial", "clinical")
        if _known(row.get(f"partner_{k}")) and bool(row[f"partner_{k}"])
    ]
    if _known(row.get("collaborative")) and not bool(row["collaborative"]):
        partners = t("interview.partners.alone", lang)
    else:
        n = int(row["n_partners"]) if _known(row.get("n_partners")) else None
        partners = t(
            f"interview.partners.with.{formatting.plural(n if n is not None else 2, lang)}",
            lang,
            kinds=", ".join(kinds) or unknown,
            n=formatting.number(n, lang) if n is not None else unknown,
        )
    lines = [
        t(
            "interview.line.project",
            lang,
            acronym=_text(row.get("acronym")) or "-",
            title=_text(row.get("title")) or "-",
        ),
        t(
            "interview.line.where",
            lang,
            filiere=label("filiere"),
            window=label("funding_window"),
            year=str(int(row["year"])) if _known(row.get("year")) else unknown,
        ),
        t(
            "interview.line.stage",
            lang,
            carrier=label("carrier_type"),
            trl=formatting.number(int(row["trl"]), lang) if _known(row.get("trl")) else unknown,
        ),
        partners,
        t(
            "interview.line.money",
            lang,
            budget=money("budget_eur"),
            aid=money("aid_requested_eur"),
            months=formatting.number(int(row["duration_months"]), lang)
            if _known(row.get("duration_months"))
            else unknown,
        ),
    ]
    return [formatting.typeset(s, lang) for s in lines]


def _eligibility_text(result: dict[str, Any], lang: str) -> str:
    e = result["eligibility"]
    return (
        e["text"]
        if not e["eligible"]
        else t("interview.eligible", lang, window=code_label("funding_window", e["window"], lang))
    )


def _best_windows(result: dict[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """The eligible windows best first (the explanation ranks them), with their probabilities and intervals."""
    return [
        {key: w[key] for key in ("window", "label", "labeled", "success", "interval")}
        for w in result["windows"]
        if w["eligible"]
    ][:n]


# --------------------------------------------------------------------------- the questions


def _move_gains(model, one: pd.DataFrame, row: dict[str, Any], focus: str) -> dict[str, tuple[str, float]]:
    """{question id: (next feasible answer, what that one step adds to P(focus))}, for every feasible move.

    The gain is the model's, recomputed with the step applied (as `scoring.explain.actions` does), so a
    question weighs by what it moves in the model, not by its rubric weight alone."""
    moves = feasible_moves(row)
    if not moves:
        return {}
    base_scores = row_scores(row)
    rescored = [base_scores] + [row_scores({**row, q.id: b}) for q, _, b in moves]
    scores = np.array([r[0] for r in rescored])
    sources = np.array([r[1] for r in rescored], dtype=object)
    pred = model.what_if(model.matrices(one).label, ScoreTable(scores, scores, sources))
    values = pred.success if focus == "success" else pred.labeled
    return {q.id: (b, float(values[k + 1] - values[0])) for k, (q, _, b) in enumerate(moves)}


def _strongest_feasible(q: Question, row: dict[str, Any]) -> str | None:
    """The best answer the project can give at its stage (requirements met): what a strong answer is for an
    unanswered or "na" question."""
    return next((a for a in reversed(q.answers) if a != NOT_APPLICABLE and not q.unmet(a, row)), None)


def _item(
    kind: str,
    q: Question | None,
    row: dict[str, Any],
    lang: str,
    why: str,
    strong: str | None,
    gain: float | None = None,
    ask: str | None = None,
) -> dict[str, Any]:
    given = row.get(q.id) if q else None
    given = given if isinstance(given, str) else None
    label = t(f"rubric.{q.id}.{strong}", lang) if q and strong else ""
    # an unanswered or "na" question is shown the best answer at its stage; the others the next step up
    which = "interview.strong" if kind in ("missing", "not_applicable") else "interview.next_step"
    return {
        "kind": kind,
        "question": q.id if q else None,
        "criterion": q.criterion if q else None,
        "criterion_label": t(f"criterion.{q.criterion}", lang) if q else "",
        "label": t(f"rubric.{q.id}", lang) if q else "",
        "ask": t(f"ask.{q.id}", lang) if q else ask,  # `ask`: the words when no rubric question is asked
        "answer": given,
        "answer_label": t(f"rubric.{q.id}.{given}", lang) if q and given and given != NOT_APPLICABLE else "",
        "strong": strong,
        "strong_label": label,
        "strong_text": t(which, lang, answer=label) if label else "",
        "gain": gain,
        "why": why,
    }


def pick_questions(
    row: dict[str, Any], result: dict[str, Any], gains: dict[str, tuple[str, float]], lang: str
) -> list[dict[str, Any]]:
    """5 to 8 questions, one per rubric question at most (see the module's docstring for the order)."""
    focus = "success" if result["eligibility"]["eligible"] else "labeled"
    candidates: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for w in result["warnings"]:
        qids = [f.split(".", 1)[1] for f in w["fields"] if f.startswith("answers.")]
        q = question(qids[0]) if qids else None
        move = gains.get(q.id) if q else None
        # a contradiction on context alone (partners) has no rubric question: its sentence is the question
        candidates["warning"].append(
            _item("warning", q, row, lang, w["text"], move[0] if move else None, ask=w["text"])
        )
    by_weight = sorted(all_questions(), key=lambda q: -q.weight)  # stable: rubric order among equal weights
    na_rule = {q["id"]: q.get("na_only_when") for q in catalogue_questions()}
    for q in by_weight:
        a = row.get(q.id)
        if a == NOT_APPLICABLE and na_rule.get(q.id) not in CERTAIN_NA_RULES:
            candidates["not_applicable"].append(
                _item("not_applicable", q, row, lang, t("interview.why.na", lang), _strongest_feasible(q, row))
            )
        elif not isinstance(a, str):
            candidates["missing"].append(
                _item("missing", q, row, lang, t("interview.why.missing", lang), _strongest_feasible(q, row))
            )
    weak = sorted((qid for qid, (_, g) in gains.items() if g >= MIN_GAIN), key=lambda qid: -gains[qid][1])
    for qid in weak:
        b, g = gains[qid]
        candidates["weak"].append(
            _item("weak", question(qid), row, lang, t("interview.why.weak", lang, gain=amount(g, focus, lang)), b, g)
        )
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()

    def take(item: dict[str, Any]) -> None:
        key = item["question"] or item["why"]
        if key not in seen and len(chosen) < MAX_QUESTIONS:
            seen.add(key)
            chosen.append(item)

    for kind in KINDS:
        for item in candidates[kind][: KIND_CAP[kind]]:
            take(item)
    if len(chosen) < MIN_QUESTIONS:  # a strong, complete dossier: confirm the answers that weigh most
        for q in by_weight:
            if len(chosen) >= MIN_QUESTIONS:
                break
            if isinstance(row.get(q.id), str) and row[q.id] != NOT_APPLICABLE:
                take(_item("confirm", q, row, lang, t("interview.why.confirm", lang), gains.get(q.id, (None,))[0]))
    return chosen


# --------------------------------------------------------------------------- the readiness verdict


def readiness(row: dict[str, Any], result: dict[str, Any], lang: str, audience: str) -> dict[str, Any]:
    """Submit now, strengthen then submit, or re-plan to a named window, with the probabilities behind it.

    Submit: the targeted window can take the dossier, P(labelled) is over the labelling line and
    P(success) over PROMISING (the explanation's re-plan threshold). Strengthen: the window can take it and
    feasible steps before the next call reach that (the labelling set; above the line, the best steps for
    funding). Re-plan otherwise: to the best eligible window when it is another one and promising, else to a
    later call of the best window after deeper work."""
    p = result["probabilities"]
    e = result["eligibility"]
    lab = result["labelling"]
    target = code_label("funding_window", e["window"], lang)
    best = _best_windows(result, 1)
    numbers = {"labeled": p["labeled"], "success": p["success"], "line": LABELLING_LINE, "promising": PROMISING}
    words = {
        "window": target,
        "labeled": formatting.percent(p["labeled"], lang),
        "success": formatting.percent(p["success"], lang),
        "interval": p["interval"]["text"]["success"],
        "line": formatting.percent(LABELLING_LINE, lang),
        "promising": formatting.percent(PROMISING, lang),
    }
    steps: list[dict[str, Any]] = []
    window = e["window"]
    if e["eligible"] and p["labeled"] >= LABELLING_LINE and p["success"] >= PROMISING:
        kind = "submit"
    elif e["eligible"] and (lab["steps"] or (p["labeled"] >= LABELLING_LINE and result["actions"])):
        kind = "strengthen"
        picked = (
            [a for a in result["actions"] if a["in_labelling_set"]] if lab["steps"] else result["actions"][:N_STEPS]
        )
        steps = [{"field": a["field"], "from": a["from"], "to": a["to"], "text": a["text"]} for a in picked]
        if lab["labeled_after"] is not None:
            numbers["labeled_after"] = lab["labeled_after"]
        words["after"] = lab["text"] if lab["steps"] else ""
    else:
        kind = "replan"
        if best and best[0]["success"] >= PROMISING and best[0]["window"] != e["window"]:
            window = best[0]["window"]
            words.update(
                to=best[0]["label"],
                to_success=formatting.percent(best[0]["success"], lang),
                to_interval=best[0]["interval"]["text"]["success"],
            )
            kind_key = "replan.window"
        else:
            # the numbers quoted are the named window's: the targeted one's are no estimate when it is closed
            to = (
                best[0]
                if best
                else {"label": target, "labeled": p["labeled"], "success": p["success"], "interval": p["interval"]}
            )
            words.update(
                to=to["label"],
                call=str(int(row["year"]) + 1) if _known(row.get("year")) else "-",
                labeled=formatting.percent(to["labeled"], lang),
                success=formatting.percent(to["success"], lang),
                interval=to["interval"]["text"]["success"],
            )
            window = best[0]["window"] if best else e["window"]
            kind_key = "replan.later"
        words["reasons"] = " ".join(e["reasons"]) if not e["eligible"] else lab["text"]
    key = kind_key if kind == "replan" else kind
    text = t(f"interview.verdict.{key}.{audience}", lang, **words)
    return {
        "verdict": kind,
        "window": window,
        "probabilities": numbers,
        "steps": steps,
        "text": formatting.typeset(text, lang),
    }


# --------------------------------------------------------------------------- layouts


def render_text(b: dict[str, Any]) -> str:
    """The brief as plain text (terminal, e-mail)."""
    lang, aud = b["lang"], b["audience"]
    out = [b["title"], "=" * len(b["title"]), ""]
    out += [f"  {line}" for line in b["summary"]]
    out += ["", t("interview.h.eligibility", lang), "  " + b["eligibility"]["text"]]
    for w in b["eligibility"]["best_windows"]:
        out.append("  - " + _window_line(w, lang))
    out += ["", t(f"interview.h.questions.{aud}", lang)]
    for n, q in enumerate(b["questions"], 1):
        out.append(f"  {n}. {q['ask']}")
        out.append(f"     {_why_line(q, lang)}")
        if q["strong_text"]:
            out.append(f"     {q['strong_text']}")
    out += ["", t(f"interview.h.verdict.{aud}", lang), "  " + b["readiness"]["text"]]
    out += [f"  - {s['text']}" for s in b["readiness"]["steps"]]
    return "\n".join(out)


def _window_line(w: dict[str, Any], lang: str) -> str:
    return t(
        "interview.window",
        lang,
        window=w["label"],
        labeled=formatting.percent(w["labeled"], lang),
        success=formatting.percent(w["success"], lang),
        interval=w["interval"]["text"]["success"],
    )


def _why_line(q: dict[str, Any], lang: str) -> str:
    given = t("interview.given", lang, answer=q["answer_label"]) + " " if q["answer_label"] else ""
    return given + q["why"]


_CSS = """
body{font-family:Georgia,"Times New Roman",serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111;
line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.5rem}h2{font-size:1.1rem;margin-top:1.5rem;border-bottom:1px solid #999}
.summary{list-style:none;padding:0}.summary li{margin:.1rem 0}
ol li{margin-bottom:.6rem}.why,.strong{font-size:.92rem;color:#333;display:block}.strong{color:#0a5a2a}
.verdict{padding:.6rem .8rem;border-left:4px solid #333;background:#f4f4f4}
.verdict.submit{border-color:#0a5a2a}.verdict.strengthen{border-color:#a66b00}.verdict.replan{border-color:#8a1c1c}
.brief{page-break-after:always;break-after:page}.brief:last-child{page-break-after:auto;break-after:auto}
footer{font-size:.8rem;color:#555;margin-top:1.5rem}
@media print{body{margin:0;max-width:none}.verdict{background:none}}
"""


def render_html(items: list[dict[str, Any]]) -> str:
    """One printable, self-contained HTML page (no external file), one brief per printed page."""
    lang = items[0]["lang"] if items else DEFAULT_LANG
    esc = html.escape
    parts = []
    for b in items:
        aud = b["audience"]
        qs = "".join(
            f'<li><strong>{esc(q["ask"])}</strong><span class="why">{esc(_why_line(q, lang))}</span>'
            + (f'<span class="strong">{esc(q["strong_text"])}</span>' if q["strong_text"] else "")
            + "</li>"
            for q in b["questions"]
        )
        windows = "".join(f"<li>{esc(_window_line(w, lang))}</li>" for w in b["eligibility"]["best_windows"])
        steps = "".join(f"<li>{esc(s['text'])}</li>" for s in b["readiness"]["steps"])
        parts.append(
            f'<section class="brief"><h1>{esc(b["title"])}</h1>'
            f'<ul class="summary">{"".join(f"<li>{esc(s)}</li>" for s in b["summary"])}</ul>'
            f"<h2>{esc(t('interview.h.eligibility', lang))}</h2><p>{esc(b['eligibility']['text'])}</p>"
            + (f"<ul>{windows}</ul>" if windows else "")
            + f"<h2>{esc(t(f'interview.h.questions.{aud}', lang))}</h2><ol>{qs}</ol>"
            f"<h2>{esc(t(f'interview.h.verdict.{aud}', lang))}</h2>"
            f'<div class="verdict {b["readiness"]["verdict"]}"><p>{esc(b["readiness"]["text"])}</p>'
            + (f"<ul>{steps}</ul>" if steps else "")
            + "</div>"
            f"<footer>{esc(t('interview.footer', lang, model=b['model'].get('name', '')))}</footer></section>"
        )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{esc(t('interview.page_title', lang))}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
