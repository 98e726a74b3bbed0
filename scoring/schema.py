"""The validator: one vectorised check of a table of dossiers, used by every path.

One dossier, a file and a million-row batch all go through `validate_frame`,
so that the rules cannot drift apart. This module owns the file-level
problems (`SchemaError`), the header row (French headers mapped to canonical
columns, a column named twice refused), the rules that span fields (aid and
budget, partners and consortium, "not applicable" by context, a date within
its year, a dossier id on one row only) and the result, `Validated`; the
checks of one column are `scoring.checks`'.

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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring import DATA_DIR
from scoring.catalogue import NA_CONTEXT, NOT_APPLICABLE, fold, na_rules, questions
from scoring.checks import BOOL_VALUES, BOOL_WORDS, check_field
from scoring.fields import (
    COLUMNS,
    FIELD_BY_NAME,
    FIELDS,
    REQUIRED_COLUMNS,
    Field,
    code_dtype,
    code_index,
    lookup_options,
)
from scoring.issues import Collector, Issue


class SchemaError(ValueError):
    """A file-level problem (a missing required column, two headers for one column).

    Raised with a `key` and its fields, it is worded from the translation table (`file.<key>`) in any
    language (`said`), its message being the English; `at(path)` names the file in front. Raised with a
    message only, it says that message in every language.
    """

    def __init__(self, message: str = "", *, key: str = "", path: str = "", **fields: Any):
        self.key, self.path, self.fields = key, path, fields
        super().__init__(self.said("en") if key else message)

    def said(self, lang: str, named: bool = True) -> str:
        """The problem in `lang`, after the file's name unless `named` is False (a table naming the file)."""
        from scoring.i18n import t

        if not self.key:
            return str(self)
        text = t(f"file.{self.key}", lang, **self.fields)
        return t("file.at", lang, path=self.path, text=text) if self.path and named else text

    def at(self, path: str | Path) -> SchemaError:
        """This problem, named for the file `path` (as it is when it names a file already)."""
        if self.path or str(self).startswith(str(path)):
            return self
        if self.key:
            return SchemaError(key=self.key, path=str(path), **self.fields)
        return SchemaError(f"{path}: {self}")

    def renamed(self, path: str, name: str) -> SchemaError:
        """This problem with the file `path` called `name` (an upload's temporary copy called by its name)."""
        if self.key:
            return SchemaError(key=self.key, path=name if self.path == path else self.path, **self.fields)
        return SchemaError(str(self).replace(path, name))

    def __reduce__(self):  # a batch worker's error crosses to the parent with its key
        return (_schema_error, (str(self), self.key, self.path, self.fields))


def _schema_error(message: str, key: str, path: str, fields: dict[str, Any]) -> SchemaError:
    return SchemaError(message, key=key, path=path, **fields)


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
    return {fold(header): column for header, column in _header_rows()}


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
        out[col] = name if name in FIELD_BY_NAME else fr.get(fold(name), name)
    return out


def normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename French headers to canonical names; refuse two headers meaning one column."""
    mapping = canonical_columns(frame.columns)
    seen: dict[str, str] = {}
    for src, dst in mapping.items():
        if dst in seen:
            raise SchemaError(key="same_meaning", first=seen[dst], second=src, column=dst)
        seen[dst] = src
    if all(src == dst for src, dst in mapping.items()):
        return frame  # renaming copies the whole frame
    return frame.rename(columns=mapping)


def check_headers(names: Iterable[Any]) -> None:
    """Refuse a header row naming one column twice (a reader would keep one and lose the other)."""
    seen: dict[str, int] = {}
    for k, name in enumerate(names, 1):
        key = str(name).strip()
        if key and key in seen:
            raise SchemaError(key="same_name", first=seen[key], second=k, name=key)
        seen.setdefault(key, k)


# --------------------------------------------------------------------------- validation


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

    def reasons(self, lang: str = "en") -> np.ndarray:
        """One '; '-joined reason string per row ('' for valid rows), in row order, in `lang`."""
        out = np.full(len(self.frame), "", dtype=object)
        for row, issues in self.issues_by_row().items():
            out[row - self.first_row] = "; ".join(i.message(lang) for i in issues)
        return out

    first_row: int = 1


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
        if NA_CONTEXT[field_name] == "bool":
            v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            ok &= np.isnan(v) | np.isin(v, [float(x) for x in values])
        else:
            at = code_index(col, field_name)
            ok &= (at < 0) | np.isin(at, [FIELD_BY_NAME[field_name].allowed.index(x) for x in values])
    return ok


def validate_frame(
    raw: pd.DataFrame,
    *,
    today: dt.date | None = None,
    first_row: int = 1,
    require: Iterable[str] = (),
    repeated: dict[str, tuple[int, ...]] | None = None,
) -> Validated:
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
        listed = ", ".join(f"{c!r}" + (f" / {_header_hint(c)!r}" if _header_hint(c) else "") for c in absent)
        raise SchemaError(key="missing_columns", columns=listed)
    n = len(frame)
    out = Collector(n, first_row)
    typed: dict[str, Any] = {}
    for col in FIELDS:
        if col.name not in frame.columns:
            typed[col.name] = (
                np.full(n, np.nan)
                if col.kind in ("int", "float", "bool", "score")
                else pd.Categorical([None] * n, dtype=code_dtype(col.name))
                if col.kind in ("code", "answer")
                else pd.Series([None] * n, dtype=object)
            )
            continue
        s = frame[col.name]
        exact = _exact(col, s)
        distinct = _distinct(s) if exact is None and col.kind != "str" else None
        if exact is not None:  # a clean export: every cell already a code, or empty
            index, miss = exact
            if col.name in required:
                out.add(miss, col.name, s, "required")
            typed[col.name] = (
                BOOL_VALUES[index]
                if col.kind == "bool"
                else pd.Categorical.from_codes(index, dtype=code_dtype(col.name), validate=False)
            )
        elif distinct is None:
            typed[col.name] = check_field(col, s, out, col.name in required, today)
        else:  # a portfolio repeats a handful of values per column: each is checked once
            values, index = distinct
            found = Collector(len(values), 0)
            typed[col.name] = _take(check_field(col, values, found, col.name in required, today), index)
            out.expand(found, index)
    t = pd.DataFrame(
        {
            k: v
            if isinstance(v, pd.Categorical)
            else (v if isinstance(v.dtype, pd.StringDtype) else v.to_numpy())
            if isinstance(v, pd.Series)
            else v
            for k, v in typed.items()
        }
    )
    _cross_checks(t, frame, out)
    _duplicate_ids(t["dossier_id"], out, repeated)
    extras = [c for c in frame.columns if c not in FIELD_BY_NAME]
    if extras:  # in one piece: inserting thousands of unknown columns one by one took a minute
        t = pd.concat([t, frame[extras].set_axis(t.index)], axis=1)
    issues = sorted(out.issues, key=lambda i: (i.row, COLUMNS.index(i.field) if i.field in COLUMNS else 999))
    v = Validated(t, issues, ~out.bad)
    v.first_row = first_row
    return v


def _exact(col: Field, s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(per row the position of its text among the field's words, -1 when empty; the empty cells),
    when every non-empty cell of an Arrow text column is one of those words exactly; else None.

    The words of a coded field are its codes, of a yes/no field `BOOL_WORDS`: one
    lookup per cell settles a clean column, which the other checks would accept as is.
    """
    if col.kind not in ("code", "answer", "bool") or not _arrow_text(s):
        return None
    arr = pa.array(s)
    index = pc.index_in(arr, options=lookup_options(BOOL_WORDS if col.kind == "bool" else col.allowed, arr.type))
    if index.null_count != arr.null_count:
        return None
    return (
        index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp),
        arr.is_null().to_numpy(zero_copy_only=False),
    )


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
    return (
        pd.Series(encoded.dictionary.to_pylist(), dtype=object),
        encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp),
    )


def _take(values: Any, index: np.ndarray) -> Any:
    """Values per row from values per distinct cell."""
    if isinstance(values, pd.Categorical):
        return pd.Categorical.from_codes(values.codes[index], dtype=values.dtype)
    if isinstance(values, pd.Series):
        return pd.Series(values.array.take(index))
    return values[index]


def _duplicate_ids(ids: pd.Series, out: Collector, repeated: dict[str, tuple[int, ...]] | None) -> None:
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


def _cross_checks(t: pd.DataFrame, frame: pd.DataFrame, out: Collector) -> None:
    budget, aid = t["budget_eur"].to_numpy(), t["aid_requested_eur"].to_numpy()
    over = aid > budget  # NaN compares False: a missing value is reported once, above
    out.add(over, "aid_requested_eur", t["aid_requested_eur"], "aid_above_budget")
    collab, n_part = t["collaborative"].to_numpy(), t["n_partners"].to_numpy()
    out.add((collab == 0) & (n_part > 0), "n_partners", t["n_partners"], "partners_without_consortium")
    out.add((collab == 1) & (n_part == 0), "n_partners", t["n_partners"], "consortium_without_partners")
    for p in ("partner_academic", "partner_industrial", "partner_clinical"):
        out.add((collab == 0) & (t[p].to_numpy() == 1), p, t[p], "partner_without_consortium")
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
