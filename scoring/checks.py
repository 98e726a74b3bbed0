"""Checks of one column: a field's cells read as its kind, each bad cell an issue on its row.

This module owns what a cell of each kind may be (text, code or answer, whole
number, number, yes/no, half-point score, date), how a person's way of typing
it is read (labels, yes/no words, numbers as text, dates with a time), and the
typed column the validator keeps. Python values (JSON, a workbook) and Arrow
text (CSV, Parquet) each take their fastest path to the same result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.catalogue import code_aliases, fold
from scoring.fields import Field, code_dtype, code_index, is_missing
from scoring.issues import Collector

# the yes/no words a person types, in French or English; BOOL_VALUES[k] is what BOOL_WORDS[k] means
_TRUE = {"true", "1", "yes", "y", "oui", "o", "vrai", "t", "1.0", "x"}
_FALSE = {"false", "0", "no", "n", "non", "faux", "f", "0.0"}
BOOL_WORDS = tuple(sorted(_TRUE)) + tuple(sorted(_FALSE))
BOOL_VALUES = np.array([1.0] * len(_TRUE) + [0.0] * len(_FALSE) + [np.nan])  # index -1 (empty): NaN


def _blank(s: pd.Series) -> np.ndarray:
    """Missing cells: NaN/None, or text that is only white space."""
    if s.dtype == object:  # Python objects (JSON, Excel): one pass over them beats a chain of pandas calls
        return np.fromiter((is_missing(v) for v in s.to_numpy()), bool, len(s))
    if isinstance(s.dtype, pd.StringDtype):  # Arrow-backed text (CSV, Parquet): classified in Arrow, nothing copied
        arr = pa.array(s)
        blank = pc.or_kleene(pc.equal(arr, ""), pc.utf8_is_space(arr))  # same white space as str.strip
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    return s.isna().to_numpy().copy()


def _as_text(s: pd.Series, miss: np.ndarray) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype) and not miss.all():
        # stays in Arrow: one Python string per cell is what made a million-row batch slow
        text = pc.if_else(
            pa.array(miss),
            pa.scalar(None, pa.large_string()),
            pc.utf8_trim_whitespace(pa.array(s)).cast(pa.large_string()),
        )
        return pd.Series(text.to_pandas().array, index=s.index)
    vals = s.to_numpy(dtype=object)
    return pd.Series([None if m else _text(v) for v, m in zip(vals, miss)], index=s.index, dtype=object)


def _text(v: Any) -> str:
    return (v if isinstance(v, str) else str(v.item() if isinstance(v, np.generic) else v)).strip()


def check_field(col: Field, s: pd.Series, out: Collector, required: bool, today: dt.date) -> Any:
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


def _allowed_text(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed)


def _check_numeric(
    col: Field, raw: pd.Series, miss: np.ndarray, out: Collector, hi: float | None, today: dt.date | None = None
) -> np.ndarray:
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
        out.add(checked & (num < col.lo), col.name, raw, "below_min", lo=col.lo, bounds=bounds)
    if hi is not None:
        if today is not None:
            out.add(checked & (num > hi), col.name, raw, "future_year", today=today.isoformat())
        else:
            out.add(checked & (num > hi), col.name, raw, "above_max", hi=hi, bounds=bounds)
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


def _check_bool(col: Field, raw: pd.Series, miss: np.ndarray, out: Collector) -> np.ndarray:
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


def _check_text(col: Field, raw: pd.Series, miss: np.ndarray, out: Collector) -> pd.Series:
    """Ids and titles are text: a file reader gives every cell of these columns as text, so a
    number, a yes/no or a list here comes from JSON (or typed Parquet) and is reported, not converted."""
    if raw.dtype == object:
        not_text = ~miss & np.fromiter((not isinstance(v, str) for v in raw.to_numpy()), bool, len(raw))
    else:
        not_text = ~miss & (not isinstance(raw.dtype, pd.StringDtype))
    out.add(not_text, col.name, raw, "not_text")
    return _as_text(raw, miss | not_text)


def _check_code(col: Field, raw: pd.Series, miss: np.ndarray, out: Collector) -> pd.Categorical:
    if not (~miss & ~_isin(raw, col.allowed)).any():  # already codes (a clean export): nothing to trim or map
        return _categorical(raw, col.name)  # a blank cell is no code: it reads as missing
    txt = _as_text(raw, miss)
    known = _isin(txt, col.allowed) & ~miss
    todo = ~miss & ~known
    if todo.any():
        aliases = code_aliases().get(col.name, {}) if col.kind == "code" else {}
        mapped = txt[todo].map(lambda v: aliases.get(fold(v)))
        hit = mapped.notna().to_numpy()
        txt.loc[txt.index[np.flatnonzero(todo)[hit]]] = mapped[hit].to_numpy()
        unknown = np.zeros(len(raw), bool)
        unknown[np.flatnonzero(todo)[~hit]] = True
        out.add(
            unknown,
            col.name,
            raw,
            "unknown_answer" if col.kind == "answer" else "unknown_code",
            allowed=_allowed_text(col.allowed),
        )
        txt[unknown] = None
    return _categorical(txt, col.name)


def _categorical(values: pd.Series, name: str) -> pd.Categorical:
    """A checked column of codes as its field's Categorical; anything else (blank, None, NaN) is missing."""
    return pd.Categorical.from_codes(code_index(values, name), dtype=code_dtype(name), validate=False)


def _check_score(col: Field, raw: pd.Series, miss: np.ndarray, out: Collector) -> np.ndarray:
    num = _check_numeric(col, raw, miss, out, col.hi)
    off = np.isfinite(num)  # an infinite score is above the maximum, reported above
    off[off] = np.abs(num[off] * 2 - np.round(num[off] * 2)) > 1e-9
    out.add(off, col.name, raw, "half_point")
    num[off] = np.nan
    return num


_ZONED = r"(\d:\d\d(?::\d\d(?:[.,]\d+)?)?)(?:Z|[+-]\d\d(?::?\d\d)?)$"  # a time, then "Z", "+05:00", "-0300", "+05"


def _check_date(col: Field, raw: pd.Series, miss: np.ndarray, out: Collector, today: dt.date) -> pd.Series:
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
