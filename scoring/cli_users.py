"""`cep-scoring users`: who may sign in to the app in shared mode, and as what (docs/committee.md).

Passwords are read from a hidden prompt, or from standard input with
`--password-stdin` (one line, for scripts): never from the command line,
where `ps` and the shell's history would show them.
"""

from __future__ import annotations

import getpass
import sys

import click

from scoring.auth import hash_password
from scoring.store.models import EXPERT_KINDS, ROLES
from scoring.store.repository import Store


@click.group("users")
def users_cmd() -> None:
    """The app's users: add one, change a role or password, close an account, list them."""


@users_cmd.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do in the app.")
@click.option(
    "--kind",
    "expert_kind",
    type=click.Choice(EXPERT_KINDS),
    default=None,
    help="For an expert: academic or industrial (the chair's assignment balances the two).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option(
    "--by",
    envvar="USER",
    default=getpass.getuser,
    show_envvar=True,
    help="Name recorded as having added the user (default: $USER, else the login name).",
)
def users_add_cmd(name: str, role: str, expert_kind: str | None, password_stdin: bool, by: str) -> None:
    """Add NAME with a role and a password; for an existing NAME, the new role and password replace the old."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
        with Store.from_env() as store:
            user = store.add_user(name, role, expert_kind=expert_kind, password_hash=hashed, user=by)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    kind = f" ({user.expert_kind})" if user.expert_kind else ""
    click.echo(f"{user.name}: {user.role}{kind}, can sign in")


@users_cmd.command("close")
@click.argument("name")
@click.option(
    "--by",
    envvar="USER",
    default=getpass.getuser,
    show_envvar=True,
    help="Name recorded as having closed the account (default: $USER, else the login name).",
)
def users_close_cmd(name: str, by: str) -> None:
    """Close NAME's account: they can no longer sign in; what they did stays in the history."""
    with Store.from_env() as store:
        found = store.user(name)
        if found is None:
            raise click.ClickException(f"no user {name!r}; `cep-scoring users list` shows who there is")
        store.add_user(
            found.name,
            found.role,
            expert_kind=found.expert_kind,
            password_hash=found.password_hash,
            active=False,
            user=by,
        )
    click.echo(f"{name}: account closed")


@users_cmd.command("list")
def users_list_cmd() -> None:
    """Every open account: name, role, expert kind, who added it and when."""
    with Store.from_env() as store:
        found = store.users()
    if not found:
        click.echo("no user yet: add one with `cep-scoring users add NAME --role chair`", err=True)
    for u in found:
        click.echo(f"{u.name}\t{u.role}\t{u.expert_kind or '-'}\t{u.created_by}\t{u.created_at:%Y-%m-%d %H:%M}")
