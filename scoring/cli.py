"""`cep-scoring`: a thin command-line shell over the library's tested functions.

Each command parses its options, calls one library function and prints its
result; exit code 1 when the input had errors (bad rows, failed figures),
2 for usage errors (click's convention) and for a file that cannot be used
at all (unreadable, not a table, a required column missing, unwritable).
"""

from __future__ import annotations

import sys

import click

from scoring import io, jsonform, schema
from scoring.cli_files import LANG, echo_json, exit_invalid, fail, load_bundle, read_options, read_table, table_dossiers
from scoring.i18n import counted, t


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cep-scoring")
def cli() -> None:
    """Score health-innovation funding dossiers like Medicen's CEP (synthetic-data model: see the model card)."""


@cli.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of one dossier."""
    echo_json(jsonform.json_schema())


@cli.command("example")
def example_cmd() -> None:
    """Print a complete valid example dossier (JSON)."""
    echo_json(jsonform.example())


@cli.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@LANG
@read_options
def validate_cmd(file: str, as_json: bool, lang: str, read: io.ReadOptions) -> None:
    """Validate a CSV, XLSX, Parquet or JSON file of dossiers; every bad row is reported."""
    try:
        table = read_table(file, read, lang, announce=not as_json)
        v = schema.validate_frame(table.frame)
    except schema.SchemaError as exc:
        fail(exc.at(file).said(lang))
    n_bad = int((~v.ok).sum())
    if as_json:
        echo_json(
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
                rows=counted("cli.validate.rows", len(v.ok), lang),
                valid=counted("cli.validate.valid", int(v.ok.sum()), lang),
                invalid=counted("cli.validate.invalid", n_bad, lang),
            )
        )
    sys.exit(1 if n_bad else 0)


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

    bundle = load_bundle(model_dir)
    try:
        if io.suffix(file) == ".json":
            docs, was_list = jsonform.load_json_dossiers(io.read_json_text(file))
        else:
            docs, was_list = table_dossiers(read_table(file, read, lang, announce=not as_json).frame), True
        results = explain(docs, bundle, lang)
    except schema.SchemaError as exc:
        fail(exc.at(file).said(lang))
    except InvalidDossiers as exc:
        exit_invalid(file, exc.issues, lang)
    if as_json:
        echo_json(results if was_list else results[0])
    else:
        click.echo("\n\n".join(render(r, lang, bundle.card) for r in results))


def _register_commands() -> None:
    """Commands whose logic lives with the module that owns it (model, bench, store, batch, ...)."""
    from scoring.cli_batch import batch_cmd
    from scoring.cli_bench import bench_cmd
    from scoring.cli_interview import interview_cmd
    from scoring.cli_model import evaluate_cmd, generate_cmd, reference_check_cmd, train_cmd
    from scoring.cli_monitor import monitor_cmd
    from scoring.cli_users import users_cmd
    from scoring.store.commands import audit_cmd, export_training_cmd, import_cmd

    for command in (
        generate_cmd,
        reference_check_cmd,
        train_cmd,
        evaluate_cmd,
        bench_cmd,
        import_cmd,
        export_training_cmd,
        audit_cmd,
        batch_cmd,
        users_cmd,
        interview_cmd,
        monitor_cmd,
    ):
        cli.add_command(command)


_register_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
