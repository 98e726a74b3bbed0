"""The dossier: one funding application, its fields, codes and validation.

This module owns the single description of a dossier (`FIELDS`), and derives
from it everything else: the JSON Schema, the flat column list, the lossless
conversion between the nested JSON form and the flat one-row form, the
French-header mapping, and one vectorised validator used by every path (one
dossier, a file, a million-row batch), so that the rules cannot drift apart.

Errors name the row, the field, the value and the fix; a bad row is reported,
never dropped or guessed.

A validated coded field (a code or an answer) is a Categorical of its allowed
values. A portfolio's text column holds a handful of distinct values: it is
checked by one lookup per cell when every cell is already a code, else on its
distinct values, and the result is spread back to the rows. Either way the
reasons and typed values are those of checking every cell (a test pins it).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring import DATA_DIR

CRITERIA = (
    "industrial_interest",
    "scientific_quality",
    "success_probability",
    "data_quality",
    "regulatory_readiness",
)
SCORE_COLUMNS = tuple(f"score_{c}" for c in CRITERIA)
OUTCOMES = ("labeled", "funded")
NOT_APPLICABLE = "na"
MIN_YEAR = 2000
MAX_BUDGET_EUR = 1e9


@lru_cache(maxsize=1)
def codes() -> dict[str, tuple[str, ...]]:
    """Allowed codes per coded field, in the order of `data/codes.csv`."""
    out: dict[str, list[str]] = {}
    with open(DATA_DIR / "codes.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["field"], []).append(row["code"])
    return {k: tuple(v) for k, v in out.items()}


def _fold(text: str) -> str:
    """Case- and accent-insensitive form, for matching labels typed by people."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@lru_cache(maxsize=1)
def code_aliases() -> dict[str, dict[str, str]]:
    """Per coded field, {folded French or English label: code}.

    A CEP export writes "e-santé" or "Pharma / Biotech", not our codes; both
    labels of `data/codes.csv` are accepted and mapped to the code.
    """
    out: dict[str, dict[str, str]] = {}
    with open(DATA_DIR / "codes.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            m = out.setdefault(row["field"], {})
            for text in (row["code"], row["fr"], row["en"]):
                m[_fold(text)] = row["code"]
    return out


@lru_cache(maxsize=1)
def questions() -> tuple[dict[str, Any], ...]:
    """The questionnaire of `data/rubric.toml`, in file order."""
    with open(DATA_DIR / "rubric.toml", "rb") as fh:
        qs = tomllib.load(fh)["question"]
    for q in qs:
        if q["criterion"] not in CRITERIA:
            raise ValueError(f"data/rubric.toml: question {q['id']} has unknown criterion {q['criterion']!r}")
    return tuple(qs)


#: Context fields a [na_rule.*] of data/rubric.toml may name, and their kind.
_NA_CONTEXT = {"technology_axis": "code", "carrier_type": "code", "filiere": "code", "collaborative": "bool"}


@lru_cache(maxsize=1)
def na_rules() -> dict[str, dict[str, tuple]]:
    """{rule: {context field: accepted values}}: where "na" is allowed (`[na_rule.*]` of data/rubric.toml).

    Checked against the codes, and every `na_only_when` of a question names one of them.
    """
    with open(DATA_DIR / "rubric.toml", "rb") as fh:
        rules = tomllib.load(fh).get("na_rule", {})
    out = {}
    for name, spec in rules.items():
        for field_name, values in spec.items():
            kind = _NA_CONTEXT.get(field_name)
            allowed = codes()[field_name] if kind == "code" else (True, False)
            if kind is None or not isinstance(values, list) or not values or any(v not in allowed for v in values):
                raise ValueError(f"data/rubric.toml: [na_rule.{name}] {field_name} = {values!r}; name one of "
                                 f"{', '.join(_NA_CONTEXT)} with a list of its values ({', '.join(map(str, allowed))})"
                                 if kind else f"data/rubric.toml: [na_rule.{name}] names {field_name!r}; "
                                 f"use one of {', '.join(_NA_CONTEXT)}")
        out[name] = {k: tuple(v) for k, v in spec.items()}
    for q in questions():
        rule = q.get("na_only_when")
        if rule is not None and (rule not in out or not q["na_allowed"]):
            raise ValueError(f"data/rubric.toml: question {q['id']} has na_only_when = {rule!r}; it needs "
                             f"na_allowed = true and one of the rules {', '.join(out)}")
    return out


def na_allowed(qid: str, row: dict[str, Any]) -> bool:
    """Whether answering "not applicable" to question `qid` is accepted for this dossier's context.

    A context value the row does not give does not forbid it (the validator reports that field).
    """
    q = next(q for q in questions() if q["id"] == qid)
    if not q["na_allowed"]:
        return False
    rule = q.get("na_only_when")
    if rule is None:
        return True
    return bool(_na_context_ok(pd.DataFrame([row]), na_rules()[rule])[0])


def _na_context_ok(t: pd.DataFrame, spec: dict[str, tuple]) -> np.ndarray:
    """Per row of a validated frame: its context is one the rule accepts, or is unknown."""
    ok = np.ones(len(t), bool)
    for field_name, values in spec.items():
        if field_name not in t.columns:
            continue
        col = t[field_name]
        if _NA_CONTEXT[field_name] == "bool":
            v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            ok &= np.isnan(v) | np.isin(v, [float(x) for x in values])
        else:
            at = code_index(col, field_name)
            ok &= (at < 0) | np.isin(at, [FIELD_BY_NAME[field_name].allowed.index(x) for x in values])
    return ok


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
        Field("funding_window", ("funding_window",), "code", True, c["funding_window"],
              description="Funding window (guichet) targeted"),
        Field("call", ("call",), "str", description="Specific call, e.g. Innov'Up, Pack IA, PRCE"),
        Field("carrier_type", ("carrier_type",), "code", True, c["carrier_type"], description="Type of project carrier"),
        Field("collaborative", ("collaborative",), "bool", True, description="Collaborative project (consortium)"),
        Field("partner_academic", ("partners", "academic"), "bool", description="An academic partner is present"),
        Field("partner_industrial", ("partners", "industrial"), "bool", description="An industrial partner is present"),
        Field("partner_clinical", ("partners", "clinical"), "bool", description="A clinical partner is present"),
        Field("n_partners", ("partners", "count"), "int", lo=0, hi=50,
              description="Number of partners besides the carrier (0 when not collaborative)"),
        Field("therapeutic_area", ("therapeutic_area",), "code", True, c["therapeutic_area"],
              description="Main therapeutic area"),
        Field("technology_axis", ("technology_axis",), "code", True, c["technology_axis"],
              description="Main technology axis"),
        Field("trl", ("trl",), "int", True, lo=1, hi=9, description="Technology readiness level at submission (1-9)"),
        Field("budget_eur", ("budget_eur",), "float", True, lo=1.0, hi=MAX_BUDGET_EUR, description="Total budget (EUR)"),
        Field("aid_requested_eur", ("aid_requested_eur",), "float", True, lo=0.0, hi=MAX_BUDGET_EUR,
              description="Requested aid (EUR), at most the total budget"),
        Field("duration_months", ("duration_months",), "int", True, lo=1, hi=120, description="Duration (months)"),
        Field("preliminary_interview", ("preliminary_interview",), "bool",
              description="A preliminary interview with an expert took place (practice since 2024)"),
    ]
    for q in questions():
        allowed = tuple(a["code"] for a in q["answers"]) + ((NOT_APPLICABLE,) if q["na_allowed"] else ())
        fs.append(Field(q["id"], ("answers", q["id"]), "answer", allowed=allowed, description=q["en"]))
    for crit, col in zip(CRITERIA, SCORE_COLUMNS):
        fs.append(Field(col, ("expert_scores", crit), "score", lo=0, hi=5,
                        description=f"Expert score for {crit}, 0-5 in half points (overrides the rubric)"))
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
        index = pc.index_in(arr, options=_words(FIELD_BY_NAME[name].allowed, arr.type)).fill_null(-1)
        return index.to_numpy(zero_copy_only=False).astype(np.intp)
    return _lookup(np.asarray(values, dtype=object), name)


@lru_cache(maxsize=None)
def _positions(name: str) -> dict[str, int]:
    return {code: i for i, code in enumerate(FIELD_BY_NAME[name].allowed)}


def _lookup(values: np.ndarray, name: str) -> np.ndarray:
    pos = _positions(name)
    return np.fromiter((pos.get(v, -1) if isinstance(v, str) else -1 for v in values), np.intp, len(values))


# --------------------------------------------------------------------------- headers

@lru_cache(maxsize=1)
def _header_rows() -> tuple[tuple[str, str], ...]:
    """(French header, canonical column) pairs of data/headers_fr.csv, in file order, checked."""
    with open(DATA_DIR / "headers_fr.csv", encoding="utf-8", newline="") as fh:
        rows = tuple((row["header"], row["column"]) for row in csv.DictReader(fh))
    for header, column in rows:
        if column not in FIELD_BY_NAME and not column.startswith("true_p_"):
            raise ValueError(f"data/headers_fr.csv maps {header!r} to unknown column {column!r}")
    return rows


@lru_cache(maxsize=1)
def french_headers() -> dict[str, str]:
    """{folded header as a CEP export writes it: canonical column}."""
    return {_fold(header): column for header, column in _header_rows()}


def _header_hint(column: str) -> str | None:
    """The first French header listed for a column, to name in an error message."""
    return next((header for header, c in _header_rows() if c == column), None)


def canonical_columns(columns: Iterable[str]) -> dict[str, str]:
    """Map each incoming header to its canonical name (French headers via the mapping).

    Unknown headers map to themselves: they are passed through, never dropped.
    """
    fr = french_headers()
    out = {}
    for col in columns:
        name = str(col).strip()
        out[col] = name if name in FIELD_BY_NAME else fr.get(_fold(name), name)
    return out


def normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename French headers to canonical names; refuse two headers meaning one column."""
    mapping = canonical_columns(frame.columns)
    seen: dict[str, str] = {}
    for src, dst in mapping.items():
        if dst in seen:
            raise SchemaError(f"columns {seen[dst]!r} and {src!r} both mean {dst!r}; keep only one of them")
        seen[dst] = src
    if all(src == dst for src, dst in mapping.items()):
        return frame  # renaming copies the whole frame
    return frame.rename(columns=mapping)


# --------------------------------------------------------------------------- validation

class SchemaError(ValueError):
    """A file-level problem (a missing required column, two headers for one column)."""


@dataclass(frozen=True)
class Issue:
    """One reason a row is invalid.

    Issues raised by the validator carry a `code` and its `params`: their words
    come from the translation table (`issue.<code>`), in French or English.
    `reason` is the English text, kept for logs and for issues made elsewhere.
    """

    row: int  # 1-based position of the row in its file or list
    field: str  # canonical column name (the dotted JSON path is in `path`)
    value: Any
    reason: str
    code: str = ""
    params: tuple = ()

    @property
    def path(self) -> str:
        f = FIELD_BY_NAME.get(self.field)
        return f.dotted if f else self.field

    def reason_in(self, lang: str = "en") -> str:
        return _reason(self.code, dict(self.params), lang) if self.code else self.reason

    def message(self, lang: str = "en") -> str:
        from scoring.i18n import t

        return t("issue.message", lang, row=self.row, field=self.field, value=_show(self.value),
                 reason=self.reason_in(lang))

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "path": self.path, "value": _jsonable(self.value),
                "code": self.code, "reason": self.reason_in(lang), "message": self.message(lang)}


def _reason(code: str, params: dict[str, Any], lang: str) -> str:
    from scoring.i18n import t

    if "na_rule" in params:  # the rule's context in words, from the rubric's table (never copied into a text)
        params = dict(params, when=_na_when(params["na_rule"], lang))
    bounds = params.get("bounds")
    if bounds is not None:  # (lo, hi), either may be None
        lo, hi = bounds
        key = "issue.bounds_range" if lo is not None and hi is not None else \
            "issue.bounds_min" if lo is not None else "issue.bounds_max"
        params = dict(params, bounds=t(key, lang, lo=_num(lo), hi=_num(hi)))
    return t(f"issue.{code}", lang, **params)


def _na_when(rule: str, lang: str) -> str:
    from scoring.i18n import code_label, t

    parts = []
    for field_name, values in na_rules()[rule].items():
        if _NA_CONTEXT[field_name] == "bool":
            parts += [t(f"issue.na_when.{field_name}.{str(v).lower()}", lang) for v in values]
        else:
            parts.append(t("issue.na_when.codes", lang, field=t(f"input.{field_name}", lang),
                           values=", ".join(code_label(field_name, v, lang) for v in values)))
    return t("issue.na_when.and", lang).join(parts)


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def _show(value: Any) -> str:
    if _is_missing(value):
        return "(empty)"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _jsonable(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()[:10]
    return value


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


@dataclass
class Validated:
    """Result of validating a frame: typed values, one list of issues, the ok mask."""

    frame: pd.DataFrame  # canonical columns, typed; passes through unknown columns
    issues: list[Issue] = field(default_factory=list)
    ok: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def issues_by_row(self) -> dict[int, list[Issue]]:
        out: dict[int, list[Issue]] = {}
        for i in self.issues:
            out.setdefault(i.row, []).append(i)
        return out

    def reasons(self) -> np.ndarray:
        """One '; '-joined reason string per row ('' for valid rows), in row order."""
        out = np.full(len(self.frame), "", dtype=object)
        for row, issues in self.issues_by_row().items():
            out[row - self.first_row] = "; ".join(i.message() for i in issues)
        return out

    first_row: int = 1


_TRUE = {"true", "1", "yes", "y", "oui", "o", "vrai", "t", "1.0", "x"}
_FALSE = {"false", "0", "no", "n", "non", "faux", "f", "0.0"}
_BOOL_WORDS = tuple(sorted(_TRUE)) + tuple(sorted(_FALSE))
_BOOL_VALUES = np.array([1.0] * len(_TRUE) + [0.0] * len(_FALSE) + [np.nan])  # index -1 (empty): NaN


def _blank(s: pd.Series) -> np.ndarray:
    """Missing cells: NaN/None, or text that is only white space."""
    if s.dtype == object:  # Python objects (JSON, Excel): one pass over them beats a chain of pandas calls
        return np.fromiter((_is_missing(v) for v in s.to_numpy()), bool, len(s))
    if isinstance(s.dtype, pd.StringDtype):  # Arrow-backed text (CSV, Parquet): classified in Arrow, nothing copied
        arr = pa.array(s)
        blank = pc.or_kleene(pc.equal(arr, ""), pc.utf8_is_space(arr))  # same white space as str.strip
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    return s.isna().to_numpy().copy()


def _as_text(s: pd.Series, miss: np.ndarray) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype) and not miss.all():
        # stays in Arrow: one Python string per cell is what made a million-row batch slow
        text = pc.if_else(pa.array(miss), pa.scalar(None, pa.large_string()),
                          pc.utf8_trim_whitespace(pa.array(s)).cast(pa.large_string()))
        return pd.Series(text.to_pandas().array, index=s.index)
    vals = s.to_numpy(dtype=object)
    return pd.Series([None if m else _text(v) for v, m in zip(vals, miss)], index=s.index, dtype=object)


def _text(v: Any) -> str:
    return (v if isinstance(v, str) else str(v.item() if isinstance(v, np.generic) else v)).strip()


class _Collector:
    """Gathers issues column by column, vectorised: Python objects only for bad cells."""

    def __init__(self, n: int, first_row: int):
        self.issues: list[Issue] = []
        self.bad = np.zeros(n, bool)
        self.first_row = first_row

    def add(self, mask: np.ndarray, name: str, values: pd.Series, code: str, **params: Any) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad[idx] = True
        raw = values.iloc[idx].to_numpy(dtype=object)  # only the bad cells become Python objects
        reason = _reason(code, params, "en")
        frozen = tuple(sorted(params.items()))
        for i, value in zip(idx, raw):
            self.issues.append(Issue(int(i) + self.first_row, name, value, reason, code, frozen))

    def add_each(self, idx: np.ndarray, name: str, values: pd.Series, code: str, params: list[dict]) -> None:
        """Like `add`, with each row's own parameters (e.g. the other rows holding its id)."""
        if not len(idx):
            return
        self.bad[idx] = True
        reasons: dict[tuple, str] = {}
        for i, value, p in zip(idx, values.iloc[idx].to_numpy(dtype=object), params):
            frozen = tuple(sorted(p.items()))
            reason = reasons.get(frozen) or reasons.setdefault(frozen, _reason(code, p, "en"))
            self.issues.append(Issue(int(i) + self.first_row, name, value, reason, code, frozen))

    def expand(self, distinct: "_Collector", index: np.ndarray) -> None:
        """Add the issues found on a column's distinct values (`distinct`) to every row holding that value."""
        if not distinct.issues:
            return
        order = np.argsort(index, kind="stable")
        at = np.searchsorted(index[order], np.arange(len(distinct.bad) + 1))
        rows = {k: order[at[k]:at[k + 1]] for k in np.flatnonzero(distinct.bad)}
        for k in rows.values():
            self.bad[k] = True
        for issue in distinct.issues:
            self.issues.extend(replace(issue, row=int(r) + self.first_row) for r in rows[issue.row])


def _allowed_text(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed)


def _check_numeric(col: Field, raw: pd.Series, miss: np.ndarray, out: _Collector, hi: float | None,
                   today: dt.date | None = None) -> np.ndarray:
    num = _to_number(raw, miss)
    not_number = ~miss & np.isnan(num)
    bounds = (col.lo, hi)
    out.add(not_number, col.name, raw, "not_whole" if col.kind == "int" else "not_number", bounds=bounds)
    checked = ~miss & ~not_number
    if col.kind == "int":
        frac = checked & (np.abs(num - np.round(num)) > 1e-9)
        out.add(frac, col.name, raw, "not_whole", bounds=bounds)
        checked &= ~frac
    if col.lo is not None:
        out.add(checked & (num < col.lo), col.name, raw, "below_min", lo=f"{col.lo:g}", bounds=bounds)
    if hi is not None:
        if today is not None:
            out.add(checked & (num > hi), col.name, raw, "future_year", today=today.isoformat())
        else:
            out.add(checked & (num > hi), col.name, raw, "above_max", hi=f"{hi:g}", bounds=bounds)
    num[~checked] = np.nan
    return num


def _to_number(raw: pd.Series, miss: np.ndarray) -> np.ndarray:
    """Floats, NaN where a cell is missing or not a number."""
    if raw.dtype == object:  # Python values (JSON, Excel): converted one by one, with no pandas set-up per call
        return np.fromiter((np.nan if m else _float(v) for v, m in zip(raw.to_numpy(), miss)), float, len(raw))
    if pd.api.types.is_bool_dtype(raw.dtype):  # a yes/no column (Parquet) is no number either
        return np.full(len(raw), np.nan)
    raw = raw.where(~miss)
    if isinstance(raw.dtype, pd.StringDtype):
        try:  # Arrow's parser is several times faster and agrees with pandas' on every text it accepts
            return np.array(pc.cast(pa.array(raw), pa.float64()).to_numpy(zero_copy_only=False))
        except pa.ArrowInvalid:
            pass  # some cell is not a plain number (spaces, a typo): pandas' parser marks which
    return np.array(pd.to_numeric(raw, errors="coerce"), dtype=float)


def _float(v: Any) -> float:
    if isinstance(v, (bool, np.bool_)):
        return np.nan  # JSON's true is a yes/no, not 1: a TRL or a budget of `true` is a mistake to report
    if isinstance(v, str) and ("_" in v or not v.isascii()):
        return np.nan  # Python reads "1_000" and full-width digits; a CSV reader does not, nor do we
    try:
        return float(v.strip() if isinstance(v, str) else v)
    except (TypeError, ValueError):
        return np.nan


def _check_bool(col: Field, raw: pd.Series, miss: np.ndarray, out: _Collector) -> np.ndarray:
    res = np.full(len(raw), np.nan)
    if raw.dtype == bool:
        return raw.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(raw.dtype) and raw.dtype != object:
        v = raw.to_numpy(dtype=float)
        good = ~miss & np.isin(v, (0.0, 1.0))
        out.add(~miss & ~good, col.name, raw, "not_bool")
        res[good] = v[good]
        return res
    if raw.dtype == object:  # JSON and Excel hold real booleans: read them as they are
        low = pd.Series([None if m else _bool_word(v) for v, m in zip(raw.to_numpy(), miss)], dtype=object)
    else:
        low = _as_text(raw, miss).str.lower()
    t = _isin(low, _TRUE) & ~miss
    f = _isin(low, _FALSE) & ~miss
    out.add(~miss & ~t & ~f, col.name, raw, "not_bool")
    res[t] = 1.0
    res[f] = 0.0
    return res


def _bool_word(v: Any) -> str:
    """A Python cell as the yes/no word it reads as: a boolean, a number 1 or 0 (1.0, -0.0: a spreadsheet's), text."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, float, np.number)) and v in (0, 1):
        return str(int(v))
    return _text(v).lower()


def _isin(s: pd.Series, values: Iterable[str]) -> np.ndarray:
    if isinstance(s.dtype, pd.StringDtype):  # pandas' isin goes through Arrow too, at twice the cost
        arr = pa.array(s)
        return pc.is_in(arr, value_set=pa.array(list(values), arr.type)).fill_null(False).to_numpy(zero_copy_only=False)
    if s.dtype == object:  # Python strings (JSON, Excel): a set lookup per cell, no per-call set-up
        allowed = set(values)  # of text: a list or an object from JSON is never in it (nor hashable)
        return np.fromiter((isinstance(v, str) and v in allowed for v in s.to_numpy()), bool, len(s))
    return s.isin(values).to_numpy(dtype=bool)


def _check_text(col: Field, raw: pd.Series, miss: np.ndarray, out: _Collector) -> pd.Series:
    """Ids and titles are text: a file reader gives every cell of these columns as text, so a
    number, a yes/no or a list here comes from JSON (or typed Parquet) and is reported, not converted."""
    if raw.dtype == object:
        not_text = ~miss & np.fromiter((not isinstance(v, str) for v in raw.to_numpy()), bool, len(raw))
    else:
        not_text = ~miss & (not isinstance(raw.dtype, pd.StringDtype))
    out.add(not_text, col.name, raw, "not_text")
    return _as_text(raw, miss | not_text)


def _check_code(col: Field, raw: pd.Series, miss: np.ndarray, out: _Collector) -> pd.Categorical:
    if not (~miss & ~_isin(raw, col.allowed)).any():  # already codes (a clean export): nothing to trim or map
        return _categorical(raw, col.name)  # a blank cell is no code: it reads as missing
    txt = _as_text(raw, miss)
    known = _isin(txt, col.allowed) & ~miss
    todo = ~miss & ~known
    if todo.any():
        aliases = code_aliases().get(col.name, {}) if col.kind == "code" else {}
        mapped = txt[todo].map(lambda v: aliases.get(_fold(v)))
        hit = mapped.notna().to_numpy()
        txt.loc[txt.index[np.flatnonzero(todo)[hit]]] = mapped[hit].to_numpy()
        unknown = np.zeros(len(raw), bool)
        unknown[np.flatnonzero(todo)[~hit]] = True
        out.add(unknown, col.name, raw, "unknown_answer" if col.kind == "answer" else "unknown_code",
                allowed=_allowed_text(col.allowed))
        txt[unknown] = None
    return _categorical(txt, col.name)


def _categorical(values: pd.Series, name: str) -> pd.Categorical:
    """A checked column of codes as its field's Categorical; anything else (blank, None, NaN) is missing."""
    return pd.Categorical.from_codes(code_index(values, name), dtype=code_dtype(name), validate=False)


def _check_score(col: Field, raw: pd.Series, miss: np.ndarray, out: _Collector) -> np.ndarray:
    num = _check_numeric(col, raw, miss, out, col.hi)
    off = np.isfinite(num)  # an infinite score is above the maximum, reported above
    off[off] = np.abs(num[off] * 2 - np.round(num[off] * 2)) > 1e-9
    out.add(off, col.name, raw, "half_point")
    num[off] = np.nan
    return num


_ZONED = r"(\d:\d\d(?::\d\d(?:[.,]\d+)?)?)(?:Z|[+-]\d\d(?::?\d\d)?)$"  # a time, then "Z", "+05:00", "-0300", "+05"


def _check_date(col: Field, raw: pd.Series, miss: np.ndarray, out: _Collector, today: dt.date) -> pd.Series:
    """Dates as written: a time zone after a time is dropped, so the date is the one the writer saw
    (converting to UTC could move it to the day before); mixing zones can then no longer fail the column."""
    if raw.dtype == object:  # a date is text or a spreadsheet's date, never a number or a yes/no
        typed = np.fromiter((isinstance(v, (str, dt.date)) for v in raw.to_numpy()), bool, len(raw))
        out.add(~miss & ~typed, col.name, raw, "not_date")
        miss = miss | ~typed
    txt = _as_text(raw, miss)
    if txt.dtype == object:
        txt = txt.astype("string[pyarrow]")
    zoned = pc.match_substring_regex(pa.array(txt), _ZONED).fill_null(False).to_numpy(zero_copy_only=False)
    if zoned.any():
        txt = txt.where(~zoned, txt.str.replace(_ZONED, r"\1", regex=True))
    parsed = pd.to_datetime(txt, format="ISO8601", errors="coerce")
    bad = ~miss & parsed.isna().to_numpy()
    out.add(bad, col.name, raw, "not_date")
    future = (parsed > pd.Timestamp(today)).to_numpy(dtype=bool) & ~bad & ~miss
    out.add(future, col.name, raw, "future_date", today=today.isoformat())
    return parsed.where(~future)


def validate_frame(raw: pd.DataFrame, *, today: dt.date | None = None, first_row: int = 1,
                   require: Iterable[str] = (), repeated: dict[str, tuple[int, ...]] | None = None) -> Validated:
    """Validate a flat frame (one dossier per row) in one vectorised pass.

    `raw` may hold text (from CSV) or typed values (Parquet, JSON); French
    headers are mapped first. `require` adds columns needed by the caller
    (e.g. the outcomes for training). Raises SchemaError when a required
    column is absent; every other problem is an Issue on its row.

    A `dossier_id` on several rows flags each of them. `repeated` ({id: its rows
    in the whole file}) is for a caller that sees the file in parts (batch).
    """
    today = today or dt.date.today()
    frame = normalise_columns(raw)
    if not frame.index.equals(pd.RangeIndex(len(frame))):  # row k is the k-th row, whatever raw's index
        frame = frame.reset_index(drop=True)
    required = list(REQUIRED_COLUMNS) + [c for c in require if c not in REQUIRED_COLUMNS]
    absent = [c for c in required if c not in frame.columns]
    if absent:
        listed = ", ".join(f"{c!r}" + (f" (or {_header_hint(c)!r})" if _header_hint(c) else "") for c in absent)
        raise SchemaError(f"missing required column(s): {listed}; add them to the file header")
    n = len(frame)
    out = _Collector(n, first_row)
    typed: dict[str, Any] = {}
    for col in FIELDS:
        if col.name not in frame.columns:
            typed[col.name] = np.full(n, np.nan) if col.kind in ("int", "float", "bool", "score") else \
                pd.Categorical([None] * n, dtype=code_dtype(col.name)) if col.kind in ("code", "answer") else \
                pd.Series([None] * n, dtype=object)
            continue
        s = frame[col.name]
        exact = _exact(col, s)
        distinct = _distinct(s) if exact is None and col.kind != "str" else None
        if exact is not None:  # a clean export: every cell already a code, or empty
            index, miss = exact
            if col.name in required:
                out.add(miss, col.name, s, "required")
            typed[col.name] = _BOOL_VALUES[index] if col.kind == "bool" else \
                pd.Categorical.from_codes(index, dtype=code_dtype(col.name), validate=False)
        elif distinct is None:
            typed[col.name] = _check_field(col, s, out, col.name in required, today)
        else:  # a portfolio repeats a handful of values per column: each is checked once
            values, index = distinct
            found = _Collector(len(values), 0)
            typed[col.name] = _take(_check_field(col, values, found, col.name in required, today), index)
            out.expand(found, index)
    t = pd.DataFrame({k: v if isinstance(v, pd.Categorical) else
                      (v if isinstance(v.dtype, pd.StringDtype) else v.to_numpy()) if isinstance(v, pd.Series)
                      else v for k, v in typed.items()})
    _cross_checks(t, frame, out)
    _duplicate_ids(t["dossier_id"], out, repeated)
    extras = [c for c in frame.columns if c not in FIELD_BY_NAME]
    if extras:  # in one piece: inserting thousands of unknown columns one by one took a minute
        t = pd.concat([t, frame[extras].set_axis(t.index)], axis=1)
    issues = sorted(out.issues, key=lambda i: (i.row, COLUMNS.index(i.field) if i.field in COLUMNS else 999))
    v = Validated(t, issues, ~out.bad)
    v.first_row = first_row
    return v


def _check_field(col: Field, s: pd.Series, out: _Collector, required: bool, today: dt.date) -> Any:
    """Typed values of one column (array, Series or Categorical); its issues go to `out`."""
    miss = _blank(s)
    if required:
        out.add(miss, col.name, s, "required")
    if col.kind == "str":
        return _check_text(col, s, miss, out)
    if col.kind in ("code", "answer"):
        return _check_code(col, s, miss, out)
    if col.kind == "int" and col.name == "year":
        return _check_numeric(col, s, miss, out, today.year, today)
    if col.kind in ("int", "float"):
        return _check_numeric(col, s, miss, out, col.hi)
    if col.kind == "bool":
        return _check_bool(col, s, miss, out)
    if col.kind == "score":
        return _check_score(col, s, miss, out)
    return _check_date(col, s, miss, out, today)


def _exact(col: Field, s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(per row the position of its text among the field's words, -1 when empty; the empty cells),
    when every non-empty cell of an Arrow text column is one of those words exactly; else None.

    The words of a coded field are its codes, of a yes/no field `_BOOL_WORDS`: one
    lookup per cell settles a clean column, which the other checks would accept as is.
    """
    if col.kind not in ("code", "answer", "bool") or not _arrow_text(s):
        return None
    arr = pa.array(s)
    index = pc.index_in(arr, options=_words(_BOOL_WORDS if col.kind == "bool" else col.allowed, arr.type))
    if index.null_count != arr.null_count:
        return None
    return (index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp),
            arr.is_null().to_numpy(zero_copy_only=False))


@lru_cache(maxsize=None)
def _words(words: tuple[str, ...], type_: pa.DataType) -> pc.SetLookupOptions:
    return pc.SetLookupOptions(pa.array(words, type_))  # built once: building it costs more than a lookup


def _arrow_text(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow" and len(s) >= 64


def _distinct(s: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """(distinct values, per row the position of its value) of Arrow text with few distinct values, else None."""
    if not _arrow_text(s):
        return None
    arr = pa.array(s)
    if isinstance(arr, pa.ChunkedArray):  # one dictionary for the column, not one per chunk
        arr = arr.combine_chunks()
    encoded = pc.dictionary_encode(arr, null_encoding="encode")
    if 20 * len(encoded.dictionary) > len(s):  # many distinct values (amounts, dates): Arrow checks every cell faster
        return None
    # a few Python strings: the validator's per-value path (as for JSON) beats any per-column set-up
    return (pd.Series(encoded.dictionary.to_pylist(), dtype=object),
            encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp))


def _take(values: Any, index: np.ndarray) -> Any:
    """Values per row from values per distinct cell."""
    if isinstance(values, pd.Categorical):
        return pd.Categorical.from_codes(values.codes[index], dtype=values.dtype)
    if isinstance(values, pd.Series):
        return pd.Series(values.array.take(index))
    return values[index]


def _duplicate_ids(ids: pd.Series, out: _Collector, repeated: dict[str, tuple[int, ...]] | None) -> None:
    """Flag every row of an id that is on several rows, naming them all (both rows: which one is right is
    the analyst's call)."""
    present = ids.notna().to_numpy()
    if repeated is None:
        where = np.flatnonzero(present & ids.duplicated(keep=False).to_numpy())
        if not len(where):
            return
        keys = ids.iloc[where].to_numpy(dtype=object)
        repeated = pd.Series(where + out.first_row).groupby(keys).agg(tuple).to_dict()
    else:
        where = np.flatnonzero(present & ids.isin(list(repeated)).to_numpy()) if repeated else np.zeros(0, int)
        keys = ids.iloc[where].to_numpy(dtype=object)
    listed = {k: ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "") for k, rows in repeated.items()}
    out.add_each(where, "dossier_id", ids, "duplicate_id", [{"rows": listed[k]} for k in keys])


def check_headers(names: Iterable[Any]) -> None:
    """Refuse a header row naming one column twice (a reader would keep one and lose the other)."""
    seen: dict[str, int] = {}
    for k, name in enumerate(names, 1):
        key = str(name).strip()
        if key and key in seen:
            raise SchemaError(f"columns {seen[key]} and {k} are both named {key!r}; rename or remove one of them")
        seen.setdefault(key, k)


def _cross_checks(t: pd.DataFrame, frame: pd.DataFrame, out: _Collector) -> None:
    budget, aid = t["budget_eur"].to_numpy(), t["aid_requested_eur"].to_numpy()
    over = aid > budget  # NaN compares False: a missing value is reported once, above
    out.add(over, "aid_requested_eur", t["aid_requested_eur"],
            "aid_above_budget")
    collab, n_part = t["collaborative"].to_numpy(), t["n_partners"].to_numpy()
    out.add((collab == 0) & (n_part > 0), "n_partners", t["n_partners"],
            "partners_without_consortium")
    out.add((collab == 1) & (n_part == 0), "n_partners", t["n_partners"],
            "consortium_without_partners")
    for p in ("partner_academic", "partner_industrial", "partner_clinical"):
        out.add((collab == 0) & (t[p].to_numpy() == 1), p, t[p],
                "partner_without_consortium")
    for q in questions():  # "na" only where the rubric allows it for the project's context
        qid, rule = q["id"], q.get("na_only_when")
        if rule is None or qid not in t.columns:
            continue
        said_na = code_index(t[qid], qid) == FIELD_BY_NAME[qid].allowed.index(NOT_APPLICABLE)
        if said_na.any():
            out.add(said_na & ~_na_context_ok(t, na_rules()[rule]), qid, t[qid], "na_forbidden", na_rule=rule)
    if "submission_date" in frame.columns:
        sub_year = pd.to_datetime(t["submission_date"]).dt.year.to_numpy(dtype=float)
        year = t["year"].to_numpy()
        mismatch = ~np.isnan(sub_year) & ~np.isnan(year) & (sub_year != year)
        if mismatch.any():  # the dates as text only for the report
            out.add(mismatch, "submission_date", t["submission_date"].astype(str).str[:10], "date_not_in_year")


# --------------------------------------------------------------------------- JSON <-> flat

def _typed_value(f: Field, v: Any) -> Any:
    """Convert one typed-frame cell to its JSON value (None when missing)."""
    if _is_missing(v):
        return None
    if f.kind == "bool":
        return bool(v)
    if f.kind == "int":
        return int(v)
    if f.kind in ("float", "score"):
        v = float(v)
        return int(v) if f.kind == "float" and v.is_integer() else v
    if f.kind == "date":
        return pd.Timestamp(v).date().isoformat()
    return v.item() if isinstance(v, np.generic) else v


def to_json(row: dict[str, Any] | pd.Series) -> dict[str, Any]:
    """Flat row (canonical columns, typed) -> nested dossier JSON; missing fields are omitted."""
    row = dict(row)
    out: dict[str, Any] = {}
    for f in FIELDS:
        if f.name not in row:
            continue
        v = _typed_value(f, row[f.name])
        if v is None:
            continue
        node = out
        for key in f.path[:-1]:
            node = node.setdefault(key, {})
        node[f.path[-1]] = v
    return out


def from_json(doc: dict[str, Any]) -> dict[str, Any]:
    """Nested dossier JSON -> flat row {column: value}; unknown keys raise with a hint.

    Values are not validated here (`validate_records` does it, with the row numbers).
    """
    if not isinstance(doc, dict):
        raise SchemaError(f"a dossier must be a JSON object, got {type(doc).__name__}")
    flat: dict[str, Any] = {}
    _walk(doc, (), flat)
    return flat


_GROUPS = {f.path[0] for f in FIELDS if len(f.path) > 1}
_BY_PATH = {f.path: f for f in FIELDS}


def _walk(node: dict[str, Any], prefix: tuple[str, ...], flat: dict[str, Any]) -> None:
    for key, value in node.items():
        path = prefix + (key,)
        if path in _BY_PATH:
            flat[_BY_PATH[path].name] = value
        elif not prefix and key in _GROUPS:
            if not isinstance(value, dict):
                raise SchemaError(f"field {key!r} must be an object of sub-fields, got {value!r}")
            _walk(value, path, flat)
        else:
            known = sorted(".".join(p) for p in _BY_PATH if p[:len(prefix)] == prefix)
            raise SchemaError(f"unknown field {'.'.join(path)!r}; known fields here: {', '.join(known[:12])}"
                              + (" ..." if len(known) > 12 else ""))


def records_frame(docs: list[dict[str, Any]]) -> pd.DataFrame:
    """Dossier JSON objects -> a flat frame with every canonical column."""
    rows = [from_json(d) for d in docs]
    return pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)


def validate_records(docs: list[dict[str, Any]], *, today: dt.date | None = None) -> Validated:
    """Validate dossier JSON objects (row numbers are 1-based list positions)."""
    return validate_frame(records_frame(docs), today=today)


def load_json_dossiers(text: str) -> tuple[list[dict[str, Any]], bool]:
    """Parse a JSON file holding one dossier or a list; returns (dossiers, was_a_list)."""
    if _depth(text) > MAX_JSON_DEPTH:  # refused before parsing: Python's parser would recurse to its limit
        raise SchemaError(f"not a file of dossiers: its JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if isinstance(data, list):
        if not data:
            raise SchemaError("the list holds no dossier; give at least one")
        return data, True
    return [data], False


MAX_JSON_DEPTH = 64  # a list of dossiers is 3 levels deep


def _depth(text: str) -> int:
    """How deep brackets nest in a JSON text, strings left out."""
    data = np.frombuffer(re.sub(r'"(?:[^"\\]|\\.)*"', "", text).encode("utf-8", "replace"), np.uint8)
    step = np.isin(data, (0x5B, 0x7B)).astype(np.int32) - np.isin(data, (0x5D, 0x7D))
    return int(np.cumsum(step).max(initial=0))


def _no_constant(name: str) -> None:
    raise SchemaError(f"not valid JSON: {name} is not a number JSON allows; leave the field out or give a number")


# --------------------------------------------------------------------------- JSON Schema

SCHEMA_LIMITS = (
    "Rules this schema cannot express, checked by the validator: the requested aid is at most the budget; "
    "n_partners is 0 without a consortium and more than 0 with one, and partner flags need a consortium; "
    "submission_date lies within `year`; neither `year` nor a date is in the future; a dossier_id is on one "
    "row only; \"na\" is an answer only where data/rubric.toml's na_only_when allows it for the dossier's "
    "technology axis, carrier or collaboration. The validator also reads what a person types: codes and labels in any case and without "
    "accents, yes/no words in any case, numbers written as text (\"5\", \"1200.5\"), dates with one-digit "
    "months or days (2024-3-5) or with a time (the date as written is kept), numbers within 1e-9 of a whole number or a half point (a "
    "spreadsheet's rounding), and white space around values."
)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one dossier, generated from FIELDS: the same codes, labels,
    yes/no words, ranges and types as the validator (a property test pins it); `SCHEMA_LIMITS` says
    what it cannot express."""
    root: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CEP dossier",
        "description": "One health-innovation funding application as examined by the Medicen CEP. " + SCHEMA_LIMITS,
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    for f in FIELDS:
        node = root
        for key in f.path[:-1]:
            node = node["properties"].setdefault(key, {"type": "object", "properties": {}, "required": [],
                                                       "additionalProperties": False})
        node["properties"][f.path[-1]] = _field_schema(f)
        if f.required:
            node["required"].append(f.path[-1])
    return root


def _field_schema(f: Field) -> dict[str, Any]:
    """One field's rule; an optional field may also be missing: null, or a blank text (as a CSV cell is)."""
    s: dict[str, Any] = {"description": f.description}
    if f.kind in ("code", "answer"):
        s["enum"] = list(dict.fromkeys(list(f.allowed) + _labels(f)))
    elif f.kind == "str":
        s.update(type="string", pattern=r"\S")
    elif f.kind == "bool":
        s["enum"] = [True, False, 1, 0, *_BOOL_WORDS]  # 1 and 0: a spreadsheet's yes/no
    elif f.kind == "date":
        s.update(type="string", format="date")
    elif f.kind == "score":
        s.update(type="number", minimum=0, maximum=5, multipleOf=0.5)
    else:
        s["type"] = "integer" if f.kind == "int" else "number"
        if f.lo is not None:
            s["minimum"] = f.lo
        if f.hi is not None:
            s["maximum"] = f.hi
    if f.required:
        return s
    if f.kind == "str":
        return {"description": f.description, "type": ["string", "null"]}
    rule = {k: v for k, v in s.items() if k != "description"}
    return {"description": f.description, "anyOf": [rule, {"type": "null"}, {"type": "string", "pattern": r"^\s*$"}]}


def _labels(f: Field) -> list[str]:
    """The French and English labels a coded field accepts, as `data/codes.csv` writes them."""
    if f.kind != "code":
        return []
    with open(DATA_DIR / "codes.csv", encoding="utf-8", newline="") as fh:
        return [text for row in csv.DictReader(fh) if row["field"] == f.name for text in (row["fr"], row["en"])]


def example() -> dict[str, Any]:
    """A complete valid dossier (JSON form), as `cep-scoring example` prints it."""
    with open(DATA_DIR / "example_dossier.json", encoding="utf-8") as fh:
        return json.load(fh)
