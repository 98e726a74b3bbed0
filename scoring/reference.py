"""Reference tables: the funding-window catalogue, its rules, and the published figures.

Owns `data/windows.csv` (operator, eligible carriers, collaboration, the
partner a company needs, TRL and aid ranges, years open, published success
rate, and each rule's source, published or our assumption),
`data/window_rules.csv` (knock-out thresholds and ranking weights per
criterion, as European evaluations use), `data/figures.csv` (the published figures F1-F16 with
their tolerance and source), and the computation of those figures on any
row-level base (`reference_check`), synthetic or a real CEP export.
Applying the rules to dossiers is `scoring.eligibility`'s job.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from scoring import DATA_DIR
from scoring.catalogue import CRITERIA, codes

PARTNER_KINDS = ("academic", "industrial", "clinical")


@dataclass(frozen=True)
class Window:
    code: str
    operator: str
    eligible_carriers: tuple[str, ...]
    collaboration_required: bool
    partner_required: str | None  # the partner kind (academic, industrial, clinical) these carriers need
    partner_required_for: tuple[str, ...]
    trl_min: int
    trl_max: int
    aid_min_eur: float
    aid_max_eur: float
    open_from: int
    open_until: int | None
    knockout_total: float | None
    published_success_rate: float | None
    source: str  # of the published success rate
    sources: dict[str, str]  # per rule (open, carrier, collaboration, partner, trl, aid, knockouts): its source

    def is_open(self, year: int) -> bool:
        return self.open_from <= year and (self.open_until is None or year <= self.open_until)


def _opt(v: str, cast):
    return cast(v) if v.strip() else None


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Window]:
    """The funding windows, keyed by code; every window code has one entry."""
    out = {}
    with open(DATA_DIR / "windows.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            out[r["window"]] = Window(
                code=r["window"],
                operator=r["operator"],
                eligible_carriers=tuple(r["eligible_carriers"].split(";")),
                collaboration_required=r["collaboration_required"] == "true",
                partner_required=r["partner_required"] or None,
                partner_required_for=tuple(filter(None, r["partner_required_for"].split(";"))),
                trl_min=int(r["trl_min"]),
                trl_max=int(r["trl_max"]),
                aid_min_eur=float(r["aid_min_eur"]),
                aid_max_eur=float(r["aid_max_eur"]),
                open_from=int(r["open_from"]),
                open_until=_opt(r["open_until"], int),
                knockout_total=_opt(r["knockout_total"], float),
                published_success_rate=_opt(r["published_success_rate"], float),
                source=r["source"],
                sources={k[len("source_") :]: v for k, v in r.items() if k.startswith("source_")},
            )
            _check_window(out[r["window"]])
    missing = set(codes()["funding_window"]) - set(out)
    if missing:
        raise ValueError(f"data/windows.csv has no entry for window(s) {sorted(missing)}")
    return out


def _check_window(w: Window) -> None:
    """Refuse a catalogue row the eligibility rules could not read, naming the window and the fix."""
    carriers = set(codes()["carrier_type"])
    unknown = (set(w.eligible_carriers) | set(w.partner_required_for)) - carriers
    if unknown:
        raise ValueError(
            f"data/windows.csv, window {w.code}: unknown carrier type(s) {sorted(unknown)}; "
            f"use {', '.join(sorted(carriers))}"
        )
    if w.partner_required not in (None, *PARTNER_KINDS) or (bool(w.partner_required) != bool(w.partner_required_for)):
        raise ValueError(
            f"data/windows.csv, window {w.code}: partner_required must be academic, industrial or "
            f"clinical, together with the carriers it applies to in partner_required_for"
        )


@lru_cache(maxsize=1)
def window_rules() -> dict[str, dict[str, tuple[float | None, float]]]:
    """{window: {criterion: (knock-out threshold or None, ranking weight)}}."""
    out: dict[str, dict[str, tuple[float | None, float]]] = {}
    with open(DATA_DIR / "window_rules.csv", encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["criterion"] not in CRITERIA or r["window"] not in catalogue():
                raise ValueError(f"data/window_rules.csv: unknown window or criterion in {r}")
            out.setdefault(r["window"], {})[r["criterion"]] = (_opt(r["knockout"], float), float(r["weight"]))
    return out


# --------------------------------------------------------------------------- ranking


def ranking_score(scores: np.ndarray, window: str) -> np.ndarray:
    """Weighted mean of the criterion scores with the window's weights (1 each by default).

    Weights only rank dossiers inside a window's queue; they never change a probability.
    """
    rules = window_rules().get(window, {})
    w = np.array([rules.get(c, (None, 1.0))[1] for c in CRITERIA])
    filled = np.where(np.isnan(scores), 0.0, scores)
    present = (~np.isnan(scores)).astype(float)
    return (filled * w).sum(axis=1) / np.maximum((present * w).sum(axis=1), 1e-12)


# --------------------------------------------------------------------------- published base rates


@lru_cache(maxsize=1)
def figures() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "figures.csv", dtype=str, keep_default_na=False)


def published_rate_filiere(filiere: str) -> tuple[float, str]:
    """Published success rate of a filière (F1 for e-santé, F2 for the others) and its figure id."""
    f = figures().set_index("id")
    fid = "F1" if filiere == "e_sante" else "F2"
    return float(f.loc[fid, "value"]), fid


def published_rate_window(window: str) -> tuple[float | None, str]:
    """Published success rate of a window where the sources give one (None otherwise)."""
    w = catalogue()[window]
    return w.published_success_rate, w.source


# --------------------------------------------------------------------------- figures on a base


def _years(spec: str) -> tuple[int, int]:
    a, b = spec.split("-")
    return int(a), int(b)


def _with_operator(base: pd.DataFrame) -> pd.DataFrame:
    ops = {k: w.operator for k, w in catalogue().items()}
    return base.assign(operator=base["funding_window"].map(ops))


def _mask(base: pd.DataFrame, where: str) -> np.ndarray:
    m = np.ones(len(base), bool)
    for clause in filter(None, where.split("&")):
        field, values = clause.split("=")
        allowed = values.split("|")
        col = base[field]
        if field in ("collaborative", "labeled", "funded", "preliminary_interview"):
            col = col.astype(float).map({1.0: "true", 0.0: "false"})
        m &= col.isin(allowed).to_numpy()
    return m


@dataclass
class FigureCheck:
    id: str
    figure: str
    published: str
    measured: str
    ok: bool | None  # None: not computable from this base
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rate(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else float("nan")


def reference_check(base: pd.DataFrame) -> list[FigureCheck]:
    """Compute every published figure a row-level base can show and compare it.

    `base` is a validated frame with outcomes (labeled, funded) and years.
    """
    base = _with_operator(base)
    success = (base["labeled"].to_numpy(dtype=float) == 1) & (base["funded"].to_numpy(dtype=float) == 1)
    labeled = base["labeled"].to_numpy(dtype=float) == 1
    year = base["year"].to_numpy(dtype=float)
    out = []
    for _, f in figures().iterrows():
        if f["metric"] == "not_computable":
            out.append(FigureCheck(f["id"], f["figure"], "-", "-", None, f["source"]))
            continue
        lo, hi = _years(f["years"])
        inyears = (year >= lo) & (year <= hi)
        b, s, lab = base[inyears], success[inyears], labeled[inyears]
        value, note = None, ""
        m = f["metric"]
        if m == "success_rate":
            value = _rate(s[_mask(b, f["where"])])
        elif m == "share_of_success":
            value = _rate(_mask(b, f["where"])[s])
        elif m == "share_of_labeled":
            value = _rate(_mask(b, f["where"])[lab])
        elif m == "share":
            within = _mask(b, f["versus"])
            value = _rate(_mask(b, f["where"])[within])
        elif m == "count_ratio":
            value = _mask(b, f["where"]).sum() / max(_mask(b, f["versus"]).sum(), 1)
        elif m == "success_count_ratio":
            value = (_mask(b, f["where"]) & s).sum() / max((_mask(b, f["versus"]) & s).sum(), 1)
        elif m == "label_effect":
            m_ = _mask(b, f["where"])
            funded = b["funded"].to_numpy(dtype=float)[m_] == 1
            f_lab, f_unl = _rate(funded[lab[m_]]), _rate(funded[~lab[m_]])
            odds = [np.clip(r, 1e-6, 1 - 1e-6) for r in (f_lab, f_unl)]  # a group all funded (or none) is far off
            value = float(np.log(odds[0] / (1 - odds[0])) - np.log(odds[1] / (1 - odds[1])))
            note = f"funded {f_lab:.3f} labelled, {f_unl:.3f} unlabelled; "
        elif m == "period_ratio":
            blo, bhi = _years(f["base_years"])
            before = base[(year >= blo) & (year <= bhi)]
            value = _mask(b, f["where"]).sum() / max(_mask(before, f["where"]).sum(), 1)
        if value is not None:
            target, tol = float(f["value"]), float(f["tolerance"])
            ok = bool(abs(value - target) <= tol + 1e-12)
            out.append(
                FigureCheck(f["id"], f["figure"], f"{target:.3g} ± {tol:.2g}", f"{value:.3f}", ok, f"{note}n={len(b)}")
            )
            continue
        if m == "top_success":
            counts = pd.Series(b[f["where"]].to_numpy()[s]).value_counts()
            top = counts.index[0] if len(counts) else "-"
            out.append(
                FigureCheck(
                    f["id"],
                    f["figure"],
                    f["value"],
                    f"{top} ({counts.iloc[0] if len(counts) else 0})",
                    top == f["value"],
                )
            )
        elif m == "rank_count":
            counts = b[f["where"]].value_counts()
            expected = f["value"].split(";")
            got = list(counts.index[: len(expected)])
            ok = all(g in e.split("|") for g, e in zip(got, expected))
            out.append(FigureCheck(f["id"], f["figure"], f["value"], ";".join(got), ok))
        elif m == "period_shape":
            m_ = _mask(base, f["where"])
            periods = [(y, y + 2) for y in range(lo, hi - 1)]
            counts = [int((m_ & (year >= a) & (year <= z)).sum()) for a, z in periods]
            shape = ["up" if b2 > a2 else "down" for a2, b2 in zip(counts, counts[1:])]
            out.append(
                FigureCheck(
                    f["id"], f["figure"], f["value"], ";".join(shape) + f" ({counts})", ";".join(shape) == f["value"]
                )
            )
        else:
            raise ValueError(f"data/figures.csv: figure {f['id']} has unknown metric {m!r}")
    return out


# --------------------------------------------------------------------------- realistic-dossier suite


@dataclass
class SuiteRow:
    """One dossier of a realistic-dossier suite, as the model scores it."""

    file: str
    tier: str  # "strong" or "weak"
    modelled_on: str
    rationale: str
    labeled: float
    success: float
    reasons: list[str]  # inputs the reasons name, signed: "+criterion" for, "-criterion" against
    without_clinicians: tuple[float, float] | None  # (P(labelled), P(success)) once clinical partners leave
    ineligible: tuple[str, ...] = ()  # rules of its target window the dossier breaks (scoring.eligibility)
    expected_ineligible: tuple[str, ...] = ()  # what suite.toml says it breaks
    warnings: tuple[str, ...] = ()  # codes of its suspicious answers (scoring.consistency)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def without_clinical_partners(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The dossier once its clinical partners leave (None if it has none); answers as the lead left them.

    With no partner left it is no longer collaborative, so its consortium question is not applicable.
    """
    partners = doc.get("partners") or {}
    if not doc.get("collaborative") or not partners.get("clinical"):
        return None
    count = max(int(partners.get("count", 1)) - 1, 0)
    out = {
        **doc,
        "dossier_id": f"{doc['dossier_id']}-without-clinicians",
        "partners": {**partners, "clinical": False, "count": count},
    }
    if count == 0 or not (partners.get("academic") or partners.get("industrial")):
        out["collaborative"] = False
        out["partners"] = {"academic": False, "industrial": False, "clinical": False, "count": 0}
        out["answers"] = {**doc.get("answers", {}), "sp_consortium": "na"}
    return out


def dossier_suite(directory, bundle) -> list[SuiteRow]:
    """Score the suite described by `directory`/suite.toml (one JSON dossier per entry)."""
    import json
    import tomllib
    from pathlib import Path

    from scoring.consistency import warnings
    from scoring.eligibility import verdict
    from scoring.explain import explain
    from scoring.jsonform import validate_records

    directory = Path(directory)
    with open(directory / "suite.toml", "rb") as fh:
        entries = tomllib.load(fh)["dossier"]
    docs = [json.loads((directory / e["file"]).read_text(encoding="utf-8")) for e in entries]
    dropped = [without_clinical_partners(d) for d in docs]
    scored = explain(docs + [d for d in dropped if d is not None], bundle, "en")
    extra = iter(scored[len(docs) :])
    rows = validate_records(docs).frame.to_dict("records")  # valid: explain refused none of them
    out = []
    for e, res, drop, row in zip(entries, scored, dropped, rows):
        p = res["probabilities"]
        after = next(extra)["probabilities"] if drop is not None else None
        out.append(
            SuiteRow(
                e["file"],
                e["tier"],
                e["modelled_on"],
                e["rationale"],
                p["labeled"],
                p["success"],
                [
                    ("+" if r["kind"] == "for" else "-") + r["input"]
                    for r in res["reasons"]
                    if r["kind"] in ("for", "against")
                ],
                (after["labeled"], after["success"]) if after else None,
                verdict(row, row["funding_window"]).codes,
                tuple(e.get("ineligible", ())),
                tuple(w.code for w in warnings(row)),
            )
        )
    return out


def suite_problems(rows: list[SuiteRow]) -> list[str]:
    """What a committee would object to in the suite's scores (empty when the order holds)."""
    out = []
    strong = [r for r in rows if r.tier == "strong"]
    weak = [r for r in rows if r.tier == "weak"]
    for target in ("labeled", "success"):
        low = min(strong, key=lambda r: getattr(r, target))
        high = max(weak, key=lambda r: getattr(r, target))
        if getattr(low, target) <= getattr(high, target):
            out.append(
                f"{target}: strong {low.file} ({getattr(low, target):.3f}) not above weak {high.file} "
                f"({getattr(high, target):.3f})"
            )
    for r in strong:
        if r.without_clinicians and (
            r.without_clinicians[0] > r.labeled + 1e-9 or r.without_clinicians[1] > r.success + 1e-9
        ):
            out.append(
                f"{r.file} gains by dropping its clinical partners: {r.labeled:.3f} -> "
                f"{r.without_clinicians[0]:.3f} labelled, {r.success:.3f} -> {r.without_clinicians[1]:.3f} success"
            )
    for r in rows:
        context = [x for x in r.reasons if x[1:] not in CRITERIA]
        if context:
            out.append(f"{r.file}: reasons name context inputs {context}")
        if r.ineligible != r.expected_ineligible:
            out.append(
                f"{r.file}: breaks {list(r.ineligible) or 'no rule'} of its window, "
                f"suite.toml says {list(r.expected_ineligible) or 'none'}"
            )
    return out
