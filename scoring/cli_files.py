"""What every command that reads or writes a file of dossiers shares: the options that override
detection (`--sep`, `--encoding`, `--decimal`, `--sheet`), the one-line "read as ..." report,
exit code 2 for a file that cannot be used, and exit code 1 with every bad field listed for a file
whose dossiers are not all valid."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

import click

from scoring import io


class UnusableFile(click.ClickException):
    """A file that cannot be read or written at all: one line naming it and what to do, exit 2."""

    exit_code = 2


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


def exit_invalid(path: str, issues: Sequence, lang: str):
    """Print each issue (row, field, reason, how to fix) and a closing line naming the file, then exit 1."""
    for issue in issues:
        click.echo(issue.message(lang), err=True)
    click.echo(f"Error: {path}: {len({i.row for i in issues})} invalid dossier(s); fix the fields above", err=True)
    sys.exit(1)
