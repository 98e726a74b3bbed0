"""Portfolio scoring: every row of a CSV, XLSX or Parquet file, streamed file to file.

`score_frame` scores one in-memory table (the portfolio page uses it);
`run_batch` streams a file through it chunk by chunk, so memory stays flat
whatever the file size, and writes every input row, in order, with all its
columns, followed by the columns of `output_columns()`.

The hot path holds no Python object per row: validation, rubric and model
are vectorised over the chunk (coded columns are checked by one lookup per
cell or on their distinct values, the log-odds come from coefficient lookups
without a design matrix unless explanations need it), and the best window
comes from the model's structure rather than from re-scoring the chunk under
each window. The
model is additive in log-odds and a window enters it only through its
one-hot column and the criterion x window slopes, so a dossier's log-odds
under any window is its log-odds under its own window plus the difference
of those few terms: one (n, 6) x (6, windows) product per model.

Worker processes (one per core) read, parse, score and render the chunks;
the parent only finds where runs of rows start and end in a CSV file (the
bytes themselves never cross a pipe) and appends the rendered runs in
order. The output depends on the input, the model, the chunk size and the
day only (validation refuses future years and dates), never on the number
of workers or on timing.
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import io
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import zipfile
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from scipy.special import expit

from scoring.explain import contributions
from scoring.features import INPUTS
from scoring.io import FORMULA_PREFIXES
from scoring.reference import RULES, eligibility_codes
from scoring.rubric import score_table
from scoring.schema import CRITERIA, SchemaError, code_index, codes, validate_frame

SUFFIXES = (".csv", ".xlsx", ".parquet")
CHUNK_ROWS = 20_000  # per-chunk costs paid 50 times per million rows; a worker's working set ~100 MB
CHUNK_ROWS_EXPLAIN = 10_000  # explanations hold the design matrix and the contributions: ~3x the bytes a row
CSV_BLOCK_BYTES = 4 << 20
MAX_RECORD_BYTES = 64 << 20  # a dossier is a few KB: a longer row is a quote left open, not data to hold
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header included
CRITERION_COLUMNS = tuple(f"criterion_{c}" for c in CRITERIA)
PROBABILITY_COLUMNS = ("p_labeled", "p_funded", "p_success")
WINDOW_COLUMNS = ("best_window", "best_window_p_success")
TARGETS = ("labeled", "success")
N_REASONS = 3
_TEXT_COLUMNS = {"status", "error", "best_window"} | {f"reason_{k}" for k in range(1, N_REASONS + 1)}
_FORMULA_BYTE = np.zeros(256, bool)  # per first byte of a cell: a formula prefix (each is one ASCII byte)
_FORMULA_BYTE[np.frombuffer("".join(FORMULA_PREFIXES).encode(), np.uint8)] = True
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"  # "-5" is data to a spreadsheet, not a formula


def output_columns(explain: bool = False) -> tuple[str, ...]:
    """The columns a batch adds after the input's own, in order."""
    cols = ("status", "error") + CRITERION_COLUMNS + PROBABILITY_COLUMNS + WINDOW_COLUMNS
    if explain:
        cols += tuple(f"reason_{k}" for k in range(1, N_REASONS + 1))
        for target in TARGETS:
            cols += (f"base_{target}",) + tuple(f"contrib_{target}__{name}" for name in INPUTS)
    return cols


def output_schema(explain: bool = False) -> pa.Schema:
    return pa.schema([(c, pa.string() if c in _TEXT_COLUMNS else pa.float64()) for c in output_columns(explain)])


# --------------------------------------------------------------------------- one chunk

def score_frame(raw: pd.DataFrame, bundle, explain: bool = False, *, first_row: int = 1,
                today: dt.date | None = None) -> pd.DataFrame:
    """Every row of `raw` with its own columns, then the batch columns (see `output_columns`).

    Invalid rows are kept with status "error" and the reason; `first_row` is
    the 1-based number of raw's first row in its file, for those reasons.
    Raises SchemaError when a required column is absent.
    """
    out = _score_columns(raw, bundle.model, explain, first_row, today)
    kept = raw.drop(columns=[c for c in raw.columns if c in out])  # a re-scored output gets fresh results
    return pd.concat([kept, pd.DataFrame(out, index=raw.index)], axis=1)


def _score_columns(raw: pd.DataFrame, model, explain: bool, first_row: int, today: dt.date | None
                   ) -> dict[str, np.ndarray]:
    v = validate_frame(raw, first_row=first_row, today=today)
    ok = v.ok
    reasons = v.reasons()
    reasons[ok] = None
    out: dict[str, np.ndarray] = {"status": np.where(ok, "ok", "error").astype(object), "error": reasons}
    frame = v.frame if ok.all() else v.frame[ok].reset_index(drop=True)
    scored = _score_valid(frame, model, explain) if len(frame) else {}
    for name in output_columns(explain)[2:]:
        text = name in _TEXT_COLUMNS
        col = np.full(len(ok), None if text else np.nan, dtype=object if text else float)
        if name in scored:
            col[ok] = scored[name]
        out[name] = col
    return out


def _score_valid(frame: pd.DataFrame, model, explain: bool) -> dict[str, np.ndarray]:
    """Batch columns of valid rows: `CEPModel.predict`'s arithmetic, its log-odds reused for the windows."""
    table = score_table(frame)
    z_lab, z_f1 = model.logits(frame, table.score)
    pred = model.probabilities(z_lab, z_f1, table)
    out = dict(zip(CRITERION_COLUMNS, table.score.T))
    out.update(p_labeled=pred.labeled, p_funded=pred.funded, p_success=pred.success)
    out["best_window"], out["best_window_p_success"] = _best_window(model, frame, table.score, z_lab, z_f1)
    if explain:  # contributions need the design matrix; the probabilities never do
        out.update(_explanations(model, frame, model.matrices(frame, table)))
    return out


def _window_terms(design, coef: np.ndarray, windows: tuple[str, ...]) -> np.ndarray:
    """(1 + criteria, windows): log-odds a window adds, as a constant and per criterion score point."""
    fw = design.inputs.index("funding_window")
    terms = np.zeros((1 + len(CRITERIA), len(windows)))
    for j, name in enumerate(design.names):
        level = name.split("=", 1)[-1]  # "funding_window=anr", "scientific_quality*funding_window=anr"
        if design.owner[j] == fw and name.startswith("funding_window="):
            terms[0, windows.index(level)] += coef[j]
        elif design.partner[j] == fw and design.u_src[j] >= 0:
            terms[1 + design.u_src[j], windows.index(level)] += coef[j]
        elif fw in (design.owner[j], design.partner[j]):
            raise NotImplementedError(f"design column {name!r} uses the window in a way batch windows do not know")
    return terms


def _best_window(model, frame: pd.DataFrame, scores: np.ndarray, z_lab: np.ndarray, z_f1: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the eligible window with the highest P(success) and that probability (None, NaN if none).

    Same choice as the first eligible row of `CEPModel.window_matrix`, ties to the catalogue order.
    """
    windows = codes()["funding_window"]
    n = len(frame)
    u = np.column_stack([np.ones(n), np.nan_to_num(scores, nan=0.0)])
    own = code_index(frame["funding_window"], "funding_window")
    rows = np.arange(n)
    z = []
    for cal, design, z_own in ((model.label_, model.label_design_, z_lab), (model.fund_, model.fund_design_, z_f1)):
        d = u @ _window_terms(design, cal.model.coef_, windows)
        z.append(z_own[:, None] + cal.platt.a * (d - d[rows, own][:, None]))
    success = expit(z[0]) * expit(z[1])
    eligible = eligibility_codes(frame, windows) == len(RULES)
    ranked = np.where(eligible, success, -np.inf)
    best = ranked.argmax(axis=1)
    has = eligible.any(axis=1)
    names = np.array(windows, dtype=object)[best]
    names[~has] = None
    return names, np.where(has, success[rows, best], np.nan)


def _explanations(model, frame: pd.DataFrame, matrices) -> dict[str, np.ndarray]:
    """Exact contributions to both probabilities, and the three inputs that move P(success) the most."""
    c = contributions(model, frame, matrices=matrices)
    out: dict[str, np.ndarray] = {}
    for target in TARGETS:
        base, values = c[target]
        out[f"base_{target}"] = base
        out.update((f"contrib_{target}__{name}", values[:, k]) for k, name in enumerate(c["inputs"]))
    values = c["success"][1]
    top = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :N_REASONS]
    names = np.array(c["inputs"], dtype=object)[top]
    amounts = np.char.mod("%+.3f", np.take_along_axis(values, top, axis=1)).astype(object)
    text = names + ": " + amounts
    out.update((f"reason_{k + 1}", text[:, k]) for k in range(N_REASONS))
    return out


# --------------------------------------------------------------------------- file to file

@dataclass(frozen=True)
class Summary:
    """What a batch did: rows written, rows in error, wall time."""

    rows: int
    errors: int
    seconds: float
    output: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"{self.rows:,} rows scored, {self.errors:,} in error, in {self.seconds:.1f} s "
                f"({self.rows_per_s:,.0f} rows/s) -> {self.output}")


def run_batch(input_path: str | Path, output_path: str | Path, bundle, explain: bool = False,
              chunk_rows: int | None = None, progress: Callable[[int, int | None], None] | None = None,
              workers: int | None = None) -> Summary:
    """Score a file of dossiers into another, by extension (CSV, XLSX, Parquet), chunk by chunk.

    `progress(rows_done, rows_total_or_None)` is called after each chunk.
    `chunk_rows` defaults to CHUNK_ROWS (CHUNK_ROWS_EXPLAIN with explanations).
    `workers` defaults to one process per usable core. The output is written to a
    temporary file beside `output_path` and renamed when complete, so a
    failed or interrupted run never leaves half a file (a killed one leaves the
    temporary file, which the next run to the same output replaces or removes);
    on any exception the workers are killed at once. Raises SchemaError for a file-level
    problem (unreadable, empty, a required column missing).
    """
    start = time.perf_counter()
    src, dst = Path(input_path), Path(output_path)
    for p in (src, dst):
        if p.suffix.lower() not in SUFFIXES:
            raise SchemaError(f"{p}: unsupported file type {p.suffix or '(none)'!r}; use {', '.join(SUFFIXES)}")
    if not src.is_file():
        raise SchemaError(f"{src}: no such file")
    if dst.exists() and dst.resolve() == src.resolve():
        raise SchemaError(f"{dst}: the output would overwrite the input; choose another file")
    tmp = dst.with_name(f".{dst.name}.partial")  # or a killed run's leftover: this run replaces or removes it
    done = errors = 0
    try:
        reader = _open_reader(src, chunk_rows or (CHUNK_ROWS_EXPLAIN if explain else CHUNK_ROWS))
        plan = _Plan(bundle.model, explain, dt.date.today(), src, dst.suffix.lower(), reader.schema)
        dst.parent.mkdir(parents=True, exist_ok=True)
        with _open_writer(tmp, plan) as writer, _Scorer(plan, workers or _cores()) as scorer:
            for rows, (payload, n_errors) in scorer.map(reader.jobs()):
                writer.write(payload)
                done += rows
                errors += n_errors
                if progress:
                    progress(done, reader.total)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return Summary(done, errors, time.perf_counter() - start, str(dst))


def _cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class _Plan:
    """What every chunk of one run shares: the model, the options, the input's and output's layout."""

    model: Any
    explain: bool
    today: dt.date  # once per run: a batch running past midnight validates every row against one day
    source: Path
    sink: str
    schema: pa.Schema  # of the input rows as Arrow

    def __post_init__(self) -> None:
        header = _score_columns(pd.DataFrame(columns=self.schema.names), self.model, self.explain, 1, self.today)
        self.kept = [i for i, name in enumerate(self.schema.names) if name not in header]
        self.outputs = output_schema(self.explain)
        self.output = pa.schema([self.schema.field(i) for i in self.kept] + list(self.outputs))


@dataclass
class _Job:
    """Consecutive input rows: where they lie in a CSV file, an Arrow IPC stream or worksheet cells."""

    first_row: int
    rows: int
    span: tuple[int, int] | None = None  # (offset, length) of the rows' bytes in the CSV file
    ipc: bytes | None = None
    cells: pd.DataFrame | None = None


def _run_job(plan: _Plan, job: _Job) -> tuple[bytes | list, int]:
    """Parse, validate, score and render one chunk: (what the writer appends, rows in error)."""
    table = _parse_job(plan, job)
    raw = job.cells if job.cells is not None else table.to_pandas()
    out = _score_columns(raw, plan.model, plan.explain, job.first_row, plan.today)
    outputs = pa.table([pa.array(out[f.name], type=f.type, from_pandas=True) for f in plan.outputs],
                       schema=plan.outputs)
    n_errors = int((out["status"] == "error").sum())
    if plan.sink == ".xlsx":
        cells = [table.column(i).to_pylist() for i in plan.kept] if table is not None else \
            [job.cells.iloc[:, i].tolist() for i in plan.kept]
        cols = cells + [col.to_pylist() for col in outputs.columns]
        return [[_safe_cell(v) for v in row] for row in zip(*cols)], n_errors
    if table is None:  # worksheet cells have no column type: CSV and Parquet get their text
        table = pa.table([pa.array([None if v is None else str(v) for v in job.cells[c]], pa.large_string())
                          for c in job.cells.columns], schema=plan.schema)
    full = pa.table([table.column(i) for i in plan.kept] + outputs.columns, schema=plan.output)
    if plan.sink == ".csv":
        return _csv_bytes(_neutralise(full)), n_errors
    return _to_ipc(full), n_errors


def _parse_job(plan: _Plan, job: _Job) -> pa.Table | None:
    if job.ipc is not None:
        return pa.ipc.open_stream(job.ipc).read_all()
    if job.span is None:
        return None
    with open(plan.source, "rb") as fh:  # read here, not sent by the parent: the bytes cross no pipe
        fh.seek(job.span[0])
        data = fh.read(job.span[1])
    where = f"{plan.source}: rows {job.first_row}-{job.first_row + job.rows - 1}"
    try:  # Python checks UTF-8 several times faster than Arrow's converter
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemaError(f"{where}: not UTF-8 text; save the file as CSV UTF-8") from None
    try:
        table = pcsv.read_csv(pa.py_buffer(data), read_options=pcsv.ReadOptions(
            column_names=plan.schema.names, use_threads=False, block_size=len(data) + 1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True), convert_options=_as_text(plan.schema.names))
    except pa.ArrowInvalid as exc:
        raise SchemaError(f"{where}: {_first_line(exc)}") from None
    if table.num_rows != job.rows:
        raise SchemaError(f"{where} could not be told apart; end lines with \\n or \\r\\n and close every quoted value")
    return table


def _as_text(names: list[str]) -> pcsv.ConvertOptions:
    # text only: the validator types the cells and reports the ones that do not fit, with their row;
    # an empty cell is missing, a quoted empty one ("") is an empty text: both are blank to the validator
    return pcsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, null_values=[""],
                               strings_can_be_null=True, quoted_strings_can_be_null=False, check_utf8=False)


def _to_ipc(table: pa.Table) -> bytes:
    """Arrow IPC bytes: a sliced table travels with its rows only, not the buffers it was cut from."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


# ---------------------------------------------------------------- scoring in worker processes

_worker_plan: list[_Plan] = []
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _init_worker(plan: _Plan, parent: int) -> None:
    from threadpoolctl import threadpool_limits

    _die_with_parent(parent)
    # the parent settles interruptions and kills its workers: a Ctrl-C sent to the whole process
    # group is its to handle, and a handler forked from the parent has no business running here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threadpool_limits(1)  # one process per core already; BLAS threads on top would only contend
    _reuse_freed_memory()
    _worker_plan[:] = [plan]


def _die_with_parent(parent: int) -> None:
    """End this worker when the process that runs the batch ends, however it ends (SIGKILL included).

    Orphaned, a worker would wait for jobs forever: it holds the job queue's write end itself,
    so the queue never reports the parent gone.
    """
    if sys.platform == "linux":
        # The kernel sends the signal when the thread that forked this worker ends. Under fork,
        # ProcessPoolExecutor forks every worker at the first submit, in the caller's thread: the
        # one running run_batch, which shuts the pool down before it returns.
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent ended before prctl: no signal will come
            os._exit(1)
        return
    # spawned workers: the sentinel multiprocessing gives a child becomes ready when its parent ends
    def watch() -> None:
        multiprocessing.parent_process().join()
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _reuse_freed_memory() -> None:
    """glibc: serve a chunk's large arrays from the heap and keep the pages when they are freed.

    By default each design matrix is a fresh mapping whose pages fault in one by one and are
    returned on free; on a VM that cost a third of the model's time. The next chunk now reuses
    the last one's pages, so memory is flat at one chunk's working set.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: its defaults stand
        return
    libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD, glibc's ceiling on 64-bit
    libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD


def _worker_job(job: _Job) -> tuple[bytes | list, int]:
    return _run_job(_worker_plan[0], job)


class _Scorer:
    """Runs jobs in order: inline with one worker, else in a process pool a few jobs ahead."""

    def __init__(self, plan: _Plan, workers: int):
        self.plan = plan
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.limits = None

    def __enter__(self) -> "_Scorer":
        if self.workers > 1:
            # fork shares the loaded model and modules at no cost; elsewhere spawn is the safe default
            ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
            self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                            initargs=(self.plan, os.getpid()))
        else:
            from threadpoolctl import threadpool_limits

            self.limits = threadpool_limits(1)  # the workers' single BLAS thread, hence their very bits
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self.pool:
            if exc_type is not None:
                # an error or an interruption: nothing more will be written, so the chunks in
                # hand are not worth waiting for (Python 3.11 has no public way to stop workers)
                for process in list(self.pool._processes.values()):
                    process.kill()
                # A worker killed while sending its result leaves half a message in the pipe, which
                # the pool's thread would wait on forever: with the parent's write end closed too,
                # the dead workers' were the last ones, and that wait ends at end of file.
                self.pool._result_queue._writer.close()
            self.pool.shutdown(cancel_futures=True)
        if self.limits:
            self.limits.restore_original_limits()

    def map(self, jobs: Iterator[_Job]) -> Iterator[tuple[int, tuple[bytes | list, int]]]:
        """(rows, what `_run_job` returned) per job, in input order."""
        if self.pool is None:
            for job in jobs:
                yield job.rows, _run_job(self.plan, job)
            return
        pending: deque = deque()
        for job in jobs:
            pending.append((job.rows, self.pool.submit(_worker_job, job)))
            if len(pending) > self.workers:  # one job queued per worker: busy workers, flat memory
                rows, fut = pending.popleft()
                yield rows, fut.result()
        while pending:
            rows, fut = pending.popleft()
            yield rows, fut.result()


# --------------------------------------------------------------------------- readers

@dataclass
class _Reader:
    schema: pa.Schema  # of the rows as Arrow; worksheet columns as text
    total: int | None  # rows, when the file says so up front
    jobs: Callable[[], Iterator[_Job]]


def _open_reader(path: Path, chunk_rows: int) -> _Reader:
    kind = path.suffix.lower()
    if path.stat().st_size == 0:
        raise SchemaError(f"{path}: the file is empty; a batch file needs at least its header row")
    try:
        if kind == ".csv":
            return _csv_reader(path, chunk_rows)
        if kind == ".parquet":
            return _parquet_reader(path, chunk_rows)
        return _xlsx_reader(path, chunk_rows)
    except (pa.ArrowInvalid, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise SchemaError(f"{path}: cannot be read as {kind[1:].upper()} ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv_reader(path: Path, chunk_rows: int) -> _Reader:
    # the header is read here, the rows by the workers: the parent never holds parsed rows
    records = _Records(path)
    with open(path, "rb") as fh:
        while not len(records.ends) and records.feed(fh.read(1 << 16)):
            pass
    head = records.data[:records.ends[0]] if len(records.ends) else records.data
    try:
        names = next(csv.reader(io.StringIO(head.decode("utf-8-sig"))), [])
    except UnicodeDecodeError:
        raise SchemaError(f"{path}: not UTF-8 text; save the file as CSV UTF-8") from None
    return _Reader(pa.schema([(n, pa.large_string()) for n in names]), None, lambda: _csv_jobs(path, chunk_rows))


class _Records:
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
            raise SchemaError(f"{self.path}: a row longer than {MAX_RECORD_BYTES >> 20} MB; "
                              "a quoted value is probably never closed")
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
        odd = np.bitwise_xor.reduceat(quotes[:newlines[-1] + 1], np.concatenate(([0], newlines[:-1] + 1)))
        before = np.bitwise_xor.accumulate(odd) ^ quoted
        ends, quoted, tail = newlines[before == 0], bool(before[-1]), newlines[-1] + 1
    return ends, quoted ^ bool(np.count_nonzero(quotes[tail:]) % 2)


def _csv_jobs(path: Path, chunk_rows: int) -> Iterator[_Job]:
    """Cut the file's bytes into runs of `chunk_rows` rows; the workers parse them in parallel."""
    records = _Records(path)
    first = 1
    header = True

    def runs(final: bool) -> Iterator[_Job]:
        nonlocal first, header
        if header and len(records.ends):
            records.drop(int(records.ends[0]) + 1)  # the header record is not a row
            header = False
        rows = records.rows()
        k = cut = 0
        while not header and (len(rows) - k >= chunk_rows or (final and len(rows) > k)):
            take = min(chunk_rows, len(rows) - k)
            stop = int(rows[k + take - 1]) + 1
            yield _Job(first, take, span=(records.offset + cut, stop - cut))
            first, k, cut = first + take, k + take, stop
        records.drop(cut)

    with open(path, "rb") as fh:
        while records.feed(fh.read(CSV_BLOCK_BYTES)):
            yield from runs(final=False)
    if records.data and not records.data.endswith(b"\n"):
        records.feed(b"\n")  # the last row may lack its newline (a span may then reach one byte past the end)
    yield from runs(final=True)
    if records.data.strip():
        raise SchemaError(f"{path}: from row {first} on, a quoted value is never closed")


def _parquet_reader(path: Path, chunk_rows: int) -> _Reader:
    pf = pq.ParquetFile(path)

    def jobs() -> Iterator[_Job]:
        held: list[pa.Table] = []
        n_held = 0
        first = 1
        for batch in pf.iter_batches(batch_size=chunk_rows):
            held.append(pa.Table.from_batches([batch]))
            n_held += batch.num_rows
            while n_held >= chunk_rows:
                table = pa.concat_tables(held)
                yield _Job(first, chunk_rows, ipc=_to_ipc(table.slice(0, chunk_rows)))
                first += chunk_rows
                n_held -= chunk_rows
                held = [table.slice(chunk_rows)] if n_held else []
        if n_held:
            yield _Job(first, n_held, ipc=_to_ipc(pa.concat_tables(held)))

    return _Reader(pf.schema_arrow, pf.metadata.num_rows, jobs)


def _xlsx_reader(path: Path, chunk_rows: int) -> _Reader:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    cells = list(next(ws.iter_rows(max_row=1, values_only=True), None) or ())
    while cells and cells[-1] is None:
        cells.pop()
    if not cells:
        raise SchemaError(f"{path}: the first worksheet has no header row")
    names = [str(h).strip() if h is not None else f"Unnamed: {i}" for i, h in enumerate(cells)]
    width = len(names)

    def frame(rows: list[tuple]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=names, dtype=object)

    def jobs() -> Iterator[_Job]:
        rows: list[tuple] = []
        blank = 0  # empty rows are held back: trailing ones are formatting, not dossiers
        first = 1
        try:
            for row in ws.iter_rows(min_row=2, values_only=True):
                row = tuple(row[:width]) + (None,) * (width - len(row))
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    blank += 1
                    continue
                rows.extend([(None,) * width] * blank + [row])
                blank = 0
                while len(rows) >= chunk_rows:
                    yield _Job(first, chunk_rows, cells=frame(rows[:chunk_rows]))
                    first += chunk_rows
                    rows = rows[chunk_rows:]
            if rows:
                yield _Job(first, len(rows), cells=frame(rows))
        finally:
            wb.close()

    return _Reader(pa.schema([(n, pa.large_string()) for n in names]), max((ws.max_row or 1) - 1, 0), jobs)


# --------------------------------------------------------------------------- writers

def _neutralise(table: pa.Table) -> pa.Table:
    """Quote text cells a spreadsheet would run as a formula (scoring.io's rule), in Arrow."""
    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = _starts_with_formula(col)
            if risky.any():
                risky &= ~pc.match_substring_regex(col, _PLAIN_NUMBER).fill_null(False).to_numpy(zero_copy_only=False)
                quote, empty = pa.scalar("'", col.type), pa.scalar("", col.type)
                col = pc.if_else(pa.array(risky), pc.binary_join_element_wise(quote, col, empty), col)
        cols.append(col)
    return pa.table(cols, schema=table.schema)


def _csv_bytes(table: pa.Table) -> bytes:
    """The table's rows as CSV, without a header."""
    sink = pa.BufferOutputStream()
    with pcsv.CSVWriter(sink, table.schema, write_options=pcsv.WriteOptions(include_header=False)) as w:
        for batch in table.to_batches():
            if batch.num_rows:  # pyarrow 26 writes garbage for an empty batch when there is no header
                w.write_batch(batch)
    return sink.getvalue().to_pybytes()


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


def _safe_cell(v: Any) -> Any:
    """One worksheet cell: `_neutralise`'s rule, and no NaN (a workbook cannot hold one)."""
    if isinstance(v, str):
        return "'" + v if v.startswith(FORMULA_PREFIXES) and not re.match(_PLAIN_NUMBER, v) else v
    if isinstance(v, float) and v != v:
        return None
    return v


class _Writer:
    """Appends what `_run_job` rendered, chunk after chunk, to one output file."""

    def __init__(self, path: Path, plan: _Plan):
        self.path = path
        self.plan = plan

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _CsvWriter(_Writer):
    def __init__(self, path: Path, plan: _Plan):
        super().__init__(path, plan)
        self.out = open(path, "wb")
        pcsv.write_csv(plan.output.empty_table(), self.out)

    def write(self, payload: bytes) -> None:
        self.out.write(payload)

    def close(self) -> None:
        self.out.close()


class _ParquetWriter(_Writer):
    def __init__(self, path: Path, plan: _Plan):
        super().__init__(path, plan)
        self.out = pq.ParquetWriter(path, plan.output)

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
    def __init__(self, path: Path, plan: _Plan):
        super().__init__(path, plan)
        import openpyxl

        self.book = openpyxl.Workbook(write_only=True)
        self.book.properties.created = self.book.properties.modified = _FixedTimeZip.DATE_TIME  # not the run's time
        self.sheet = self.book.create_sheet("scores")
        self.sheet.append(plan.output.names)
        self.rows = 1

    def write(self, payload: list) -> None:
        self.rows += len(payload)
        if self.rows > XLSX_MAX_ROWS:
            raise SchemaError(f"more than {XLSX_MAX_ROWS - 1:,} rows do not fit in a worksheet; "
                              "write the output as .csv or .parquet")
        for row in payload:
            self.sheet.append(row)

    def close(self) -> None:
        from openpyxl.writer.excel import ExcelWriter

        # openpyxl's own save stamps the time into the file; its writer on a fixed-date zip does not
        ExcelWriter(self.book, _FixedTimeZip(self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()


def _open_writer(path: Path, plan: _Plan) -> _Writer:
    return {".csv": _CsvWriter, ".parquet": _ParquetWriter, ".xlsx": _XlsxWriter}[plan.sink](path, plan)
