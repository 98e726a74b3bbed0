"""Eligibility: can this dossier go to this window? The one function every path asks.

Owns the rules a dossier must meet to be examined by a window, as the
catalogue (`scoring.reference`, `data/windows.csv`, `data/window_rules.csv`)
states them: the window open that year, the carrier type, collaboration, the
partner a company needs (ANR funds companies only beside a public research
partner, PRCE-style), the TRL and aid ranges, and, when experts have scored
the dossier, the window's knock-out thresholds (Horizon Europe: 3/5 per
criterion, 10/15 overall). Knock-outs read expert scores only: the rubric's
score is the lead's self-assessment, not an evaluator's mark, so a missing
expert score fails nothing, and the total is checked once every criterion
the window names has one.

Two views of the same rules: `broken` for frames (a batch chunk, the window
matrix: every row x window x rule, vectorised), and `verdict` for one
dossier (codes of every rule broken, in order, with one sentence each in the
reader's language, naming the rule's source or saying it is our assumption).
The self-assessment, the window chart, triage, batch and the command line
all go through `broken`; `verdict` is `broken` on a one-row frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from scoring import formatting
from scoring.catalogue import CRITERIA, SCORE_COLUMNS, codes
from scoring.fields import code_index
from scoring.i18n import DEFAULT_LANG, code_label, t
from scoring.reference import PARTNER_KINDS, Window, catalogue, window_rules

#: Catalogue rules, in the order they are reported.
RULES = ("closed", "carrier", "collaboration", *(f"partner_{k}" for k in PARTNER_KINDS), "trl", "aid")
#: Knock-out thresholds (per criterion, then the total), reported after the catalogue rules.
KNOCKOUTS = (*(f"knockout.{c}" for c in CRITERIA), "knockout.total")
CODES = RULES + KNOCKOUTS
_SOURCE_OF = {
    "closed": "open",
    "carrier": "carrier",
    "collaboration": "collaboration",
    "trl": "trl",
    "aid": "aid",
    **{f"partner_{k}": "partner" for k in PARTNER_KINDS},
    **{k: "knockouts" for k in KNOCKOUTS},
}
ASSUMPTION = "assumption:"  # how data/windows.csv marks a rule that is ours, not published


def expert_scores(frame: pd.DataFrame) -> np.ndarray:
    """(n, 5) expert scores of a validated frame, NaN where an expert gave none (or the column is absent)."""
    n = len(frame)
    return (
        np.column_stack(
            [
                frame[c].to_numpy(dtype=float, na_value=np.nan) if c in frame.columns else np.full(n, np.nan)
                for c in SCORE_COLUMNS
            ]
        )
        if n
        else np.zeros((0, len(CRITERIA)))
    )


def broken(frame: pd.DataFrame, windows: Iterable[str] | None = None, scores: np.ndarray | None = None) -> np.ndarray:
    """(n, len(windows), len(CODES)) bool: which rule of which window each row breaks.

    `frame` holds validated columns year, carrier_type, collaborative, partner_*,
    trl, aid_requested_eur; `windows` defaults to every window code. `scores`
    are the (n, 5) expert scores (NaN: none), by default the frame's own
    score_* columns. A missing context value breaks the rule it is needed for
    (a window cannot take what the dossier does not say).
    """
    windows = tuple(codes()["funding_window"] if windows is None else windows)
    scores = expert_scores(frame) if scores is None else np.asarray(scores, float).reshape(len(frame), len(CRITERIA))
    year = frame["year"].to_numpy(dtype=float)
    carrier = code_index(frame["carrier_type"], "carrier_type")  # -1 when missing: no window takes it
    collab = frame["collaborative"].to_numpy(dtype=float)
    partner = {k: as_floats(frame, f"partner_{k}") for k in PARTNER_KINDS}
    trl = frame["trl"].to_numpy(dtype=float)
    aid = frame["aid_requested_eur"].to_numpy(dtype=float)
    out = np.zeros((len(frame), len(windows), len(CODES)), bool)
    for k, window in enumerate(windows):
        w = catalogue()[window]
        takes = np.array([c in w.eligible_carriers for c in codes()["carrier_type"]] + [False])
        rule = dict(
            closed=~((year >= w.open_from) & ((year <= w.open_until) if w.open_until is not None else True)),
            carrier=~takes[carrier],
            collaboration=np.full(len(frame), w.collaboration_required) & (collab != 1),
            trl=~((trl >= w.trl_min) & (trl <= w.trl_max)),
            aid=~((aid >= w.aid_min_eur) & (aid <= w.aid_max_eur)),
        )
        if w.partner_required:
            needs = np.array([c in w.partner_required_for for c in codes()["carrier_type"]] + [False])[carrier]
            rule[f"partner_{w.partner_required}"] = needs & ~((collab == 1) & (partner[w.partner_required] == 1))
        rule.update(_knockouts(scores, window))
        for code, mask in rule.items():
            out[:, k, CODES.index(code)] = mask
    return out


def as_floats(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A validated number or yes/no column (1.0 / 0.0) as floats, NaN where missing or when the frame lacks it."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _knockouts(scores: np.ndarray, window: str) -> dict[str, np.ndarray]:
    """{knock-out code: rows whose expert scores fail it}; a criterion without an expert score fails nothing."""
    rules = window_rules().get(window, {})
    out = {}
    for c, (threshold, _weight) in rules.items():
        if threshold is not None:
            out[f"knockout.{c}"] = scores[:, CRITERIA.index(c)] < threshold  # NaN compares False
    total_min = catalogue()[window].knockout_total
    if total_min is not None and rules:
        named = scores[:, [CRITERIA.index(c) for c in rules]]
        out["knockout.total"] = ~np.isnan(named).any(axis=1) & (np.nansum(named, axis=1) < total_min)
    return out


def eligible(frame: pd.DataFrame, windows: Iterable[str] | None = None, scores: np.ndarray | None = None) -> np.ndarray:
    """(n, len(windows)) bool: the row breaks no rule of the window."""
    return np.asarray(~broken(frame, windows, scores).any(axis=2))  # an array to numpy's stubs too, not a scalar


def first_rule(
    frame: pd.DataFrame, windows: Iterable[str] | None = None, scores: np.ndarray | None = None
) -> np.ndarray:
    """(n, len(windows)) code of the first rule broken, '' when eligible."""
    b = broken(frame, windows, scores)
    return np.where(b.any(axis=2), np.array(CODES, dtype=object)[b.argmax(axis=2)], "").astype(object)


def reasons(b: np.ndarray, names: tuple[str, ...] = CODES) -> np.ndarray:
    """Codes of the rules broken, ';'-joined in order, per row (and window) of a `broken` array; '' when eligible.

    `names` labels the last axis (another table of flags, e.g. `scoring.consistency`'s, joins the same way).
    Rows breaking the same rules share one string: a portfolio has a handful of patterns.
    """
    if len(names) > 64:
        raise ValueError(f"{len(names)} codes do not fit in one 64-bit pattern; join them in groups")
    bits = np.left_shift(np.uint64(1), np.arange(len(names), dtype=np.uint64))
    key = (
        np.bitwise_or.reduce(np.where(b, bits, np.uint64(0)), axis=-1)
        if len(names)
        else np.zeros(b.shape[:-1], np.uint64)
    )
    patterns, index = np.unique(key.ravel(), return_inverse=True)  # one number per row: a 1-D unique is fast
    words = np.array([";".join(n for k, n in enumerate(names) if int(p) >> k & 1) for p in patterns], dtype=object)
    return words[index].reshape(b.shape[:-1])


# --------------------------------------------------------------------------- one dossier


@dataclass(frozen=True)
class Verdict:
    """Whether one dossier may go to one window, and why not."""

    window: str
    eligible: bool
    codes: tuple[str, ...]  # rules broken, in the order of CODES
    sentences: tuple[str, ...]  # one per code, in the reader's language, with the rule's source

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "eligible": self.eligible,
            "codes": list(self.codes),
            "sentences": list(self.sentences),
        }


def verdicts(
    row: dict[str, Any], windows: Iterable[str] | None = None, scores: Any = None, lang: str = DEFAULT_LANG
) -> list[Verdict]:
    """The verdict of one validated flat row under each window (every window by default).

    `scores`: expert scores as {criterion: score} or a (5,) array (NaN: none); by
    default the row's own score_* fields.
    """
    windows = tuple(codes()["funding_window"] if windows is None else windows)
    frame = pd.DataFrame([row])
    if isinstance(scores, dict):
        scores = [scores.get(c, np.nan) for c in CRITERIA]
    given = None if scores is None else np.array([[np.nan if s is None else s for s in scores]], float)
    b = broken(frame, windows, given)[0]
    expert = expert_scores(frame)[0] if given is None else given[0]
    return [_verdict(window, b[k], row, expert, lang) for k, window in enumerate(windows)]


def verdict(row: dict[str, Any], window: str, scores: Any = None, lang: str = DEFAULT_LANG) -> Verdict:
    """The verdict of one validated flat row under `window` (see `verdicts`)."""
    return verdicts(row, (window,), scores, lang)[0]


def target_verdicts(frame: pd.DataFrame, rows: list[dict[str, Any]], lang: str = DEFAULT_LANG) -> list[Verdict]:
    """Each row's verdict under its own targeted window, its expert scores its score_* fields.

    One pass over the frame (`rows` are its records): a queue of twenty dossiers is
    one table of rules, not twenty.
    """
    windows = codes()["funding_window"]
    b = broken(frame, windows)
    expert = expert_scores(frame)
    return [
        _verdict(row["funding_window"], b[i, windows.index(row["funding_window"])], row, expert[i], lang)
        for i, row in enumerate(rows)
    ]


def _verdict(window: str, hits: np.ndarray, row: dict[str, Any], expert: np.ndarray, lang: str) -> Verdict:
    found = tuple(code for code, hit in zip(CODES, hits) if hit)
    return Verdict(
        window, not found, found, tuple(_sentence(code, catalogue()[window], row, expert, lang) for code in found)
    )


def _sentence(code: str, w: Window, row: dict[str, Any], expert: np.ndarray, lang: str) -> str:
    """One broken rule in words, with its values and its source."""
    params: dict[str, Any] = {"window": code_label("funding_window", w.code, lang)}
    source = source_text(w.sources.get(_SOURCE_OF[code], ""), lang)
    key = code
    if code == "closed":
        params.update(year=_int(row.get("year")), since=w.open_from, until=w.open_until)
        key = "closed_after" if w.open_until is not None and _num(row.get("year")) > w.open_until else "closed_before"
    elif code == "carrier":
        params.update(carriers=", ".join(code_label("carrier_type", c, lang) for c in w.eligible_carriers))
    elif code == "trl":
        params.update(trl=_int(row.get("trl")), lo=w.trl_min, hi=w.trl_max)
    elif code == "aid":
        params.update(
            aid=formatting.euros(_num(row.get("aid_requested_eur")), lang),
            lo=formatting.euros(w.aid_min_eur, lang),
            hi=formatting.euros(w.aid_max_eur, lang),
        )
    elif code == "knockout.total":
        named = [CRITERIA.index(c) for c in window_rules()[w.code]]
        params.update(
            score=_half(float(np.sum(expert[named])), lang),
            threshold=_half(_threshold(w.knockout_total, code, w), lang),
        )
    elif code.startswith("knockout."):
        c = code.split(".", 1)[1]
        key = "knockout"
        params.update(
            criterion=t(f"criterion.{c}", lang),
            score=formatting.score(float(expert[CRITERIA.index(c)]), lang),
            threshold=formatting.score(_threshold(window_rules()[w.code][c][0], code, w), lang),
        )
    return f"{t(f'eligibility.{key}', lang, **params).rstrip('.')} {source}."


def _threshold(value: float | None, code: str, w: Window) -> float:
    """A broken knock-out's threshold: `_knockouts` only tests the rules that have one."""
    if value is None:
        raise RuntimeError(f"{w.code}: {code} is reported broken but the window sets no threshold for it")
    return value


def source_text(source: str, lang: str) -> str:
    """'(source: …)' for a published rule, '(our assumption, after …)' for one of ours, '' when none is given."""
    if not source:
        return t("eligibility.no_source", lang)
    if source.startswith(ASSUMPTION):
        return t("eligibility.assumption", lang, source=source[len(ASSUMPTION) :].strip())
    return t("eligibility.source", lang, source=source)


def _half(x: float, lang: str) -> str:
    """A score total on the half-point scale: 8, 10.5 (as the reader writes it)."""
    return formatting.number(x, lang, 0 if float(x).is_integer() else 1)


def _num(v: Any) -> float:
    return float("nan") if v is None or pd.isna(v) else float(v)


def _int(v: Any) -> str:
    return "-" if v is None or pd.isna(v) else f"{int(v)}"
