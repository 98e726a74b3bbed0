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
order. That fast scanner reads `,`-separated UTF-8 with LF or CRLF ends;
any other file, and any file it cannot decide (a stray quote, a short or
blank row, a byte that is not UTF-8), is read by `scoring.io`'s reader,
streamed chunk by chunk, so batch reads every file `validate` reads, with
the same rows and values. A `dossier_id` on rows of different chunks is
found when every chunk is done; the file is then scored again with those
ids known, so that each of their rows is flagged as `validate` flags it. The output depends on the input, the model, the chunk size and the
day only (validation refuses future years and dates), never on the number
of workers or on timing.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import ctypes
import datetime as dt
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
import zipfile
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from scipy.special import expit

from scoring.explain import contributions
from scoring import dialect
from scoring import io as files
from scoring.io import FORMULA_PREFIXES, PLAIN_NUMBER
from scoring import consistency, eligibility
from scoring.rubric import score_table
from scoring.catalogue import CRITERIA, codes
from scoring.fields import code_index
from scoring.schema import SchemaError, canonical_columns, validate_frame

SUFFIXES = (".csv", ".xlsx", ".parquet")
CHUNK_ROWS = 20_000  # per-chunk costs paid 50 times per million rows; a worker's working set ~100 MB
CHUNK_ROWS_EXPLAIN = 10_000  # explanations hold the design matrix and the contributions: ~3x the bytes a row
CSV_BLOCK_BYTES = 4 << 20
MAX_RECORD_BYTES = 64 << 20  # a dossier is a few KB: a longer row is a quote left open, not data to hold
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header included
CRITERION_COLUMNS = tuple(f"criterion_{c}" for c in CRITERIA)
PROBABILITY_COLUMNS = ("p_labeled", "p_funded", "p_success")
# the target window's verdict (scoring.eligibility): 1/0, and the codes of the rules broken, ';'-joined
ELIGIBILITY_COLUMNS = ("eligible", "eligibility_reason")
WARNING_COLUMNS = ("warnings",)  # codes of the suspicious answers (scoring.consistency), ';'-joined
WINDOW_COLUMNS = ("best_window", "best_window_p_success")
TARGETS = ("labeled", "success")
N_REASONS = 3
INTERVAL_COLUMNS = tuple(f"p_{t}_{side}" for t in TARGETS for side in ("low", "high"))  # the 80% interval
_TEXT_COLUMNS = {"status", "error", "eligibility_reason", "best_window", "warnings"} | {
    f"reason_{k}" for k in range(1, N_REASONS + 1)}
_FORMULA_BYTE = np.zeros(256, bool)  # per first byte of a cell: a formula prefix (each is one ASCII byte)
_FORMULA_BYTE[np.frombuffer("".join(FORMULA_PREFIXES).encode(), np.uint8)] = True


def output_columns(explain: bool = False) -> tuple[str, ...]:
    """The columns a batch adds after the input's own, in order."""
    cols = (("status", "error") + CRITERION_COLUMNS + PROBABILITY_COLUMNS + ELIGIBILITY_COLUMNS + WINDOW_COLUMNS
            + WARNING_COLUMNS)
    if explain:
        cols += INTERVAL_COLUMNS + tuple(f"reason_{k}" for k in range(1, N_REASONS + 1))
        for target in TARGETS:  # base: "projects like yours" (scoring.explain.contributions); the criteria move it
            cols += (f"base_{target}",) + tuple(f"contrib_{target}__{name}" for name in CRITERIA)
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
    out, _ = _score_columns(raw, bundle.model, explain, first_row, today)
    kept = raw.drop(columns=[c for c in raw.columns if c in out])  # a re-scored output gets fresh results
    return pd.concat([kept, pd.DataFrame(out, index=raw.index)], axis=1)


def _score_columns(raw: pd.DataFrame, model, explain: bool, first_row: int, today: dt.date | None,
                   repeated: dict[int, tuple[int, ...]] | None = None) -> tuple[dict[str, np.ndarray], pd.Series]:
    """The batch columns of `raw`, and the hashes of its dossier ids (see `_id_hashes`)."""
    ids = _ids(raw)
    hashes = _id_hashes(ids)
    known = None
    if repeated is not None:  # ids found on several rows of the file: this chunk's, each with all its rows
        known = {ids.iat[row]: repeated[h] for row, h in hashes[hashes.isin(list(repeated))].items()}
    v = validate_frame(raw, first_row=first_row, today=today, repeated=known)
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
    return out, hashes


def _ids(raw: pd.DataFrame) -> pd.Series:
    """The dossier ids of a raw chunk as the validator reads them (trimmed text), None where missing."""
    col = next((c for c, name in canonical_columns(raw.columns).items() if name == "dossier_id"), None)
    if col is None:
        return pd.Series([None] * len(raw), dtype=object)
    s = raw[col].reset_index(drop=True)
    return s.str.strip() if pd.api.types.is_string_dtype(s.dtype) else s.map(
        lambda v: v.strip() if isinstance(v, str) else v)


def _id_hashes(ids: pd.Series) -> pd.Series:
    """Per row (the index), a 64-bit hash of its dossier id, missing ids left out: what the parent compares."""
    ids = ids[(ids.notna() & (ids != "")).to_numpy(bool)]
    return pd.util.hash_pandas_object(ids.astype(object), index=False)


def _score_valid(frame: pd.DataFrame, model, explain: bool) -> dict[str, np.ndarray]:
    """Batch columns of valid rows: `CEPModel.predict`'s arithmetic, its log-odds reused for the windows."""
    table = score_table(frame)
    z_lab, z_f1 = model.logits(frame, table.score)
    pred = model.probabilities(z_lab, z_f1, table)
    out = dict(zip(CRITERION_COLUMNS, table.score.T))
    out.update(p_labeled=pred.labeled, p_funded=pred.funded, p_success=pred.success)
    windows = codes()["funding_window"]
    broken = eligibility.broken(frame, windows)  # knock-outs on the experts' scores the file gives
    target = broken[np.arange(len(frame)), code_index(frame["funding_window"], "funding_window")]
    out["eligible"] = (~target.any(axis=1)).astype(float)
    out["eligibility_reason"] = eligibility.reasons(target)
    out["best_window"], out["best_window_p_success"] = _best_window(model, frame, table.score, z_lab, z_f1,
                                                                    ~broken.any(axis=2))
    out["warnings"] = eligibility.reasons(consistency.flags(frame), consistency.codes())
    if explain:  # contributions need the design matrix; the probabilities never do
        out.update(_explanations(model, frame, model.matrices(frame, table)))
    return out


def _window_terms(design, coef: np.ndarray, windows: tuple[str, ...]) -> np.ndarray:
    """(1 + criteria, windows): log-odds a window adds, as a constant and per criterion score point."""
    fw = design.inputs.index("funding_window")
    terms = np.zeros((1 + len(CRITERIA), len(windows)))
    for j, (kind, level) in enumerate(zip(design.kind, design.level)):  # the design says what each column is
        if kind == "onehot" and design.owner[j] == fw:
            terms[0, windows.index(level)] += coef[j]
        elif kind == "slope" and design.partner[j] == fw:
            terms[1 + design.u_src[j], windows.index(level)] += coef[j]
        elif fw in (design.owner[j], design.partner[j]):
            raise NotImplementedError(f"design column {design.names[j]!r} uses the window in a way batch windows "
                                      "do not know")
    return terms


def _best_window(model, frame: pd.DataFrame, scores: np.ndarray, z_lab: np.ndarray, z_f1: np.ndarray,
                 eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the eligible window with the highest P(success) and that probability (None, NaN if none).

    `eligible`: (n, windows) `scoring.eligibility`'s verdicts, in the catalogue's window order.

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
    ranked = np.where(eligible, success, -np.inf)
    best = ranked.argmax(axis=1)
    has = eligible.any(axis=1)
    names = np.array(windows, dtype=object)[best]
    names[~has] = None
    return names, np.where(has, success[rows, best], np.nan)


def _explanations(model, frame: pd.DataFrame, matrices) -> dict[str, np.ndarray]:
    """Intervals, exact contributions to both probabilities, and the three criteria that move P(success) the most."""
    c = contributions(model, frame, matrices=matrices)
    out: dict[str, np.ndarray] = {}
    for target, band in zip(TARGETS, model.intervals(matrices.label)):
        out[f"p_{target}_low"], out[f"p_{target}_high"] = band[:, 0], band[:, 1]
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

class _Counts(NamedTuple):
    """Rows of a chunk (or a file) in error, not eligible for their target window, with answers to discuss."""

    errors: int = 0
    ineligible: int = 0
    warned: int = 0


@dataclass(frozen=True)
class Summary:
    """What a batch did: rows written, rows in error, rows their window cannot take, rows with warnings, wall time."""

    rows: int
    errors: int
    seconds: float
    output: str
    read_as: str = ""
    ineligible: int = 0
    warned: int = 0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (f"{self.rows:,} rows scored, {self.errors:,} in error, {self.ineligible:,} not eligible for their "
                f"window (eligibility_reason), {self.warned:,} with answers to discuss (warnings), in "
                f"{self.seconds:.1f} s ({self.rows_per_s:,.0f} rows/s) -> {self.output}")


def run_batch(input_path: str | Path, output_path: str | Path, bundle, explain: bool = False,
              chunk_rows: int | None = None, progress: Callable[[int, int | None], None] | None = None,
              workers: int | None = None, read: files.ReadOptions | None = None, excel_fr: bool = False) -> Summary:
    """Score a file of dossiers into another, by extension (CSV, XLSX, Parquet), chunk by chunk.

    `progress(rows_done, rows_total_or_None)` is called after each chunk.
    `chunk_rows` defaults to CHUNK_ROWS (CHUNK_ROWS_EXPLAIN with explanations).
    `workers` defaults to one process per usable core. The output is written to a
    temporary file beside `output_path` and renamed when complete, so a
    failed or interrupted run never leaves half a file (a killed one leaves the
    temporary file, which the next run to the same output replaces or removes);
    on any exception the workers are killed at once. Raises SchemaError for a file-level
    problem (unreadable, empty, a required column missing, the output not writable).
    `read` forces what `scoring.io` would otherwise detect (separator, encoding, decimal mark, sheet);
    `excel_fr` writes a CSV output as a French Excel opens it (`;`, UTF-8 with BOM, decimal comma).
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
    read = read or files.ReadOptions()
    chunk_rows = chunk_rows or (CHUNK_ROWS_EXPLAIN if explain else CHUNK_ROWS)
    plan = _Plan(bundle.model, explain, dt.date.today(), src, dst.suffix.lower(), excel_fr=excel_fr)
    try:
        try:
            reader = _open_reader(src, chunk_rows, read)
            done, counts, repeated = _score_file(reader, plan, tmp, workers, progress)
        except _Undecided:  # the scanner met what it cannot decide: the reference reader, streamed, decides
            reader = _stream_reader(src, chunk_rows, read)
            done, counts, repeated = _score_file(reader, plan, tmp, workers, progress)
        if repeated:
            done, counts, _ = _score_file(reader, replace(plan, repeated=repeated), tmp, workers, progress)
        os.replace(tmp, dst)
    except SchemaError as exc:  # one line that names the file
        raise SchemaError(str(exc) if str(exc).startswith((str(src), str(dst))) else f"{src}: {exc}") from None
    except OSError as exc:  # reading errors are SchemaErrors by now: this is the output
        raise files.write_error(dst, exc) from None
    finally:
        with contextlib.suppress(OSError):  # nothing to remove where nothing could be written
            tmp.unlink(missing_ok=True)
    return Summary(done, counts.errors, time.perf_counter() - start, str(dst), reader.read_as, counts.ineligible,
                   counts.warned)


def _score_file(reader: "_Reader", plan: "_Plan", tmp: Path, workers: int | None,
                progress: Callable[[int, int | None], None] | None) -> tuple[int, _Counts, dict[int, tuple[int, ...]]]:
    """Score every job of `reader` into `tmp`: (rows, their `_Counts`, {id hash: rows} of ids on rows of
    different chunks, which the chunks could not flag)."""
    plan = replace(plan, schema=reader.schema)
    done, counts = 0, _Counts()
    hashes: list[pd.Series] = []
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with _open_writer(tmp, plan) as writer, _Scorer(plan, workers or _cores()) as scorer:
        for job, (payload, found, ids) in scorer.map(reader.jobs()):
            writer.write(payload)
            hashes.append(pd.Series(ids.index.to_numpy() + job.first_row, index=ids.to_numpy()))
            done += job.rows
            counts = _Counts(*map(sum, zip(counts, found)))
            if progress:
                progress(done, reader.total)
    return done, counts, {} if plan.repeated else _across_chunks(hashes)


def _across_chunks(per_chunk: list[pd.Series]) -> dict[int, tuple[int, ...]]:
    """{id hash: its rows} for the ids found on several rows, when some of those rows lie in different chunks."""
    if len(per_chunk) < 2:
        return {}
    rows = pd.concat(per_chunk)
    dup = rows.index.duplicated(keep=False)
    if not dup.any():
        return {}
    chunk = np.repeat(np.arange(len(per_chunk)), [len(s) for s in per_chunk])[dup]
    groups = pd.DataFrame({"row": rows.to_numpy()[dup], "chunk": chunk}, index=rows.index[dup]).groupby(level=0)
    if (groups["chunk"].nunique() < 2).all():
        return {}  # every repeat lies within a chunk, which flagged it already
    return {int(h): tuple(int(r) for r in sorted(g)) for h, g in groups["row"]}


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
    schema: pa.Schema | None = None  # of the input rows as Arrow, once the file's header is read
    repeated: dict[int, tuple[int, ...]] | None = None  # {id hash: rows} of the ids on several rows, once known
    excel_fr: bool = False  # a CSV output as a French Excel opens it

    def __post_init__(self) -> None:
        if self.schema is None:
            return
        header, _ = _score_columns(pd.DataFrame(columns=self.schema.names), self.model, self.explain, 1, self.today)
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


def _run_job(plan: _Plan, job: _Job) -> tuple[bytes | list, _Counts, pd.Series]:
    """Parse, validate, score and render one chunk: (what the writer appends, its `_Counts`, id hashes)."""
    table = _parse_job(plan, job)
    raw = job.cells if job.cells is not None else files.text_fields(table.to_pandas()) if job.ipc is not None \
        else table.to_pandas()
    out, ids = _score_columns(raw, plan.model, plan.explain, job.first_row, plan.today, plan.repeated)
    outputs = pa.table([pa.array(out[f.name], type=f.type, from_pandas=True) for f in plan.outputs],
                       schema=plan.outputs)
    counts = _Counts(int((out["status"] == "error").sum()), int((out["eligible"] == 0).sum()),
                     sum(bool(w) for w in out["warnings"]))
    if plan.sink == ".xlsx":
        cells = [table.column(i).to_pylist() for i in plan.kept] if table is not None else \
            [job.cells.iloc[:, i].tolist() for i in plan.kept]
        cols = cells + [col.to_pylist() for col in outputs.columns]
        return [[_safe_cell(v) for v in row] for row in zip(*cols)], counts, ids
    if table is None:  # worksheet cells have no column type: CSV and Parquet get their text
        table = pa.table([pa.array([None if v is None else str(v) for v in job.cells[c]], pa.large_string())
                          for c in job.cells.columns], schema=plan.schema)
    full = pa.table([table.column(i) for i in plan.kept] + outputs.columns, schema=plan.output)
    if plan.sink == ".csv":
        return _csv_bytes(_neutralise(full), plan.excel_fr), counts, ids
    return _to_ipc(full), counts, ids


def _parse_job(plan: _Plan, job: _Job) -> pa.Table | None:
    if job.ipc is not None:
        return pa.ipc.open_stream(job.ipc).read_all()
    if job.span is None:
        return None
    try:
        with open(plan.source, "rb") as fh:  # read here, not sent by the parent: the bytes cross no pipe
            fh.seek(job.span[0])
            data = fh.read(job.span[1])
    except OSError as exc:
        raise SchemaError(f"{plan.source}: cannot be read ({exc.strerror or exc})") from None
    where = f"rows {job.first_row}-{job.first_row + job.rows - 1}"
    try:  # Python checks UTF-8 several times faster than Arrow's converter
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Undecided(f"{where}: not UTF-8") from None
    try:
        table = pcsv.read_csv(pa.py_buffer(data), read_options=pcsv.ReadOptions(
            column_names=plan.schema.names, use_threads=False, block_size=len(data) + 1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True), convert_options=_as_text(plan.schema.names))
    except pa.ArrowInvalid as exc:
        raise _Undecided(f"{where}: {_first_line(exc)}") from None
    if table.num_rows != job.rows:
        raise _Undecided(f"{where}: {table.num_rows} rows parsed where the scanner saw {job.rows}")
    if _has_blank_row(table):
        raise _Undecided(f"{where}: a row of blank cells, which the reference reader leaves out")
    return table


class _Undecided(Exception):
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


def _worker_job(job: _Job) -> tuple[bytes | list, int, pd.Series]:
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

    def map(self, jobs: Iterator[_Job]) -> Iterator[tuple[_Job, tuple[bytes | list, _Counts, pd.Series]]]:
        """(the job's place: first row and rows, what `_run_job` returned) per job, in input order."""
        if self.pool is None:
            for job in jobs:
                yield _Job(job.first_row, job.rows), _run_job(self.plan, job)
            return
        pending: deque = deque()
        for job in jobs:
            pending.append((_Job(job.first_row, job.rows), self.pool.submit(_worker_job, job)))
            if len(pending) > self.workers:  # one job queued per worker: busy workers, flat memory
                place, fut = pending.popleft()
                yield place, fut.result()
        while pending:
            place, fut = pending.popleft()
            yield place, fut.result()


# --------------------------------------------------------------------------- readers

@dataclass
class _Reader:
    schema: pa.Schema  # of the rows as Arrow; worksheet columns as text
    total: int | None  # rows, when the file says so up front
    jobs: Callable[[], Iterator[_Job]]
    read_as: str = ""


def _open_reader(path: Path, chunk_rows: int, read: files.ReadOptions) -> _Reader:
    """The fast reader of a file (raises _Undecided for a CSV its scanner does not read)."""
    kind = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            raise SchemaError(f"{path}: the file is empty; a batch file needs at least its header row")
        if kind == ".csv":
            return _csv_reader(path, chunk_rows, read)
        if kind == ".parquet":
            return _parquet_reader(path, chunk_rows)
        table = files.read_file(path, read)  # a workbook is bounded (scoring.io's limits): read whole, every row
        return _frame_reader(lambda: iter([table.frame]), table.frame, len(table.frame), table.read_as, chunk_rows)
    except SchemaError as exc:
        raise SchemaError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{path}: cannot be read as {kind[1:].upper()} ({_first_line(exc)})") from None


def _stream_reader(path: Path, chunk_rows: int, read: files.ReadOptions) -> _Reader:
    """`scoring.io`'s CSV reader, streamed: what `validate` reads, chunk by chunk."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        if not read.encoding:
            read = replace(read, encoding=dialect.file_encoding(path, head))
        d = files.detect_csv(head, read, whole=False)
        first = next(files.csv_frames(path, d, chunk_rows))
    except (dialect.DialectError, SchemaError) as exc:
        raise SchemaError(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc)) from None
    except OSError as exc:
        raise SchemaError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return _frame_reader(lambda: files.csv_frames(path, d, chunk_rows), first, None, d.describe(), chunk_rows)


def _frame_reader(frames: Callable[[], Iterator[pd.DataFrame]], first: pd.DataFrame, total: int | None,
                  read_as: str, chunk_rows: int) -> _Reader:
    """Jobs of worksheet cells from frames of rows (a workbook, or a CSV read by the reference reader)."""
    names = [str(c) for c in first.columns]

    def jobs() -> Iterator[_Job]:
        at = 1
        for frame in frames():
            for k in range(0, len(frame), chunk_rows):
                part = frame.iloc[k:k + chunk_rows].astype(object)
                part = part.where(part.notna(), None).reset_index(drop=True)
                yield _Job(at, len(part), cells=part)
                at += len(part)

    return _Reader(pa.schema([(n, pa.large_string()) for n in names]), total, jobs, read_as)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv_reader(path: Path, chunk_rows: int, read: files.ReadOptions) -> _Reader:
    # the header is read here, the rows by the workers: the parent never holds parsed rows
    with open(path, "rb") as fh:
        sample = fh.read(1 << 16)
    try:
        d = files.detect_csv(sample, read, whole=False)
    except dialect.DialectError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    if not d.plain or not sample.removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0].strip():
        raise _Undecided("not a file the scanner reads")  # another dialect, or a blank first line
    records = _Records(path)
    with open(path, "rb") as fh:
        while not len(records.ends) and records.feed(fh.read(1 << 16)):
            pass
    head = records.data[:records.ends[0]] if len(records.ends) else records.data
    try:
        names = files.header_names(next(csv.reader(io.StringIO(head.decode("utf-8-sig"))), []))
    except UnicodeDecodeError:
        raise _Undecided("a header that is not UTF-8") from None
    return _Reader(pa.schema([(n, pa.large_string()) for n in names]), None, lambda: _csv_jobs(path, chunk_rows),
                   d.describe())


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
            raise _Undecided(f"a row longer than {MAX_RECORD_BYTES >> 20} MB: a quote the scanner misread?")
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
        raise _Undecided(f"from row {first} on, a quoted value is never closed")


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


# --------------------------------------------------------------------------- writers

def _neutralise(table: pa.Table) -> pa.Table:
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


def _csv_bytes(table: pa.Table, excel_fr: bool = False) -> bytes:
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


def _safe_cell(v: Any) -> Any:
    """One worksheet cell: the formula rule (`scoring.io.safe_text`), and no NaN (a workbook cannot hold one)."""
    if isinstance(v, str):
        return files.safe_text(v)
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
        # the header under the formula rule too: a column named "=HYPERLINK(...)" is text, not a live formula
        header = pa.schema([(files.safe_text(f.name), f.type) for f in plan.output]).empty_table()
        if plan.excel_fr:
            self.out.write(codecs.BOM_UTF8)
        pcsv.write_csv(header, self.out, pcsv.WriteOptions(delimiter=";" if plan.excel_fr else ","))

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
        self.sheet.append([files.safe_text(n) for n in plan.output.names])
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
