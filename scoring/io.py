"""Reading and writing tables of dossiers: CSV, XLSX, Parquet and JSON, by extension.

This is the one reader every path uses (validate, score, train, import, the
batch's fallback, the app's uploads). Text formats are read as text (no type
guessing, no silent NaN for "NA" or "None"): the schema's validator does the
typing, so that a bad cell is reported with its row rather than coerced.
A CSV's encoding, separator, line ends and decimal mark are detected
(`scoring.dialect`) or forced by `ReadOptions`; a workbook is read cell by
cell whatever its `<dimension>` tag says, its costs bounded (`scoring.xlsx`).
Every failure to read or write is a `SchemaError` naming the file and what to do.

Every spreadsheet output (CSV and XLSX, headers included) goes through one
formula rule, `safe_text`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from scoring import dialect, xlsx
from scoring.fields import FIELD_BY_NAME
from scoring.i18n import t
from scoring.jsonform import load_json_dossiers, records_frame
from scoring.schema import SchemaError, canonical_columns, check_headers

TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet", ".json")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"  # "-5" is data to a spreadsheet, not a formula
_NUMBER_KINDS = ("int", "float", "score")
_TEXT_KINDS = ("str",)


@dataclass(frozen=True)
class ReadOptions:
    """What a user may force instead of detection (`--sep`, `--encoding`, `--decimal`, `--sheet`)."""

    sep: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    sheet: str | None = None


#: How a file was read: a translation key and its fields (a field that is itself a key is translated too).
How = tuple[str, dict[str, str]]
PARQUET_HOW: How = ("io.read_as.parquet", {})


@dataclass
class Table:
    """A file's rows, and how it was read (`How`): `said(lang)` is the line the command line prints,
    `read_as` its English."""

    frame: pd.DataFrame
    how: How

    def said(self, lang: str) -> str:
        return said(self.how, lang)

    @property
    def read_as(self) -> str:
        return read_as(self.how)


def said(how: How, lang: str) -> str:
    """How a file was read, in `lang`."""
    key, fields = how
    return t(key, lang, **{k: t(v, lang) if v.startswith("io.") else v for k, v in fields.items()})


def read_as(how: How) -> str:
    """The JSON reports' and the logs' one line, in English ("read as ;-separated, ...")."""
    return said(how, "en")


def csv_how(d: dialect.Dialect) -> How:
    encoding = "io.encoding.bom" if d.encoding == "utf-8-sig" else dialect.ENCODING_NAMES.get(d.encoding, d.encoding)
    sep = "io.sep.tab" if d.sep == "\t" else d.sep
    mark = "io.decimal.comma" if d.decimal == "," else "io.decimal.point"
    return "io.read_as.csv", {"sep": sep, "encoding": encoding, "newline": d.newline, "mark": mark}


def suffix(path: str | Path) -> str:
    s = Path(path).suffix.lower()
    if s not in TABLE_SUFFIXES:
        raise SchemaError(key="unsupported", path=str(path), suffix=s or "(none)", allowed=", ".join(TABLE_SUFFIXES))
    return s


def read_table(path: str | Path, options: ReadOptions | None = None) -> pd.DataFrame:
    """Read a file of dossiers into a flat frame of raw values (validation comes next)."""
    return read_file(path, options).frame


def read_file(path: str | Path, options: ReadOptions | None = None) -> Table:
    """Read a file of dossiers, saying how it was read; any failure is a SchemaError naming the file."""
    options = options or ReadOptions()
    s = suffix(path)
    try:
        data = _bytes(path)
        if s == ".csv":
            d = detect_csv(data, options)
            frames = list(csv_frames(path, d))
            return Table(pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0], csv_how(d))
        if s == ".xlsx":
            frame, sheet, row = xlsx.read_sheet(path, data, options.sheet)
            return Table(text_fields(frame), ("io.read_as.xlsx", {"sheet": sheet, "row": str(row)}))
        if s == ".parquet":
            return Table(text_fields(pd.read_parquet(path)), PARQUET_HOW)
        docs, _ = load_json_dossiers(_json_text(data))
        return Table(records_frame(docs), ("io.read_as.json", {}))
    except SchemaError as exc:
        raise exc.at(path) from None
    except dialect.DialectError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    except OSError as exc:
        raise SchemaError(key="cannot_read", path=str(path), reason=exc.strerror or str(exc)) from None
    except BaseException as exc:  # a parser's own error on a damaged file: one line, never a traceback
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":  # calamine's Rust panics
            raise  # Ctrl-C and exit stay what they are
        raise SchemaError(key="wrong_format", path=str(path), kind=s[1:].upper(), error=first_line(exc)) from None


def first_line(exc: BaseException) -> str:
    """An exception's first line (its type's name when it says nothing), for one-line messages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _bytes(path: str | Path) -> bytes:
    p = Path(path)
    if not p.exists():
        raise SchemaError(key="no_such_file", path=str(path))
    if p.is_dir():
        raise SchemaError(key="folder", path=str(path))
    data = p.read_bytes()
    if not data.strip():
        raise SchemaError(key="empty", path=str(path))
    return data


def read_json_text(path: str | Path) -> str:
    """A JSON file's text (UTF-8, with or without BOM); a SchemaError naming the file otherwise."""
    try:
        return _json_text(_bytes(path))
    except SchemaError as exc:
        raise exc.at(path) from None
    except OSError as exc:
        raise SchemaError(key="cannot_read", path=str(path), reason=exc.strerror or str(exc)) from None


def _json_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SchemaError(key="not_utf8_json") from None


# --------------------------------------------------------------------------- CSV


def detect_csv(data: bytes, options: ReadOptions, *, whole: bool = True) -> dialect.Dialect:
    return dialect.detect(data, whole=whole, sep=options.sep, encoding=options.encoding, decimal=options.decimal)


def csv_frames(path: str | Path, d: dialect.Dialect, chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a CSV file as frames of text (all of them, or `chunk_rows` at a time), header applied.

    A line of only white space, and a row whose every cell is blank, carry no dossier and are
    not rows; a short row reads as missing cells; a row longer than the header is an error
    naming its line (its extra cells would otherwise be lost).
    """
    try:
        reader = pd.read_csv(
            path,
            sep=d.sep,
            encoding=d.encoding,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            engine="c",
            chunksize=chunk_rows or 1 << 62,
            encoding_errors="strict",
        )
        names: list[str] | None = None
        with reader:
            for chunk in reader:
                first = names is None
                if names is None:
                    names = header_names(chunk.iloc[0])
                    chunk = chunk.iloc[1:]
                chunk = _rows(chunk, names, d)
                if len(chunk) or first:  # the first, even empty, tells the header
                    yield chunk
        if names is None:
            raise SchemaError(key="empty")
    except pd.errors.EmptyDataError:
        raise SchemaError(key="empty") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise SchemaError(key="cells", line=line, saw=saw, want=want, sep=d.sep) from None
        unclosed = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if unclosed:
            raise SchemaError(key="unclosed", line=int(unclosed.group(1)) + 1) from None
        raise SchemaError(key="csv_unreadable", error=first_line(exc)) from None
    except UnicodeDecodeError as exc:
        encoding = dialect.ENCODING_NAMES.get(d.encoding, d.encoding)
        raise SchemaError(key="not_encoding", encoding=encoding, reason=exc.reason, byte=exc.start) from None


def header_names(cells) -> list[str]:
    """Column names from a CSV header row: trimmed, checked for repeats, an empty one named by its place."""
    raw = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in cells]
    if raw:
        raw[0] = raw[0].lstrip("\ufeff")
    check_headers(raw)
    return [name.strip() or f"Unnamed: {k}" for k, name in enumerate(raw)]


def _rows(chunk: pd.DataFrame, names: list[str], d: dialect.Dialect) -> pd.DataFrame:
    chunk = chunk.reset_index(drop=True)
    chunk.columns = names
    first = chunk.iloc[:, 0]
    maybe = np.flatnonzero(first.isna().to_numpy() | (first.str.strip() == "").fillna(False).to_numpy())
    if len(maybe):  # only rows whose first cell is blank can be blank throughout
        part = chunk.iloc[maybe]
        blank = (part.isna() | part.apply(lambda s: s.str.strip() == "").fillna(False)).to_numpy().all(axis=1)
        if blank.any():
            chunk = chunk.drop(index=chunk.index[maybe[blank]]).reset_index(drop=True)
    if d.decimal == ",":
        canon = canonical_columns(chunk.columns)
        for col in chunk.columns:
            f = FIELD_BY_NAME.get(canon[col])
            if f is not None and f.kind in _NUMBER_KINDS:
                chunk[col] = dialect.french_numbers(chunk[col])
    return chunk


def text_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed cells (a workbook, Parquet) of the text fields as text: an id typed 123 is "123", not 123.0."""
    canon = canonical_columns(frame.columns)
    for col in frame.columns:
        f = FIELD_BY_NAME.get(canon[col])
        if f is not None and f.kind in _TEXT_KINDS and not isinstance(frame[col].dtype, pd.StringDtype):
            frame[col] = pd.Series(
                [_as_text(v) for v in frame[col].to_numpy(dtype=object)], index=frame.index, dtype=object
            )
    return frame


def _as_text(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v.item() if isinstance(v, np.generic) else v)


# --------------------------------------------------------------------------- writing


def safe_text(v: Any) -> Any:
    """The one formula rule of every spreadsheet output (cells and headers): text a spreadsheet would
    run as a formula (starting with =, +, -, @, tab or CR) gets a leading quote; a plain number
    written as text ("-5") is data and is left alone."""
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) and not re.match(PLAIN_NUMBER, v):
        return "'" + v
    return v


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """`safe_text` on every text cell and on the headers."""
    out = frame.rename(columns={c: safe_text(c) for c in frame.columns if isinstance(c, str)})
    for k in range(out.shape[1]):
        s = out.iloc[:, k]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            vals = s.to_numpy(dtype=object)
            risky = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in vals), bool, len(vals))
            if risky.any():
                vals = vals.copy()
                vals[risky] = [safe_text(v) for v in vals[risky]]
                out.isetitem(k, pd.Series(vals, index=out.index, dtype=object))
    return out


def csv_bytes(frame: pd.DataFrame, excel_fr: bool = False) -> bytes:
    """A frame as CSV bytes: UTF-8, `,`, decimal point, LF; or, for a French Excel, `;`, UTF-8 with BOM,
    decimal comma, CRLF. A text holding a line break is always quoted: Python's writer quotes only the
    line-end characters it writes itself, so a bare CR (LF output) makes every text cell quoted."""
    safe = neutralise_formulas(frame)
    has_cr = any(
        safe[c].map(lambda v: isinstance(v, str) and "\r" in v).any()
        for c in safe.columns
        if safe[c].dtype == object or pd.api.types.is_string_dtype(safe[c].dtype)
    )
    if excel_fr:
        text = safe.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
        return text.encode("utf-8-sig")
    quoting = csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL
    return safe.to_csv(index=False, lineterminator="\n", quoting=quoting).encode("utf-8")


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    import io as _io

    buf = _io.BytesIO()
    neutralise_formulas(frame).to_excel(buf, index=False, engine="openpyxl")
    return buf.getvalue()


def write_table(frame: pd.DataFrame, path: str | Path, *, excel_fr: bool = False) -> None:
    """Write a frame by extension; CSV and XLSX get the formula rule (`excel_fr`: the CSV a French Excel opens).

    The file is written beside its target and renamed when complete: a full disk leaves no half file.
    """
    s = suffix(path)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise SchemaError(key="folder_out", path=str(path))
        if s == ".csv":
            tmp.write_bytes(csv_bytes(frame, excel_fr))
        elif s == ".xlsx":
            tmp.write_bytes(xlsx_bytes(frame))
        elif s == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            from scoring.jsonform import to_json

            tmp.write_text(
                json.dumps([to_json(r) for r in frame.to_dict("records")], ensure_ascii=False, indent=1),
                encoding="utf-8",
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        with contextlib.suppress(OSError):  # nothing to remove where nothing could be written
            tmp.unlink(missing_ok=True)


def write_error(path: str | Path, exc: OSError) -> SchemaError:
    """One line for a failed write: what happened and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return SchemaError(key="disk_full", path=str(path))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return SchemaError(key="no_permission", path=str(path))
    return SchemaError(key="cannot_write", path=str(path), reason=exc.strerror or str(exc))
