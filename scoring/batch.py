"""Portfolio scoring: every row of a CSV, XLSX or Parquet file, streamed file to file.

`run_batch` streams a file through the vectorised scorer (`scoring.vectorised`)
chunk by chunk, so memory stays flat whatever the file size, and writes every
input row, in order, with all its columns, followed by the columns of
`output_columns()`. This module owns the streaming engine: the run's plan, the
process pool, the order of the chunks, and interruptions; reading and writing
the files are `scoring.batch_readers`' and `scoring.batch_writers`'.

Worker processes (one per core) read, parse, score and render the chunks;
the parent only finds where runs of rows start and end in a CSV file (the
bytes themselves never cross a pipe) and appends the rendered runs in
order. A file the fast CSV scanner cannot decide is read by
`scoring.io`'s reader, streamed. A `dossier_id` on rows of different chunks is
found when every chunk is done; the file is then scored again with those
ids known, so that each of their rows is flagged as `validate` flags it. The
output depends on the input, the model, the chunk size and the day only
(validation refuses future years and dates), never on the number of workers
or on timing.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring import formatting
from scoring import io as files
from scoring.batch_readers import Job, Reader, Undecided, open_reader, parse_job, stream_reader, to_ipc
from scoring.batch_writers import csv_bytes, neutralise, open_writer, safe_cell
from scoring.i18n import counted, t
from scoring.schema import SchemaError
from scoring.vectorised import output_schema, score_columns

SUFFIXES = (".csv", ".xlsx", ".parquet")
CHUNK_ROWS = 20_000  # per-chunk costs paid 50 times per million rows; a worker's working set ~100 MB
CHUNK_ROWS_EXPLAIN = 10_000  # explanations hold the design matrix and the contributions: ~3x the bytes a row


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
    how: files.How = files.PARQUET_HOW  # how the input was read (`said`, `read_as`)
    ineligible: int = 0
    warned: int = 0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def read_as(self) -> str:
        return files.read_as(self.how)

    def said(self, lang: str) -> str:
        """How the input was read, in `lang`."""
        return files.said(self.how, lang)

    def line(self, lang: str = "en") -> str:
        """What the batch did, in one line in `lang`, each count with its word in the number it takes."""
        return t(
            "cli.batch.summary",
            lang,
            rows=counted("cli.batch.rows", self.rows, lang),
            errors=counted("cli.batch.errors", self.errors, lang),
            ineligible=counted("cli.batch.ineligible", self.ineligible, lang),
            warned=counted("cli.batch.warned", self.warned, lang),
            seconds=formatting.number(self.seconds, lang, 1),
            speed=formatting.number(self.rows_per_s, lang),
            output=self.output,
        )


def run_batch(
    input_path: str | Path,
    output_path: str | Path,
    bundle,
    explain: bool = False,
    chunk_rows: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    workers: int | None = None,
    read: files.ReadOptions | None = None,
    excel_fr: bool = False,
    actions: bool = False,
    lang: str = "en",
) -> Summary:
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
    `actions` adds, to the explanations, each row's steps before the next call (`scoring.vectorised`).
    `lang` is the language of the `error` column's reasons (the other columns hold codes and numbers).
    """
    start = time.perf_counter()
    src, dst = Path(input_path), Path(output_path)
    for p in (src, dst):
        if p.suffix.lower() not in SUFFIXES:
            raise SchemaError(key="unsupported", path=str(p), suffix=p.suffix or "(none)", allowed=", ".join(SUFFIXES))
    if not src.is_file():
        raise SchemaError(key="no_such_file", path=str(src))
    if dst.exists() and dst.resolve() == src.resolve():
        raise SchemaError(key="overwrite", path=str(dst))
    tmp = dst.with_name(f".{dst.name}.partial")  # or a killed run's leftover: this run replaces or removes it
    read = read or files.ReadOptions()
    chunk_rows = chunk_rows or (CHUNK_ROWS_EXPLAIN if explain or actions else CHUNK_ROWS)
    plan = _Plan(
        bundle.model, explain, dt.date.today(), src, dst.suffix.lower(), excel_fr=excel_fr, actions=actions, lang=lang
    )
    try:
        try:
            reader = open_reader(src, chunk_rows, read)
            done, counts, repeated = _score_file(reader, plan, tmp, workers, progress)
        except Undecided:  # the scanner met what it cannot decide: the reference reader, streamed, decides
            reader = stream_reader(src, chunk_rows, read)
            done, counts, repeated = _score_file(reader, plan, tmp, workers, progress)
        if repeated:
            done, counts, _ = _score_file(reader, replace(plan, repeated=repeated), tmp, workers, progress)
        os.replace(tmp, dst)
    except SchemaError as exc:  # one line that names the file
        raise (exc if str(exc).startswith(str(dst)) else exc.at(src)) from None
    except OSError as exc:  # reading errors are SchemaErrors by now: this is the output
        raise files.write_error(dst, exc) from None
    finally:
        with contextlib.suppress(OSError):  # nothing to remove where nothing could be written
            tmp.unlink(missing_ok=True)
    return Summary(
        done, counts.errors, time.perf_counter() - start, str(dst), reader.how, counts.ineligible, counts.warned
    )


def _score_file(
    reader: Reader, plan: _Plan, tmp: Path, workers: int | None, progress: Callable[[int, int | None], None] | None
) -> tuple[int, _Counts, dict[int, tuple[int, ...]]]:
    """Score every job of `reader` into `tmp`: (rows, their `_Counts`, {id hash: rows} of ids on rows of
    different chunks, which the chunks could not flag)."""
    plan = replace(plan, schema=reader.schema)
    done, counts = 0, _Counts()
    hashes: list[pd.Series] = []
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with (
        open_writer(tmp, plan.sink, plan.output, plan.excel_fr) as writer,
        _Scorer(plan, workers or _cores()) as scorer,
    ):
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
    actions: bool = False  # each row's steps before the next call (implies explain)
    lang: str = "en"  # of the error column's reasons

    def __post_init__(self) -> None:
        if self.schema is None:
            return
        header, _ = score_columns(
            pd.DataFrame(columns=self.schema.names), self.model, self.explain, 1, self.today, actions=self.actions
        )
        self.kept = [i for i, name in enumerate(self.schema.names) if name not in header]
        self.outputs = output_schema(self.explain, self.actions)
        self.output = pa.schema([self.schema.field(i) for i in self.kept] + list(self.outputs))


def _run_job(plan: _Plan, job: Job) -> tuple[bytes | list, _Counts, pd.Series]:
    """Parse, validate, score and render one chunk: (what the writer appends, its `_Counts`, id hashes)."""
    if plan.schema is None:
        raise RuntimeError("a batch job ran before its input's header was read (_score_file sets plan.schema)")
    table = parse_job(plan.source, plan.schema.names, job)
    if table is None:
        raw = _cells(job)
    else:
        raw = files.text_fields(table.to_pandas()) if job.ipc is not None else table.to_pandas()
    out, ids = score_columns(
        raw, plan.model, plan.explain, job.first_row, plan.today, plan.repeated, plan.actions, lang=plan.lang
    )
    outputs = pa.table(
        [pa.array(out[f.name], type=f.type, from_pandas=True) for f in plan.outputs], schema=plan.outputs
    )
    counts = _Counts(
        int((out["status"] == "error").sum()), int((out["eligible"] == 0).sum()), sum(bool(w) for w in out["warnings"])
    )
    if plan.sink == ".xlsx":
        cells = (
            [table.column(i).to_pylist() for i in plan.kept]
            if table is not None
            else [raw.iloc[:, i].tolist() for i in plan.kept]
        )
        cols = cells + [col.to_pylist() for col in outputs.columns]
        return [[safe_cell(v) for v in row] for row in zip(*cols)], counts, ids
    if table is None:  # worksheet cells have no column type: CSV and Parquet get their text
        table = pa.table(
            [pa.array([None if v is None else str(v) for v in raw[c]], pa.large_string()) for c in raw.columns],
            schema=plan.schema,
        )
    full = pa.table([table.column(i) for i in plan.kept] + outputs.columns, schema=plan.output)
    if plan.sink == ".csv":
        return csv_bytes(neutralise(full), plan.excel_fr), counts, ids
    return to_ipc(full), counts, ids


def _cells(job: Job) -> pd.DataFrame:
    """A worksheet job's cells: the one kind of job `parse_job` returns no table for."""
    if job.cells is None:
        raise RuntimeError(f"rows {job.first_row}-{job.first_row + job.rows - 1}: a batch job with no rows to read")
    return job.cells


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


def _worker_job(job: Job) -> tuple[bytes | list, _Counts, pd.Series]:
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
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self.plan, os.getpid())
            )
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
                # the stubs leave out the private pipe ends of the pool's multiprocessing queue
                self.pool._result_queue._writer.close()  # type: ignore[attr-defined]
            self.pool.shutdown(cancel_futures=True)
        if self.limits:
            self.limits.restore_original_limits()

    def map(self, jobs: Iterator[Job]) -> Iterator[tuple[Job, tuple[bytes | list, _Counts, pd.Series]]]:
        """(the job's place: first row and rows, what `_run_job` returned) per job, in input order."""
        if self.pool is None:
            for job in jobs:
                yield Job(job.first_row, job.rows), _run_job(self.plan, job)
            return
        pending: deque = deque()
        for job in jobs:
            pending.append((Job(job.first_row, job.rows), self.pool.submit(_worker_job, job)))
            if len(pending) > self.workers:  # one job queued per worker: busy workers, flat memory
                place, fut = pending.popleft()
                yield place, fut.result()
        while pending:
            place, fut = pending.popleft()
            yield place, fut.result()
