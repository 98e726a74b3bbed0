"""Batch readers: a file of dossiers cut into jobs of consecutive rows, for the workers to parse.

This module owns how `scoring.batch` reads its input. A CSV file is scanned
for where its records end (a newline after an even number of quotes) without
parsing it: the parent sends each worker a byte span and the worker parses
the rows itself (`parse_job`). That scanner reads `,`-separated UTF-8 with LF
or CRLF ends; any other file, and any file it cannot decide (a stray quote, a
short or blank row, a byte that is not UTF-8), raises `Undecided`, and
`scoring.io`'s reader, streamed chunk by chunk (`stream_reader`), takes over,
so batch reads every file `validate` reads, with the same rows and values.
Parquet goes by Arrow record batches, a workbook through `scoring.io` whole.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from scoring import dialect
from scoring import io as files
from scoring.schema import SchemaError

CSV_BLOCK_BYTES = 4 << 20
MAX_RECORD_BYTES = 64 << 20  # a dossier is a few KB: a longer row is a quote left open, not data to hold


@dataclass
class Job:
    """Consecutive input rows: where they lie in a CSV file, an Arrow IPC stream or worksheet cells."""

    first_row: int
    rows: int
    span: tuple[int, int] | None = None  # (offset, length) of the rows' bytes in the CSV file
    ipc: bytes | None = None
    cells: pd.DataFrame | None = None


@dataclass
class Reader:
    schema: pa.Schema  # of the rows as Arrow; worksheet columns as text
    total: int | None  # rows, when the file says so up front
    jobs: Callable[[], Iterator[Job]]
    how: files.How = files.PARQUET_HOW  # how the file was read, as scoring.io words it (`io.said`)


def parse_job(source: Path, names: list[str], job: Job) -> pa.Table | None:
    """The rows of a job as Arrow text; None for worksheet cells, which travel as they are."""
    if job.ipc is not None:
        return pa.ipc.open_stream(job.ipc).read_all()
    if job.span is None:
        return None
    try:
        with open(source, "rb") as fh:  # read here, not sent by the parent: the bytes cross no pipe
            fh.seek(job.span[0])
            data = fh.read(job.span[1])
    except OSError as exc:
        raise SchemaError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    where = f"rows {job.first_row}-{job.first_row + job.rows - 1}"
    try:  # Python checks UTF-8 several times faster than Arrow's converter
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise Undecided(f"{where}: not UTF-8") from None
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=names, use_threads=False, block_size=len(data) + 1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=_text_columns(names),
        )
    except pa.ArrowInvalid as exc:
        raise Undecided(f"{where}: {files.first_line(exc)}") from None
    if table.num_rows != job.rows:
        raise Undecided(f"{where}: {table.num_rows} rows parsed where the scanner saw {job.rows}")
    if _has_blank_row(table):
        raise Undecided(f"{where}: a row of blank cells, which the reference reader leaves out")
    return table


class Undecided(Exception):
    """The fast CSV scanner cannot tell the file's rows as the reference reader does: that reader takes over."""


def _has_blank_row(table: pa.Table) -> bool:
    """Whether some row's cells are all empty or white space (only rows blank in the first column can be)."""

    def blank(col: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.equal(pc.utf8_trim_whitespace(col), "").fill_null(True)

    if not table.num_columns:
        return False
    rows = blank(table.column(0))
    if not pc.any(rows).as_py():
        return False
    for col in table.columns[1:]:
        rows = pc.and_(rows, blank(col))
    return bool(pc.any(rows).as_py())


def _text_columns(names: list[str]) -> pcsv.ConvertOptions:
    # text only: the validator types the cells and reports the ones that do not fit, with their row;
    # an empty cell is missing, a quoted empty one ("") is an empty text: both are blank to the validator
    return pcsv.ConvertOptions(
        column_types={n: pa.large_string() for n in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        check_utf8=False,
    )


def to_ipc(table: pa.Table) -> bytes:
    """Arrow IPC bytes: a sliced table travels with its rows only, not the buffers it was cut from."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def open_reader(path: Path, chunk_rows: int, read: files.ReadOptions) -> Reader:
    """The fast reader of a file (raises Undecided for a CSV its scanner does not read)."""
    kind = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            raise SchemaError(key="empty", path=str(path))
        if kind == ".csv":
            return _csv_reader(path, chunk_rows, read)
        if kind == ".parquet":
            return _parquet_reader(path, chunk_rows)
        table = files.read_file(path, read)  # a workbook is bounded (scoring.io's limits): read whole, every row
        return _frame_reader(lambda: iter([table.frame]), table.frame, len(table.frame), table.how, chunk_rows)
    except SchemaError as exc:
        raise exc.at(path) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{path}: cannot be read as {kind[1:].upper()} ({files.first_line(exc)})") from None


def stream_reader(path: Path, chunk_rows: int, read: files.ReadOptions) -> Reader:
    """`scoring.io`'s CSV reader, streamed: what `validate` reads, chunk by chunk."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        if not read.encoding:
            read = replace(read, encoding=dialect.file_encoding(path, head))
        d = files.detect_csv(head, read, whole=False)
        first = next(files.csv_frames(path, d, chunk_rows))
    except SchemaError as exc:
        raise exc.at(path) from None
    except dialect.DialectError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    except OSError as exc:
        raise SchemaError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return _frame_reader(lambda: files.csv_frames(path, d, chunk_rows), first, None, files.csv_how(d), chunk_rows)


def _frame_reader(
    frames: Callable[[], Iterator[pd.DataFrame]],
    first: pd.DataFrame,
    total: int | None,
    how: files.How,
    chunk_rows: int,
) -> Reader:
    """Jobs of worksheet cells from frames of rows (a workbook, or a CSV read by the reference reader)."""
    names = [str(c) for c in first.columns]

    def jobs() -> Iterator[Job]:
        at = 1
        for frame in frames():
            for k in range(0, len(frame), chunk_rows):
                part = frame.iloc[k : k + chunk_rows].astype(object)
                part = part.where(part.notna(), None).reset_index(drop=True)
                yield Job(at, len(part), cells=part)
                at += len(part)

    return Reader(pa.schema([(n, pa.large_string()) for n in names]), total, jobs, how)


def _csv_reader(path: Path, chunk_rows: int, read: files.ReadOptions) -> Reader:
    # the header is read here, the rows by the workers: the parent never holds parsed rows
    with open(path, "rb") as fh:
        sample = fh.read(1 << 16)
    try:
        d = files.detect_csv(sample, read, whole=False)
    except dialect.DialectError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    if not d.plain or not sample.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0].strip():
        raise Undecided("not a file the scanner reads")  # another dialect, or a blank first line
    records = Records(path)
    with open(path, "rb") as fh:
        while not len(records.ends) and records.feed(fh.read(1 << 16)):
            pass
    head = records.data[: records.ends[0]] if len(records.ends) else records.data
    try:
        names = files.header_names(next(csv.reader(io.StringIO(head.decode("utf-8-sig"))), []))
    except UnicodeDecodeError:
        raise Undecided("a header that is not UTF-8") from None
    return Reader(
        pa.schema([(n, pa.large_string()) for n in names]), None, lambda: _csv_jobs(path, chunk_rows), files.csv_how(d)
    )


class Records:
    """CSV bytes read so far and where their records end, found block by block.

    A newline ends a record when an even number of quotes precede it: a quoted
    value's own quotes are doubled, so only newlines inside values see an odd count.
    """

    def __init__(self, path: Path):
        self.path = path
        self.data = b""
        self.offset = 0  # where `data` starts in the file
        self.ends = np.zeros(0, np.int64)  # positions of record-ending newlines in `data`
        self.quoted = False  # whether `data` ends inside a quoted value

    def feed(self, more: bytes) -> bool:
        ends, quoted = _record_ends(np.frombuffer(more, np.uint8), self.quoted)
        self.ends = np.concatenate((self.ends, len(self.data) + ends))
        self.quoted = quoted
        self.data += more
        if len(self.data) - (self.ends[-1] + 1 if len(self.ends) else 0) > MAX_RECORD_BYTES:
            raise Undecided(f"a row longer than {MAX_RECORD_BYTES >> 20} MB: a quote the scanner misread?")
        return bool(more)

    def drop(self, n: int) -> None:
        self.data = self.data[n:]
        self.offset += n
        self.ends = self.ends[self.ends >= n] - n

    def rows(self) -> np.ndarray:
        """Ends of the records that are rows: empty lines are not (as for every CSV reader here)."""
        starts = np.concatenate(([0], self.ends[:-1] + 1))
        buf = np.frombuffer(self.data, np.uint8)
        cr = buf[np.minimum(starts, max(len(buf) - 1, 0))] == 0x0D if len(buf) else np.zeros(0, bool)
        empty = (self.ends == starts) | ((self.ends == starts + 1) & cr)
        return self.ends[~empty]


def _record_ends(buf: np.ndarray, quoted: bool) -> tuple[np.ndarray, bool]:
    """(positions of the newlines in `buf` that end a record, whether `buf` ends inside a quoted value).

    A newline ends a record when an even number of quotes precede it, counting
    from a record's start (`quoted`: whether `buf` starts inside a quoted value).
    """
    newlines = np.flatnonzero(buf == 0x0A)
    quotes = (buf == 0x22).view(np.uint8)
    ends, tail = newlines[:0], 0
    if len(newlines):
        # parity of the quotes in each line, then of all the quotes before each newline
        odd = np.bitwise_xor.reduceat(quotes[: newlines[-1] + 1], np.concatenate(([0], newlines[:-1] + 1)))
        before = np.bitwise_xor.accumulate(odd) ^ quoted
        ends, quoted, tail = newlines[before == 0], bool(before[-1]), newlines[-1] + 1
    return ends, quoted ^ bool(np.count_nonzero(quotes[tail:]) % 2)


def _csv_jobs(path: Path, chunk_rows: int) -> Iterator[Job]:
    """Cut the file's bytes into runs of `chunk_rows` rows; the workers parse them in parallel."""
    records = Records(path)
    first = 1
    header = True

    def runs(final: bool) -> Iterator[Job]:
        nonlocal first, header
        if header and len(records.ends):
            records.drop(int(records.ends[0]) + 1)  # the header record is not a row
            header = False
        rows = records.rows()
        k = cut = 0
        while not header and (len(rows) - k >= chunk_rows or (final and len(rows) > k)):
            take = min(chunk_rows, len(rows) - k)
            stop = int(rows[k + take - 1]) + 1
            yield Job(first, take, span=(records.offset + cut, stop - cut))
            first, k, cut = first + take, k + take, stop
        records.drop(cut)

    with open(path, "rb") as fh:
        while records.feed(fh.read(CSV_BLOCK_BYTES)):
            yield from runs(final=False)
    if records.data and not records.data.endswith(b"\n"):
        records.feed(b"\n")  # the last row may lack its newline (a span may then reach one byte past the end)
    yield from runs(final=True)
    if records.data.strip():
        raise Undecided(f"from row {first} on, a quoted value is never closed")


def _parquet_reader(path: Path, chunk_rows: int) -> Reader:
    pf = pq.ParquetFile(path)

    def jobs() -> Iterator[Job]:
        held: list[pa.Table] = []
        n_held = 0
        first = 1
        for batch in pf.iter_batches(batch_size=chunk_rows):
            held.append(pa.Table.from_batches([batch]))
            n_held += batch.num_rows
            while n_held >= chunk_rows:
                table = pa.concat_tables(held)
                yield Job(first, chunk_rows, ipc=to_ipc(table.slice(0, chunk_rows)))
                first += chunk_rows
                n_held -= chunk_rows
                held = [table.slice(chunk_rows)] if n_held else []
        if n_held:
            yield Job(first, n_held, ipc=to_ipc(pa.concat_tables(held)))

    return Reader(pf.schema_arrow, pf.metadata.num_rows, jobs)
