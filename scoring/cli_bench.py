"""`cep-scoring bench`: latency of one dossier, batch throughput, and the app's waits, in one run."""

from __future__ import annotations

import click

from scoring.cli_files import echo_json, fail, load_bundle


@click.command("bench")
@click.option("--json", "as_json", is_flag=True)
@click.option("--quick", is_flag=True, help="A small run (about 30 s) instead of the full measurement.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None)
@click.option(
    "--app",
    "app",
    is_flag=True,
    help="The app's waits in Chromium (first page, submit to result, queue upload) beside the library's.",
)
def bench_cmd(as_json: bool, quick: bool, model_dir: str | None, app: bool) -> None:
    """Measure latency of one dossier and batch throughput, beside their baselines, in one run."""
    from scoring.bench import bench_app, bench_single
    from scoring.benchmark_batch import bench_batch

    bundle = load_bundle(model_dir)
    if app:  # the app serves the default model; the library is timed on the same one
        try:
            result = {"app": bench_app(quick), "library": bench_single(bundle, quick, sampling=False)}
        except RuntimeError as exc:
            fail(str(exc))
    else:
        result = {"single": bench_single(bundle, quick), "batch": bench_batch(bundle, quick)}
    if as_json:
        echo_json(result)
        return
    for section, values in result.items():
        click.echo(f"[{section}]")
        for k, v in values.items():
            # the app's waits are in seconds (a second is the target): two decimals; the rest one
            click.echo(
                f"  {k}: {v:.2f}"
                if isinstance(v, float) and k.endswith("_s")
                else f"  {k}: {v:.1f}"
                if isinstance(v, float)
                else f"  {k}: {v}"
            )
