"""A batch stopped by a signal leaves no worker behind, no partial file, and the previous output as it was.

Each test runs `cep-scoring batch` as its own process on a portfolio large
enough to be caught mid-run, and follows its workers through /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from click.testing import CliRunner

from scoring import catalogue, persist
from scoring.batch import run_batch
from scoring.cli_batch import batch_cmd
from scoring.i18n import t
from scoring.schema import SchemaError
from scoring.synthetic import TRUE_P_COLUMNS, generate
from tests.batch.conftest import write

ROWS = 200_000  # ten 20,000-row chunks: seconds of work on two cores, so a signal lands mid-run
WAIT_S = 20  # for the batch to get going, or to end once signalled, on a busy machine
GONE_S = 5  # for workers to disappear once their parent is gone
PREVIOUS = b'"dossier_id","p_success"\n"CEP-1","0.5"\n'

linux_with_workers = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="follows worker processes through Linux's /proc; a single core scores without workers",
)


@pytest.fixture(scope="session")
def big_portfolio(tmp_path_factory) -> Path:
    """ROWS rows: one generated block written again and again (the batch does not mind repeated dossiers)."""
    block = generate(20_000, seed=11).drop(columns=list(TRUE_P_COLUMNS) + list(catalogue.OUTCOMES))
    table = pa.Table.from_pandas(block, preserve_index=False)
    path = tmp_path_factory.mktemp("interrupt") / "portfolio.csv"
    with pcsv.CSVWriter(path, table.schema) as w:
        for _ in range(ROWS // len(block)):
            w.write_table(table)
    return path


@pytest.fixture(scope="session")
def model_dir(bundle, tmp_path_factory) -> Path:
    """The loaded default model saved afresh: models/default may be rewritten while the tests run."""
    # card.md is for people; loading checks only that it matches the manifest
    return persist.save(tmp_path_factory.mktemp("model"), bundle.model, bundle.baselines, bundle.card, "")


def _identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time) of a live process, None once it has exited: a reused pid is another process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, *fields = stat.rsplit(")", 1)[1].split()
    return None if state in "ZX" else (pid, fields[18])  # a zombie has exited; field 22 is the start time


def _children(pid: int) -> set[tuple[int, str]]:
    """Live children of every thread of `pid` (a thread's children are listed under that thread)."""
    kids = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids.update(int(c) for c in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return {ident for ident in map(_identity, kids) if ident}


def _alive(procs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {p for p in procs if _identity(p[0]) == p}


class _Run:
    """`cep-scoring batch` started in its own process, stopped mid-run by the test."""

    def __init__(self, src: Path, out: Path, model: Path, log: Path):
        self.out = out
        self.partial = out.with_name(f".{out.name}.partial")
        self.log = log
        with open(log, "wb") as err:  # a file, not a pipe: a surviving worker would hold a pipe open
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scoring.cli",
                    "batch",
                    "--input",
                    str(src),
                    "--output",
                    str(out),
                    "--model",
                    str(model),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
                # a shell without job control starts background jobs with SIGINT ignored, and Python keeps that
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        self.workers: set[tuple[int, str]] = set()

    def wait_mid_run(self) -> None:
        """Until the workers run and the first chunk is in the partial file."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the batch ended before it was signalled: {self.stderr()}"
            self.workers |= _children(self.proc.pid)
            if len(self.workers) >= 2 and self.partial.exists() and self.partial.stat().st_size > 1 << 20:
                return
            time.sleep(0.05)
        pytest.fail(f"the batch did not get going within {WAIT_S} s")

    def wait_workers_gone(self) -> set[tuple[int, str]]:
        deadline = time.monotonic() + GONE_S
        while _alive(self.workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        return _alive(self.workers)

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def kill_leftovers(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid, _ in _alive(self.workers):  # only processes this run started, checked by start time
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def run(tmp_path, big_portfolio, model_dir):
    """A batch into out.csv, where a previous output already is; whatever it leaves running is killed after."""
    out = tmp_path / "out.csv"
    out.write_bytes(PREVIOUS)
    started = _Run(big_portfolio, out, model_dir, tmp_path / "stderr.txt")
    yield started
    started.kill_leftovers()


@pytest.mark.slow
@linux_with_workers
@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_workers_removes_the_partial_file_and_keeps_the_previous_output(run, sig, status):
    run.wait_mid_run()
    run.proc.send_signal(sig)
    run.proc.wait(timeout=WAIT_S)
    assert not run.wait_workers_gone(), "workers outlived the batch"
    assert not run.partial.exists()
    assert run.out.read_bytes() == PREVIOUS
    assert run.proc.returncode == status, run.stderr()
    lines = run.stderr().strip().splitlines()
    assert lines == [t("cli.batch.interrupted", "fr", signal=sig.name, output=run.out)], lines


@pytest.mark.slow
@linux_with_workers
def test_workers_die_with_a_killed_parent(run):
    run.wait_mid_run()
    run.proc.kill()
    run.proc.wait(timeout=WAIT_S)
    assert not run.wait_workers_gone(), "workers outlived the batch"
    assert run.out.read_bytes() == PREVIOUS  # the partial file stays: nothing runs to remove it


def test_a_partial_file_left_by_a_killed_run_goes_with_the_next_run_to_the_same_output(tmp_path, bundle, portfolio):
    out = tmp_path / "out.csv"
    stale = tmp_path / ".out.csv.partial"
    stale.write_bytes(b"half a file")
    with pytest.raises(SchemaError, match="missing required column"):
        run_batch(write(portfolio.drop(columns=["trl"]), tmp_path / "in.csv"), out, bundle, workers=1)
    assert not stale.exists() and not out.exists()


def test_the_command_takes_sigterm_only_while_the_batch_runs_and_leaves_an_ignored_sigint_ignored(
    tmp_path, portfolio, monkeypatch
):
    caught = []
    during = {}

    def signalled_mid_run(*args, **kwargs):
        during["sigint"] = signal.getsignal(signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs in this thread before the next line
        return run_batch(*args, **kwargs)

    def callers_handler(signum, frame):
        caught.append(signum)

    monkeypatch.setattr("scoring.batch.run_batch", signalled_mid_run)
    before = signal.signal(signal.SIGTERM, callers_handler)
    ignored = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup: stays so
    try:
        result = CliRunner().invoke(
            batch_cmd, ["--input", write(portfolio, tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv")]
        )
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and during["sigint"] is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is callers_handler and not caught
    finally:
        signal.signal(signal.SIGTERM, before)
        signal.signal(signal.SIGINT, ignored)
    assert result.exit_code == 143, result.output
    said = t("cli.batch.interrupted", "fr", signal="SIGTERM", output=tmp_path / "out.csv")
    assert result.stderr.strip() == said
    assert said.startswith("Lot interrompu par SIGTERM\u202f: rien n'a été écrit dans ")
    assert not list(tmp_path.glob("*out*"))
