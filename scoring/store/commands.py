"""The store's command-line commands, for `scoring.cli` to register:

    cli.add_command(import_cmd)            # cep-scoring import FILE
    cli.add_command(export_training_cmd)   # cep-scoring export-training --out FILE
    cli.add_command(audit_cmd)             # cep-scoring audit verify

Each opens the store named by `CEP_DB_URL` (the default SQLite file otherwise).
"""

from __future__ import annotations

import json
import sys

import click

from scoring.cli_files import LANG, UnusableFile, read_options
from scoring.i18n import t
from scoring.io import ReadOptions
from scoring.schema import SchemaError
from scoring.store.errors import ConflictError
from scoring.store.repository import Store
from scoring.store.transfer import export_training, import_file


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--user", envvar="USER", required=True, show_envvar=True, help="Name recorded with every change (default: $USER)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@LANG
@read_options
def import_cmd(file: str, user: str, as_json: bool, lang: str, read: ReadOptions) -> None:
    """Load a CEP export or a generated base (CSV, XLSX, Parquet, JSON) into the store; bad rows are reported.

    Rows are matched on dossier_id: importing a file twice adds nothing, a changed row becomes a new version.
    """
    try:
        with Store.from_env() as store:
            report = import_file(store, file, user=user, read=read)
    except SchemaError as exc:
        raise UnusableFile(exc.at(file).said(lang)) from None
    except ValueError as exc:
        raise UnusableFile(f"{file}: {exc}") from None
    except ConflictError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if as_json:
        click.echo(json.dumps(report.as_dict(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(t("cli.read_as", lang, file=file, how=report.said(lang)), err=True)
        for issue in report.issues:
            click.echo(issue.message(lang))
        click.echo(report.summary(lang))
    sys.exit(1 if report.issues else 0)


@click.command("export-training")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="CSV, XLSX or Parquet file to write."
)
@click.option("--excel-fr", is_flag=True, help="CSV for a French Excel: ';', UTF-8 with BOM, decimal comma.")
@LANG
def export_training_cmd(out: str, excel_fr: bool, lang: str) -> None:
    """Write the committee's decided dossiers as a training base (canonical columns, dossier_id first)."""
    try:
        with Store.from_env() as store:
            report = export_training(store, out, excel_fr=excel_fr)
    except SchemaError as exc:
        raise UnusableFile(exc.said(lang)) from None
    except ValueError as exc:
        raise UnusableFile(str(exc)) from None
    click.echo(report.summary(lang))
    if not report.rows:
        raise click.ClickException(t("cli.export.empty", lang))


@click.group("audit")
def audit_cmd() -> None:
    """The audit log of every change made in the store."""


@audit_cmd.command("verify")
def audit_verify_cmd() -> None:
    """Check the audit log's hash chain; name the first entry changed, deleted or inserted outside the store (exit 1).

    When intact, it prints the last entry's hash: record it elsewhere (e.g. in the committee's minutes)
    and compare later to also detect entries removed from the end or a chain rewritten from some entry on.
    """
    with Store.from_env() as store:
        report = store.verify_audit()
    click.echo(report.message())
    sys.exit(0 if report.intact else 1)
