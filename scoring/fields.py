"""The field table: every field of a dossier, its flat column, JSON path, kind and rule.

This module owns `FIELDS`, the single description of a dossier from which the
validator, the JSON form and the JSON Schema are derived (so that their rules
cannot drift apart), the column lists taken from it, what counts as a missing
cell, and the reading of a coded field's values as positions among its
allowed codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.catalogue import CRITERIA, NOT_APPLICABLE, SCORE_COLUMNS, codes, questions

MIN_YEAR = 2000
MAX_BUDGET_EUR = 1e9


@dataclass(frozen=True)
class Field:
    """One field of a dossier: its flat column, JSON path, kind and rule."""

    name: str
    path: tuple[str, ...]
    kind: str  # str, code, int, float, bool, date, answer, score
    required: bool = False
    allowed: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    description: str = ""

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _build_fields() -> tuple[Field, ...]:
    c = codes()
    fs = [
        Field("dossier_id", ("dossier_id",), "str", True, description="Unique identifier of the dossier"),
        Field("acronym", ("acronym",), "str", description="Project acronym"),
        Field("title", ("title",), "str", True, description="Project title"),
        Field("year", ("year",), "int", True, lo=MIN_YEAR, description="Year the dossier is examined by the CEP"),
        Field("submission_date", ("submission_date",), "date", description="Submission date (ISO 8601), within `year`"),
        Field("filiere", ("filiere",), "code", True, c["filiere"], description="Sector (filière)"),
        Field(
            "funding_window",
            ("funding_window",),
            "code",
            True,
            c["funding_window"],
            description="Funding window (guichet) targeted",
        ),
        Field("call", ("call",), "str", description="Specific call, e.g. Innov'Up, Pack IA, PRCE"),
        Field(
            "carrier_type", ("carrier_type",), "code", True, c["carrier_type"], description="Type of project carrier"
        ),
        Field("collaborative", ("collaborative",), "bool", True, description="Collaborative project (consortium)"),
        Field("partner_academic", ("partners", "academic"), "bool", description="An academic partner is present"),
        Field("partner_industrial", ("partners", "industrial"), "bool", description="An industrial partner is present"),
        Field("partner_clinical", ("partners", "clinical"), "bool", description="A clinical partner is present"),
        Field(
            "n_partners",
            ("partners", "count"),
            "int",
            lo=0,
            hi=50,
            description="Number of partners besides the carrier (0 when not collaborative)",
        ),
        Field(
            "therapeutic_area",
            ("therapeutic_area",),
            "code",
            True,
            c["therapeutic_area"],
            description="Main therapeutic area",
        ),
        Field(
            "technology_axis",
            ("technology_axis",),
            "code",
            True,
            c["technology_axis"],
            description="Main technology axis",
        ),
        Field("trl", ("trl",), "int", True, lo=1, hi=9, description="Technology readiness level at submission (1-9)"),
        Field(
            "budget_eur", ("budget_eur",), "float", True, lo=1.0, hi=MAX_BUDGET_EUR, description="Total budget (EUR)"
        ),
        Field(
            "aid_requested_eur",
            ("aid_requested_eur",),
            "float",
            True,
            lo=0.0,
            hi=MAX_BUDGET_EUR,
            description="Requested aid (EUR), at most the total budget",
        ),
        Field("duration_months", ("duration_months",), "int", True, lo=1, hi=120, description="Duration (months)"),
        Field(
            "preliminary_interview",
            ("preliminary_interview",),
            "bool",
            description="A preliminary interview with an expert took place (practice since 2024)",
        ),
    ]
    for q in questions():
        allowed = tuple(a["code"] for a in q["answers"]) + ((NOT_APPLICABLE,) if q["na_allowed"] else ())
        fs.append(Field(q["id"], ("answers", q["id"]), "answer", allowed=allowed, description=q["en"]))
    for crit, col in zip(CRITERIA, SCORE_COLUMNS):
        fs.append(
            Field(
                col,
                ("expert_scores", crit),
                "score",
                lo=0,
                hi=5,
                description=f"Expert score for {crit}, 0-5 in half points (overrides the rubric)",
            )
        )
    fs.append(Field("labeled", ("labeled",), "bool", description="Outcome: labelled by the CEP (historical rows)"))
    fs.append(Field("funded", ("funded",), "bool", description="Outcome: funded by the window (historical rows)"))
    return tuple(fs)


FIELDS: tuple[Field, ...] = _build_fields()
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)
ANSWER_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "answer")
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.required)


@lru_cache(maxsize=None)
def code_dtype(name: str) -> pd.CategoricalDtype:
    """Type of a validated coded field (a code or an answer): its allowed values, in catalogue order."""
    return pd.CategoricalDtype(FIELD_BY_NAME[name].allowed)


def code_index(values: Any, name: str) -> np.ndarray:
    """Per row, the position of a coded field's value among its allowed values; -1 when missing or unknown.

    A validated column is a Categorical of those values and is read as it is;
    text is looked up in Arrow, anything else (a dossier, Python values) one value at a time.
    """
    cat = values.array if isinstance(values, pd.Series) else values
    if isinstance(cat, pd.Categorical) and cat.dtype == code_dtype(name):
        return cat.codes.astype(np.intp)
    if isinstance(getattr(values, "dtype", None), pd.StringDtype):
        arr = pa.array(values)
        index = pc.index_in(arr, options=lookup_options(FIELD_BY_NAME[name].allowed, arr.type)).fill_null(-1)
        return index.to_numpy(zero_copy_only=False).astype(np.intp)
    return _lookup(np.asarray(values, dtype=object), name)


@lru_cache(maxsize=None)
def _positions(name: str) -> dict[str, int]:
    return {code: i for i, code in enumerate(FIELD_BY_NAME[name].allowed)}


def _lookup(values: np.ndarray, name: str) -> np.ndarray:
    pos = _positions(name)
    return np.fromiter((pos.get(v, -1) if isinstance(v, str) else -1 for v in values), np.intp, len(values))


@lru_cache(maxsize=None)
def lookup_options(words: tuple[str, ...], type_: pa.DataType) -> pc.SetLookupOptions:
    return pc.SetLookupOptions(pa.array(words, type_))  # built once: building it costs more than a lookup


def is_missing(value: Any) -> bool:
    """A missing cell: None, NA, NaN or text that is only white space."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""
