"""What the commands share: how they read their inputs and print their results.

The options that override detection (`--sep`, `--encoding`, `--decimal`, `--sheet`), the
one-line "read as ..." report, the `--lang` option (the languages of the translation tables),
loading a model folder, a table's rows as dossiers, JSON and plain-text tables on stdout,
exit code 2 for a file or folder that cannot be used, and exit code 1 with every bad field
listed for a file whose dossiers are not all valid."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from scoring import io, jsonform, schema
from scoring.i18n import DEFAULT_LANG, LANGS, counted, t

if TYPE_CHECKING:
    from scoring.persist import Bundle


class UnusableFile(click.ClickException):
    """A file that cannot be read or written at all: one line naming it and what to do, exit 2."""

    exit_code = 2


def fail(message: str) -> NoReturn:
    raise UnusableFile(message)


LANG = click.option(
    "--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, show_default=True, help="Language of the messages."
)


def read_options(command):
    """Add the four reading options to a command; it receives them as one `read: io.ReadOptions`."""

    @click.option(
        "--sep",
        type=click.Choice([",", ";", "tab"]),
        default=None,
        help="CSV separator  [default: detected from the header line]",
    )
    @click.option("--encoding", default=None, help="CSV encoding, e.g. utf-8, cp1252  [default: detected]")
    @click.option(
        "--decimal",
        type=click.Choice([".", ","]),
        default=None,
        help="CSV decimal mark  [default: ',' for ;-separated files, else '.']",
    )
    @click.option("--sheet", default=None, help="XLSX sheet to read  [default: the first]")
    @functools.wraps(command)
    def wrapper(*args, sep, encoding, decimal, sheet, **kwargs):
        read = io.ReadOptions(sep="\t" if sep == "tab" else sep, encoding=encoding, decimal=decimal, sheet=sheet)
        return command(*args, read=read, **kwargs)

    return wrapper


def read_table(file: str, read: io.ReadOptions, lang: str, announce: bool = True) -> io.Table:
    """The file through the one reader; how it was read goes to stderr in `lang` (a JSON report holds it
    instead)."""
    try:
        table = io.read_file(file, read)
    except schema.SchemaError as exc:
        fail(exc.said(lang))
    if announce:
        click.echo(t("cli.read_as", lang, file=file, how=table.said(lang)), err=True)
    return table


def table_dossiers(frame) -> list[dict]:
    """A table's rows as dossiers; a bad row stops the command with every issue (as for a JSON list)."""
    from scoring.explain import InvalidDossiers

    v = schema.validate_frame(frame)
    if v.issues:
        raise InvalidDossiers(v.issues)
    if not len(v.frame):
        raise schema.SchemaError(key="header_only")
    return [jsonform.to_json(r) for r in v.frame.to_dict("records")]


def load_bundle(model_dir: str | None) -> Bundle:
    """The model of `model_dir` (default: the shipped one); a folder that cannot be loaded exits 2."""
    from scoring.persist import ModelLoadError, load

    try:
        return load(model_dir)
    except ModelLoadError as exc:
        fail(str(exc))


def exit_invalid(path: str, issues: Sequence, lang: str) -> NoReturn:
    """Print each issue (row, field, reason, how to fix) and a closing line naming the file, then exit 1."""
    for issue in issues:
        click.echo(issue.message(lang), err=True)
    click.echo(
        t("cli.invalid", lang, file=path, dossiers=counted("cli.invalid_dossiers", len({i.row for i in issues}), lang)),
        err=True,
    )
    sys.exit(1)


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False))


def text_table(rows: list[tuple]) -> str:
    """Rows as left-aligned columns, the first row being the header."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)
