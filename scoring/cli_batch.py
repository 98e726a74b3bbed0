"""`cep-scoring batch`: score a portfolio file into another, streaming (see scoring.batch)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Iterator

import click

from scoring.cli_files import LANG, UnusableFile, read_options
from scoring.i18n import t

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Interrupted(BaseException):
    """A signal stopped the batch; a BaseException, like KeyboardInterrupt, so no error handler takes it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """While the batch runs, SIGINT and SIGTERM raise _Interrupted in the main thread.

    Raising unwinds `run_batch`, which kills its workers and removes its partial file. Further
    signals are ignored until that is done, so a second Ctrl-C cannot cut the clean-up short.
    A signal already ignored (nohup, a background job) stays ignored, and one handled outside
    Python is left alone (it could not be put back); the previous handlers come back afterwards,
    so that a program calling this command finds its own. Off the main thread, where Python
    allows no handler, signals keep their usual effect.
    """
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    caught = [
        s
        for s in _SIGNALS
        if previous[s] not in (signal.SIG_IGN, None) and threading.current_thread() is threading.main_thread()
    ]

    def interrupt(signum: int, frame) -> None:
        for s in caught:
            signal.signal(s, signal.SIG_IGN)
        raise _Interrupted(signum)

    for s in caught:
        signal.signal(s, interrupt)
    try:
        yield
    finally:
        for s in caught:
            signal.signal(s, previous[s])


@click.command("batch")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV, XLSX or Parquet file of dossiers (French headers accepted).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV, XLSX or Parquet file to write: every input row, its columns, then the scores.",
)
@click.option("--explain", is_flag=True, help="Add the exact contributions and the top three reasons.")
@click.option(
    "--actions",
    is_flag=True,
    help="Also add each row's steps before the next call and its labelling set (with --explain's "
    "columns; about 300 rows/s).",
)
@click.option("--excel-fr", is_flag=True, help="A CSV output for a French Excel: ';', UTF-8 with BOM, decimal comma.")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Model directory written by `cep-scoring train`  [default: models/default].",
)
@LANG
@read_options
def batch_cmd(
    input_path: str, output_path: str, explain: bool, actions: bool, excel_fr: bool, model_dir: str, lang: str, read
) -> None:
    """Score every row of a portfolio file; exit 1 when some rows are in error (their reason is in the file),
    2 when the input cannot be read or the output written.

    SIGINT or SIGTERM stops the batch with nothing written: exit 130 or 143.
    """
    from tqdm import tqdm

    from scoring import persist
    from scoring.batch import run_batch
    from scoring.schema import SchemaError

    try:
        bundle = persist.load(model_dir)
    except persist.ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None
    with tqdm(unit=" rows", unit_scale=True, file=sys.stderr, disable=not sys.stderr.isatty()) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            with _interruptible():
                summary = run_batch(
                    input_path,
                    output_path,
                    bundle,
                    explain=explain,
                    progress=progress,
                    read=read,
                    excel_fr=excel_fr,
                    actions=actions,
                    lang=lang,
                )
        except SchemaError as exc:
            raise UnusableFile(exc.said(lang)) from None
        except _Interrupted as exc:
            bar.close()  # its last line would otherwise follow the message
            name = signal.Signals(exc.signum).name
            click.echo(t("cli.batch.interrupted", lang, signal=name, output=output_path), err=True)
            sys.exit(128 + exc.signum)
    click.echo(t("cli.read_as", lang, file=input_path, how=summary.said(lang)), err=True)
    click.echo(summary.line(lang), err=True)
    sys.exit(1 if summary.errors else 0)
