"""`cep-scoring`: a thin command-line shell over the library's tested functions.

Each command parses its options, calls one library function and prints its
result; exit code 1 when the input had errors (bad rows, failed figures),
2 for usage errors (click's convention) and for a file that cannot be used
at all (unreadable, not a table, a required column missing, unwritable).
"""

from __future__ import annotations

import json
import sys

import click

from scoring import catalogue, formatting, io, jsonform, schema
from scoring.cli_files import UnusableFile, exit_invalid, read_options
from scoring.i18n import t
from scoring.paths import SYNTHETIC_BASE


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False))


def _fail(message: str) -> None:
    raise UnusableFile(message)


def _read(file: str, read: io.ReadOptions, announce: bool = True) -> io.Table:
    """The file through the one reader; how it was read goes to stderr (a JSON report holds it instead)."""
    try:
        table = io.read_file(file, read)
    except schema.SchemaError as exc:
        _fail(str(exc))
    if announce:
        click.echo(f"{file}: {table.read_as}", err=True)
    return table


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cep-scoring")
def cli() -> None:
    """Score health-innovation funding dossiers like Medicen's CEP (synthetic-data model: see the model card)."""


@cli.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of one dossier."""
    _echo_json(jsonform.json_schema())


@cli.command("example")
def example_cmd() -> None:
    """Print a complete valid example dossier (JSON)."""
    _echo_json(jsonform.example())


LANG = click.option(
    "--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the messages."
)


@cli.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@LANG
@read_options
def validate_cmd(file: str, as_json: bool, lang: str, read: io.ReadOptions) -> None:
    """Validate a CSV, XLSX, Parquet or JSON file of dossiers; every bad row is reported."""
    try:
        table = _read(file, read, announce=not as_json)
        v = schema.validate_frame(table.frame)
    except schema.SchemaError as exc:
        _fail(f"{file}: {exc}")
    n_bad = int((~v.ok).sum())
    if as_json:
        _echo_json(
            {
                "read_as": table.read_as,
                "rows": len(v.ok),
                "valid": int(v.ok.sum()),
                "invalid": n_bad,
                "issues": [i.as_dict(lang) for i in v.issues],
            }
        )
    else:
        for issue in v.issues:
            click.echo(issue.message(lang))
        click.echo(
            t(
                "cli.validate.summary",
                lang,
                file=file,
                rows=formatting.number(len(v.ok), lang),
                valid=formatting.number(int(v.ok.sum()), lang),
                invalid=formatting.number(n_bad, lang),
            )
        )
    sys.exit(1 if n_bad else 0)


@cli.command("generate")
@click.option("--rows", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option("--seed", type=int, default=2025, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="CSV, XLSX or Parquet file.")
@click.option(
    "--calibrate",
    is_flag=True,
    help="Refit the generator's offsets to the published figures and save them in data/synthetic.toml.",
)
@LANG
def generate_cmd(rows: int, seed: int, out: str | None, calibrate: bool, lang: str) -> None:
    """Generate a synthetic CEP base (2019-2024) calibrated to the published figures."""
    from scoring import synthetic

    if calibrate:
        cal = synthetic.calibrate()
        synthetic.save_offsets(cal)
        click.echo(
            _table(
                [("target", "value", "tolerance", "calibrated", "ok")]
                + [
                    (i, f"{v:.3f}", f"{tol:.3f}", f"{got:.3f}", "ok" if abs(got - v) <= tol else "MISSED")
                    for i, v, tol, got in cal.rows
                ]
            )
        )
        for note in cal.notes():
            click.echo(f"calibration: {note}")
        click.echo(f"fitted offsets saved to {synthetic.PARAMS_PATH} (with what the calibration could not meet)")
    if out:
        try:
            io.write_table(synthetic.generate(rows, seed), out)
        except schema.SchemaError as exc:
            _fail(str(exc))
        click.echo(t("cli.generate.wrote", lang, rows=formatting.number(rows, lang), seed=seed, out=out))
    elif not calibrate:
        _fail("give --out FILE (and/or --calibrate)")


@cli.command("reference-check")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--mediation",
    is_flag=True,
    help="Also report how much of each published context gap the generator carries through the criteria.",
)
@click.option(
    "--rows",
    type=click.IntRange(min=1000),
    default=60_000,
    show_default=True,
    help="Rows of the fresh synthetic base the mediation report is computed on.",
)
@click.option("--seed", type=int, default=99, show_default=True, help="Seed of that base.")
@click.option(
    "--dossiers",
    type=click.Path(file_okay=False, exists=True),
    help="Also score a realistic-dossier suite (a folder with suite.toml, e.g. tests/dossiers).",
)
@click.option("--model", "model_dir", type=click.Path(file_okay=False), help="Model folder for --dossiers.")
@read_options
def reference_check_cmd(
    file: str | None,
    as_json: bool,
    mediation: bool,
    rows: int,
    seed: int,
    dossiers: str | None,
    model_dir: str | None,
    read: io.ReadOptions,
) -> None:
    """Compare a row-level base (synthetic or a CEP export) with the published figures F1-F16.

    --mediation and --dossiers add the generator's mediation report and a dossier suite's table
    (FILE is then optional); exit 1 if a figure, a mediation target or the suite's order fails.
    """
    extras_ok = _reference_extras(mediation, rows, seed, dossiers, model_dir, as_json)
    if file is None:
        if not (mediation or dossiers):
            _fail("give FILE, --mediation or --dossiers DIR")
        sys.exit(0 if extras_ok else 1)
    from scoring.reference import reference_check

    try:
        v = schema.validate_frame(_read(file, read).frame, require=catalogue.OUTCOMES)
    except schema.SchemaError as exc:
        _fail(f"{file}: {exc}")
    if not v.ok.all():
        click.echo(
            f"{int((~v.ok).sum())} invalid rows left out of the figures (run `cep-scoring validate {file}`)", err=True
        )
    checks = reference_check(v.frame[v.ok])
    if as_json:
        _echo_json([c.as_dict() for c in checks])
    else:
        click.echo(
            _table(
                [("id", "figure", "published", "measured", "ok")]
                + [
                    (
                        c.id,
                        c.figure[:70],
                        c.published,
                        c.measured,
                        "n/a" if c.ok is None else ("ok" if c.ok else "FAIL"),
                    )
                    for c in checks
                ]
            )
        )
    sys.exit(0 if extras_ok and all(c.ok is not False for c in checks) else 1)


def _reference_extras(
    mediation: bool, rows: int, seed: int, dossiers: str | None, model_dir: str | None, as_json: bool
) -> bool:
    """Print the mediation report and/or the dossier suite's table; False if a target or the order fails."""
    ok = True
    if mediation:
        from scoring import synthetic

        gaps = [g.as_dict() for g in synthetic.mediation(synthetic.generate(rows, seed))]
        ok &= all(g["share"] >= synthetic.MEDIATION_TARGETS.get(g["name"], 0.0) for g in gaps)
        if as_json:
            _echo_json({"mediation": gaps})
        else:
            click.echo(
                f"Mediation (fresh synthetic base, {rows} rows, seed {seed}, 2022-2024 rows; gaps in "
                "expectation; 'through the criteria' = the gap with every direct context term of the label "
                "at zero)"
            )
            click.echo("\n".join(synthetic.mediation_rows(gaps)) + "\n")
    if dossiers:
        from scoring.reference import dossier_suite, suite_problems

        suite = dossier_suite(dossiers, _load_bundle(model_dir))
        problems = suite_problems(suite)
        ok &= not problems
        if as_json:
            _echo_json({"dossiers": [r.as_dict() for r in suite], "problems": problems})
        else:
            click.echo(
                _table(
                    [("dossier", "tier", "P(labelled)", "P(success)", "without clinicians", "reasons")]
                    + [
                        (
                            r.file,
                            r.tier,
                            f"{r.labeled:.3f}",
                            f"{r.success:.3f}",
                            f"{r.without_clinicians[0]:.3f} / {r.without_clinicians[1]:.3f}"
                            if r.without_clinicians
                            else "-",
                            " ".join(r.reasons),
                        )
                        for r in suite
                    ]
                )
            )
            for r in suite:
                click.echo(f"- {r.file} ({r.tier}, modelled on {r.modelled_on}): {r.rationale}")
            click.echo(
                "\n".join(f"PROBLEM: {p}" for p in problems)
                or "order holds: every strong dossier above "
                "every weak one, none gains without its clinicians, reasons name criteria only"
            )
            click.echo()
    return ok


def _table(rows: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def _load_bundle(model_dir: str | None):
    from scoring.persist import ModelLoadError, load

    try:
        return load(model_dir)
    except ModelLoadError as exc:
        _fail(str(exc))


@cli.command("train")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, exists=True),
    default=str(SYNTHETIC_BASE),
    show_default="the shipped synthetic base, data/cep_synthetic.csv",
    help="Base of decided dossiers (CSV, XLSX, Parquet), French headers accepted.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Model directory to write (`make model` gives models/default); no default, so that an installed "
    "package's own model is never overwritten silently.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--challenge",
    is_flag=True,
    help="Retrain as a challenger of --champion: compared on the most recent "
    "year held out, written to --out only when better beyond the noise (scoring.challenge).",
)
@click.option(
    "--champion",
    "champion_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The live model a challenger is compared with (default: models/default).",
)
@LANG
@read_options
def train_cmd(
    data: str, out: str, seed: int, challenge: bool, champion_dir: str | None, lang: str, read: io.ReadOptions
) -> None:
    """Fit the model and its baselines, evaluate, write the model card and manifest."""
    from scoring.training import train

    if challenge:
        from scoring.cli_challenge import run_challenge

        return run_challenge(data, out, champion_dir, seed, read)

    try:
        bundle, report = train(data, out, seed=seed, read=read)
    except (schema.SchemaError, ValueError) as exc:
        _fail(str(exc) if str(exc).startswith(data) else f"{data}: {exc}")
    except OSError as exc:
        _fail(str(io.write_error(out, exc)))
    bad = sorted({i.row for i in report.bad_rows})
    click.echo(
        t(
            "cli.train.read",
            lang,
            data=data,
            read=formatting.number(report.rows_read, lang),
            used=formatting.number(report.rows_used, lang),
        )
    )
    if bad:
        click.echo(
            t(
                "cli.train.bad",
                lang,
                n=formatting.number(len(bad), lang),
                first="; ".join(i.message(lang) for i in report.bad_rows[:3]),
            )
        )
    if report.ignored_columns:
        click.echo(t("cli.train.ignored", lang, columns=", ".join(report.ignored_columns)))
    if report.absent_columns:
        click.echo(t("cli.train.absent", lang, columns=", ".join(report.absent_columns)))
    click.echo(t("cli.train.written", lang, name=bundle.name, out=out, sha=bundle.sha256[:12]))


@cli.command("evaluate")
@click.option("--data", type=click.Path(dir_okay=False, exists=True), required=True)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Model directory (default: models/default).",
)
@click.option("--json", "as_json", is_flag=True)
@read_options
def evaluate_cmd(data: str, model_dir: str | None, as_json: bool, read: io.ReadOptions) -> None:
    """Score every row of FILE as test data: model, baselines and oracle (when true_p_* columns exist)."""
    from scoring.evaluate import evaluate
    from scoring.training import read_training_base

    bundle = _load_bundle(model_dir)
    try:
        frame, report = read_training_base(data, read)
    except schema.SchemaError as exc:
        _fail(f"{data}: {exc}")
    result = evaluate(bundle.model, bundle.baselines, frame)
    result["model"] = {"name": bundle.name, "sha256": bundle.sha256}
    if as_json:
        _echo_json(result)
        return
    from scoring.training import group_rows, metric_rows

    click.echo(f"{data}: {report.rows_used} rows evaluated ({report.rows_read - report.rows_used} left out)")
    click.echo("\n".join(metric_rows(result)))
    click.echo("\n".join(group_rows(result)))


@cli.command("score")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@LANG
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None)
@read_options
def score_cmd(file: str, as_json: bool, lang: str, model_dir: str | None, read: io.ReadOptions) -> None:
    """Score and explain one dossier (JSON) or a list of dossiers (JSON, or the rows of a CSV, XLSX, Parquet)."""
    from scoring.explain import InvalidDossiers, explain
    from scoring.textreport import render

    bundle = _load_bundle(model_dir)
    try:
        if io.suffix(file) == ".json":
            docs, was_list = jsonform.load_json_dossiers(io.read_json_text(file))
        else:
            docs, was_list = _table_dossiers(_read(file, read, announce=not as_json).frame), True
        results = explain(docs, bundle, lang)
    except schema.SchemaError as exc:
        _fail(str(exc) if str(exc).startswith(file) else f"{file}: {exc}")
    except InvalidDossiers as exc:
        exit_invalid(file, exc.issues, lang)
    if as_json:
        _echo_json(results if was_list else results[0])
    else:
        click.echo("\n\n".join(render(r, lang, bundle.card) for r in results))


def _table_dossiers(frame) -> list[dict]:
    """A table's rows as dossiers; a bad row stops the command with every issue (as for a JSON list)."""
    from scoring.explain import InvalidDossiers

    v = schema.validate_frame(frame)
    if v.issues:
        raise InvalidDossiers(v.issues)
    if not len(v.frame):
        raise schema.SchemaError("the file holds no dossier, only its header; add rows")
    return [jsonform.to_json(r) for r in v.frame.to_dict("records")]


@cli.command("bench")
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

    bundle = _load_bundle(model_dir)
    if app:  # the app serves the default model; the library is timed on the same one
        try:
            result = {"app": bench_app(quick), "library": bench_single(bundle, quick, sampling=False)}
        except RuntimeError as exc:
            _fail(str(exc))
    else:
        result = {"single": bench_single(bundle, quick), "batch": bench_batch(bundle, quick)}
    if as_json:
        _echo_json(result)
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


def _register_commands() -> None:
    """Commands whose logic lives with the module that owns it (store, batch)."""
    from scoring.cli_batch import batch_cmd
    from scoring.cli_interview import interview_cmd
    from scoring.cli_monitor import monitor_cmd
    from scoring.cli_users import users_cmd
    from scoring.store.commands import audit_cmd, export_training_cmd, import_cmd

    for command in (import_cmd, export_training_cmd, audit_cmd, batch_cmd, users_cmd, interview_cmd, monitor_cmd):
        cli.add_command(command)


_register_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
