"""Batch writers: the output file of `scoring.batch`, appended chunk after chunk.

This module owns how a batch writes: CSV (plain, or as a French Excel opens
it) rendered in Arrow by the workers, Parquet from Arrow IPC, XLSX row by row
in a zip whose entries carry one fixed date so that a workbook's bytes depend
on its content only. Every spreadsheet cell and header goes through
`scoring.io`'s formula rule; `neutralise` applies it to Arrow columns without
copying a Python string per cell.
"""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from scoring import io as files
from scoring.io import FORMULA_PREFIXES, PLAIN_NUMBER
from scoring.schema import SchemaError

XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header included
_FORMULA_BYTE = np.zeros(256, bool)  # per first byte of a cell: a formula prefix (each is one ASCII byte)
_FORMULA_BYTE[np.frombuffer("".join(FORMULA_PREFIXES).encode(), np.uint8)] = True


def neutralise(table: pa.Table) -> pa.Table:
    """Quote text cells a spreadsheet would run as a formula (scoring.io's rule), in Arrow."""
    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = _starts_with_formula(col)
            if risky.any():
                risky &= ~pc.match_substring_regex(col, PLAIN_NUMBER).fill_null(False).to_numpy(zero_copy_only=False)
                quote, empty = pa.scalar("'", col.type), pa.scalar("", col.type)
                col = pc.if_else(pa.array(risky), pc.binary_join_element_wise(quote, col, empty), col)
        cols.append(col)
    return pa.table(cols, schema=table.schema)


def csv_bytes(table: pa.Table, excel_fr: bool = False) -> bytes:
    """The table's rows as CSV, without a header (`excel_fr`: `;` and decimal commas)."""
    if excel_fr:
        table = _decimal_comma(table)
    sink = pa.BufferOutputStream()
    options = pcsv.WriteOptions(include_header=False, delimiter=";" if excel_fr else ",")
    with pcsv.CSVWriter(sink, table.schema, write_options=options) as w:
        for batch in table.to_batches():
            if batch.num_rows:  # pyarrow 26 writes garbage for an empty batch when there is no header
                w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _decimal_comma(table: pa.Table) -> pa.Table:
    """Float columns as text with a decimal comma (Arrow's writer has no decimal option)."""
    cols, fields = [], []
    for field, col in zip(table.schema, table.columns):
        if pa.types.is_floating(field.type):
            col = pc.replace_substring(pc.cast(col, pa.large_string()), ".", ",")
            field = pa.field(field.name, pa.large_string())
        cols.append(col)
        fields.append(field)
    return pa.table(cols, schema=pa.schema(fields))


def _starts_with_formula(col: pa.ChunkedArray) -> np.ndarray:
    """Per cell, whether its text starts with a formula character, read from the first byte in place.

    Arrow's own kernels would first copy every cell's first character into a new array;
    on a wide CSV that copy was a tenth of the batch's time.
    """
    parts = [np.zeros(0, bool)]
    for chunk in col.chunks:
        if not len(chunk):
            continue
        _, offsets, data = chunk.buffers()
        width = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
        at = np.frombuffer(offsets, width, len(chunk) + 1, chunk.offset * width.itemsize)
        chars = np.frombuffer(data, np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
        risky = (at[1:] > at[:-1]) & _FORMULA_BYTE[chars[np.minimum(at[:-1], len(chars) - 1)]]
        if chunk.null_count:
            risky &= chunk.is_valid().to_numpy(zero_copy_only=False)
        parts.append(risky)
    return np.concatenate(parts)


def safe_cell(v: Any) -> Any:
    """One worksheet cell: the formula rule (`scoring.io.safe_text`), and no NaN (a workbook cannot hold one)."""
    if isinstance(v, str):
        return files.safe_text(v)
    if isinstance(v, float) and v != v:
        return None
    return v


class _Writer:
    """Appends what a worker rendered, chunk after chunk, to one output file."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, payload: Any) -> None:
        """Append one chunk as `scoring.batch` rendered it for this format (bytes, or rows of cells)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _CsvWriter(_Writer):
    def __init__(self, path: Path, output: pa.Schema, excel_fr: bool):
        super().__init__(path)
        self.out = open(path, "wb")
        # the header under the formula rule too: a column named "=HYPERLINK(...)" is text, not a live formula
        header = pa.schema([(files.safe_text(f.name), f.type) for f in output]).empty_table()
        if excel_fr:
            self.out.write(codecs.BOM_UTF8)
        pcsv.write_csv(header, self.out, pcsv.WriteOptions(delimiter=";" if excel_fr else ","))

    def write(self, payload: bytes) -> None:
        self.out.write(payload)

    def close(self) -> None:
        self.out.close()


class _ParquetWriter(_Writer):
    def __init__(self, path: Path, output: pa.Schema, excel_fr: bool):
        super().__init__(path)
        self.out = pq.ParquetWriter(path, output)

    def write(self, payload: bytes) -> None:
        self.out.write_table(pa.ipc.open_stream(payload).read_all())

    def close(self) -> None:
        self.out.close()


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry one date: a workbook's bytes then depend on its content only."""

    DATE = (1980, 1, 1, 0, 0, 0)
    DATE_TIME = dt.datetime(*DATE)

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename, arcname=None, *args, **kwargs):
        with open(filename, "rb") as src, self.open(self._info(arcname or filename), "w") as out:
            while block := src.read(1 << 20):
                out.write(block)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(str(name), self.DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info


class _XlsxWriter(_Writer):
    def __init__(self, path: Path, output: pa.Schema, excel_fr: bool):
        super().__init__(path)
        import openpyxl

        self.book = openpyxl.Workbook(write_only=True)
        self.book.properties.created = self.book.properties.modified = _FixedTimeZip.DATE_TIME  # not the run's time
        self.sheet = self.book.create_sheet("scores")
        self.sheet.append([files.safe_text(n) for n in output.names])
        self.rows = 1

    def write(self, payload: list) -> None:
        self.rows += len(payload)
        if self.rows > XLSX_MAX_ROWS:
            raise SchemaError(
                f"more than {XLSX_MAX_ROWS - 1:,} rows do not fit in a worksheet; write the output as .csv or .parquet"
            )
        for row in payload:
            self.sheet.append(row)

    def close(self) -> None:
        from openpyxl.writer.excel import ExcelWriter

        # openpyxl's own save stamps the time into the file; its writer on a fixed-date zip does not
        ExcelWriter(self.book, _FixedTimeZip(self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()


def open_writer(path: Path, sink: str, output: pa.Schema, excel_fr: bool = False) -> _Writer:
    """A writer of `output`'s columns to `path` as `sink` (".csv", ".parquet", ".xlsx"); `excel_fr`: a CSV
    as a French Excel opens it."""
    return {".csv": _CsvWriter, ".parquet": _ParquetWriter, ".xlsx": _XlsxWriter}[sink](path, output, excel_fr)
