"""`cep-scoring` model commands: build the synthetic base (`generate`), fit the model (`train`), measure it
(`evaluate`) and check a base against the published figures (`reference-check`)."""

from __future__ import annotations

import sys

import click

from scoring import catalogue, formatting, io, schema
from scoring.cli_files import LANG, echo_json, fail, load_bundle, read_options, read_table, text_table
from scoring.i18n import counted, t
from scoring.paths import SYNTHETIC_BASE


@click.command("generate")
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
            text_table(
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
            fail(str(exc))
        click.echo(t("cli.generate.wrote", lang, rows=formatting.number(rows, lang), seed=seed, out=out))
    elif not calibrate:
        fail("give --out FILE (and/or --calibrate)")


@click.command("reference-check")
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
            fail("give FILE, --mediation or --dossiers DIR")
        sys.exit(0 if extras_ok else 1)
    from scoring.reference import reference_check

    try:  # reference-check speaks English only: it is the maintainers' check of the generator, not a user's
        v = schema.validate_frame(read_table(file, read, "en").frame, require=catalogue.OUTCOMES)
    except schema.SchemaError as exc:
        fail(f"{file}: {exc}")
    if not v.ok.all():
        click.echo(
            f"{int((~v.ok).sum())} invalid rows left out of the figures (run `cep-scoring validate {file}`)", err=True
        )
    checks = reference_check(v.frame[v.ok])
    if as_json:
        echo_json([c.as_dict() for c in checks])
    else:
        click.echo(
            text_table(
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
            echo_json({"mediation": gaps})
        else:
            click.echo(
                f"Mediation (fresh synthetic base, {rows} rows, seed {seed}, 2022-2024 rows; gaps in "
                "expectation; 'through the criteria' = the gap with every direct context term of the label "
                "at zero)"
            )
            click.echo("\n".join(synthetic.mediation_rows(gaps)) + "\n")
    if dossiers:
        from scoring.reference import dossier_suite, suite_problems

        suite = dossier_suite(dossiers, load_bundle(model_dir))
        problems = suite_problems(suite)
        ok &= not problems
        if as_json:
            echo_json({"dossiers": [r.as_dict() for r in suite], "problems": problems})
        else:
            click.echo(
                text_table(
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


@click.command("train")
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
        fail(str(exc) if str(exc).startswith(data) else f"{data}: {exc}")
    except OSError as exc:
        fail(str(io.write_error(out, exc)))
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
                rows=counted("cli.train.bad_rows", len(bad), lang),
                first="; ".join(i.message(lang) for i in report.bad_rows[:3]),
            )
        )
    if report.ignored_columns:
        click.echo(t("cli.train.ignored", lang, columns=", ".join(report.ignored_columns)))
    if report.absent_columns:
        click.echo(t("cli.train.absent", lang, columns=", ".join(report.absent_columns)))
    click.echo(t("cli.train.written", lang, name=bundle.name, out=out, sha=bundle.sha256[:12]))


@click.command("evaluate")
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

    bundle = load_bundle(model_dir)
    try:
        frame, report = read_training_base(data, read)
    except schema.SchemaError as exc:
        fail(f"{data}: {exc}")
    result = evaluate(bundle.model, bundle.baselines, frame)
    result["model"] = {"name": bundle.name, "sha256": bundle.sha256}
    if as_json:
        echo_json(result)
        return
    from scoring.training import group_rows, metric_rows

    click.echo(f"{data}: {report.rows_used} rows evaluated ({report.rows_read - report.rows_used} left out)")
    click.echo("\n".join(metric_rows(result)))
    click.echo("\n".join(group_rows(result)))
