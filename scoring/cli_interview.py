"""`cep-scoring interview`: the preliminary-interview brief of one dossier, a file of dossiers, or a folder."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scoring import io, jsonform, schema
from scoring.cli_files import UnusableFile, exit_invalid, load_bundle, read_options, table_dossiers
from scoring.i18n import DEFAULT_LANG, LANGS

FORMATS = ("text", "json", "html")


def _dossiers(path: str, read: io.ReadOptions) -> list[dict]:
    """The dossiers of a JSON file (one or a list), a table (CSV, XLSX, Parquet), or every such file of a
    folder, in name order: an expert prepares a day of interviews from one folder."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in io.TABLE_SUFFIXES)
        if not files:
            raise UnusableFile(f"{path}: the folder holds no dossier file ({', '.join(io.TABLE_SUFFIXES)})")
        return [d for f in files for d in _dossiers(str(f), read)]
    if io.suffix(path) == ".json":
        return jsonform.load_json_dossiers(io.read_json_text(path))[0]
    try:
        return table_dossiers(io.read_file(path, read).frame)
    except schema.SchemaError as exc:
        raise UnusableFile(f"{path}: {exc}") from None


@click.command("interview")
@click.argument("path", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--audience",
    type=click.Choice(["expert", "applicant"]),
    default="expert",
    show_default=True,
    help="The expert's brief, or its mirror for the applicant who prepares the interview.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of the terminal.")
@click.option("--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, show_default=True)
@click.option("--model", "model_dir", type=click.Path(file_okay=False), default=None)
@read_options
def interview_cmd(
    path: str, fmt: str, audience: str, out: str | None, lang: str, model_dir: str | None, read: io.ReadOptions
) -> None:
    """Preliminary-interview brief of each dossier of PATH (a JSON or table file, or a folder of them)."""
    from scoring.explain import InvalidDossiers
    from scoring.interview import briefs, render_html, render_text

    bundle = load_bundle(model_dir)
    try:
        items = briefs(_dossiers(path, read), bundle, lang, audience)
    except schema.SchemaError as exc:
        raise UnusableFile(exc.at(path).said(lang)) from None
    except InvalidDossiers as exc:
        exit_invalid(path, exc.issues, lang)
    if fmt == "json":
        text = json.dumps(items, ensure_ascii=False, indent=2, allow_nan=False)
    elif fmt == "html":
        text = render_html(items)
    else:
        text = "\n\n".join(render_text(b) for b in items)
    if out:
        try:
            Path(out).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UnusableFile(str(io.write_error(out, exc))) from None
        click.echo(f"{len(items)} brief(s) written to {out}", err=True)
    else:
        click.echo(text)
