"""Reading and writing tables of dossiers: CSV, XLSX, Parquet and JSON, by extension.

Text formats are read as text (no type guessing, no silent NaN for "NA" or
"None"): the schema's validator does the typing, so that a bad cell is
reported with its row rather than coerced. Spreadsheet outputs neutralise
text cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.schema import SchemaError, load_json_dossiers, records_frame

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet", ".json")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def suffix(path: str | Path) -> str:
    s = Path(path).suffix.lower()
    if s not in TABLE_SUFFIXES:
        raise SchemaError(f"{path}: unsupported file type {s or '(none)'!r}; use one of {', '.join(TABLE_SUFFIXES)}")
    return s


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a file of dossiers into a flat frame of raw values (validation comes next)."""
    s = suffix(path)
    if not Path(path).exists():
        raise SchemaError(f"{path}: no such file")
    if s == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    if s == ".xlsx":
        return pd.read_excel(path, dtype=object, engine="openpyxl")
    if s == ".parquet":
        return pd.read_parquet(path)
    docs, _ = load_json_dossiers(Path(path).read_text(encoding="utf-8"))
    return records_frame(docs)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix with a quote the text cells a spreadsheet would execute (=, +, -, @ first).

    Numbers are left alone: a negative number is data, not a formula.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            is_text = s.map(lambda v: isinstance(v, str)).to_numpy(bool)
            if not is_text.any():
                continue
            txt = s[is_text].astype(str)
            risky = txt.str.startswith(FORMULA_PREFIXES).to_numpy()
            if risky.any():
                vals = s.to_numpy(dtype=object).copy()
                idx = np.flatnonzero(is_text)[risky]
                vals[idx] = ["'" + v for v in vals[idx]]
                out[col] = vals
    return out


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a frame by extension; CSV and XLSX get formula neutralisation."""
    s = suffix(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if s == ".csv":
        neutralise_formulas(frame).to_csv(path, index=False, lineterminator="\n")
    elif s == ".xlsx":
        neutralise_formulas(frame).to_excel(path, index=False, engine="openpyxl")
    elif s == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        from scoring.schema import to_json
        Path(path).write_text(json.dumps([to_json(r) for r in frame.to_dict("records")], ensure_ascii=False,
                                         indent=1), encoding="utf-8")
