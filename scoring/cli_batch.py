"""`cep-scoring batch`: score a portfolio file into another, streaming (see scoring.batch)."""

from __future__ import annotations

import sys

import click


@click.command("batch")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="CSV, XLSX or Parquet file of dossiers (French headers accepted).")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False),
              help="CSV, XLSX or Parquet file to write: every input row, its columns, then the scores.")
@click.option("--explain", is_flag=True, help="Add the exact contributions and the top three reasons.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None,
              help="Model directory written by `cep-scoring train`  [default: models/default].")
def batch_cmd(input_path: str, output_path: str, explain: bool, model_dir: str) -> None:
    """Score every row of a portfolio file; exit 1 when some rows are in error (their reason is in the file)."""
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
            summary = run_batch(input_path, output_path, bundle, explain=explain, progress=progress)
        except SchemaError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(summary.line(), err=True)
    sys.exit(1 if summary.errors else 0)
