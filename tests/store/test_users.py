"""Users and sign-in: roles in the store, argon2 hashes, refusals that do not tell names apart, the rate
limit, the `cep-scoring users` command, and the modes."""

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from scoring import auth
from scoring.auth import Authenticator, SignInRefused, TooManyAttempts, hash_password
from scoring.cli_users import users_cmd

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def people(store):
    store.add_user("ana", "expert", expert_kind="academic", password_hash=hash_password(PASSWORD), user="admin")
    store.add_user("carla", "chair", password_hash=hash_password(PASSWORD), user="admin")
    return store


def test_users_are_kept_with_role_and_kind_the_latest_row_wins(people):
    assert [(u.name, u.role, u.expert_kind) for u in people.users()] == [
        ("ana", "expert", "academic"),
        ("carla", "chair", None),
    ]
    people.add_user("ana", "expert", expert_kind="industrial", user="admin")
    assert people.user("ana").expert_kind == "industrial"
    people.add_user("ana", "expert", active=False, user="admin")
    assert [u.name for u in people.users()] == ["carla"]
    assert [u.name for u in people.users(include_inactive=True)] == ["ana", "carla"]
    assert people.user("nobody") is None


def test_roles_and_kinds_are_checked_and_a_password_is_never_stored(store):
    with pytest.raises(ValueError, match="role 'judge' is not known"):
        store.add_user("x", "judge", user="admin")
    with pytest.raises(ValueError, match="only experts have one"):
        store.add_user("x", "chair", expert_kind="academic", user="admin")
    with pytest.raises(ValueError, match="not a password"):
        store.add_user("x", "expert", password_hash=PASSWORD, user="admin")
    with pytest.raises(ValueError, match="at least 12 characters"):
        hash_password("short")


def test_the_audit_log_records_who_added_whom_but_not_the_hash(people):
    with people.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT user_name, action, details FROM audit_log WHERE entity = 'users'")).all()
    assert [(r.user_name, r.action) for r in rows] == [("admin", "add_user")] * 2
    assert all("argon2" not in str(r.details) and "password" not in str(r.details) for r in rows)
    assert people.user("ana").password_hash.startswith("$argon2id$")
    assert people.verify_audit().intact


def test_sign_in_accepts_the_right_password_only(people):
    gate = Authenticator(people)
    assert gate.sign_in("ana", PASSWORD).role == "expert"
    assert gate.sign_in(" ana ", PASSWORD).name == "ana"
    for name, password in (("ana", "wrong password!!"), ("nobody", PASSWORD), ("", PASSWORD), ("ana", "")):
        with pytest.raises(SignInRefused, match="name or password is wrong"):
            gate.sign_in(name, password)


def test_an_unknown_name_costs_one_hash_check_like_a_wrong_password(people, monkeypatch):
    # The constant-time part: argon2's verify compares in constant time, and every refusal runs exactly one.
    checked = []
    real = auth._hasher

    class Spy:
        hash = staticmethod(real.hash)

        @staticmethod
        def verify(h, p):
            checked.append(h)
            return real.verify(h, p)

    monkeypatch.setattr(auth, "_hasher", Spy)
    gate = Authenticator(people)
    people.add_user("closed", "expert", password_hash=hash_password(PASSWORD), active=False, user="admin")
    people.add_user("nohash", "expert", user="admin")
    for name in ("nobody", "closed", "nohash", "ana"):
        with pytest.raises(SignInRefused):
            gate.sign_in(name, "wrong password!!" if name == "ana" else PASSWORD)
    assert len(checked) == 4 and checked[:3] == [gate._dummy] * 3


def test_failures_lock_the_name_even_for_the_right_password_then_it_opens_again(people):
    clock = Clock()
    gate = Authenticator(people, max_failures=3, window_s=60, lockout_s=120, clock=clock)
    for _ in range(3):
        with pytest.raises(SignInRefused):
            gate.sign_in("ana", "wrong password!!")
    with pytest.raises(TooManyAttempts, match="try again in 120 s"):
        gate.sign_in("ana", PASSWORD)
    assert gate.sign_in("carla", PASSWORD).name == "carla"  # other names are not locked
    clock.now += 121
    assert gate.sign_in("ana", PASSWORD).name == "ana"


def test_failures_spread_beyond_the_window_do_not_lock(people):
    clock = Clock()
    gate = Authenticator(people, max_failures=3, window_s=60, lockout_s=120, clock=clock)
    for _ in range(5):
        with pytest.raises(SignInRefused):
            gate.sign_in("ana", "wrong password!!")
        clock.now += 31
    assert gate.sign_in("ana", PASSWORD).name == "ana"


def test_mode_is_workstation_unless_shared_is_asked():
    assert auth.mode({}) == "workstation"
    assert auth.mode({"CEP_MODE": " Shared "}) == "shared"
    with pytest.raises(ValueError, match="use workstation .* or shared"):
        auth.mode({"CEP_MODE": "team"})


def test_users_command_reads_the_password_from_stdin_never_argv(db_url, monkeypatch):
    monkeypatch.setenv("CEP_DB_URL", db_url)
    run = CliRunner().invoke
    done = run(
        users_cmd,
        ["add", "ana", "--role", "expert", "--kind", "academic", "--password-stdin", "--by", "root"],
        input=PASSWORD + "\n",
    )
    assert done.exit_code == 0, done.output
    assert "ana: expert (academic), can sign in" in done.output
    prompted = run(users_cmd, ["add", "carla", "--role", "chair", "--by", "root"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0 and PASSWORD not in prompted.output
    assert run(users_cmd, ["add", "x", "--role", "expert", "--password", PASSWORD]).exit_code == 2
    short = run(users_cmd, ["add", "x", "--role", "expert", "--password-stdin", "--by", "root"], input="abc\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    listed = run(users_cmd, ["list"])
    assert [line.split("\t")[:3] for line in listed.output.splitlines()] == [
        ["ana", "expert", "academic"],
        ["carla", "chair", "-"],
    ]
    assert run(users_cmd, ["close", "ana", "--by", "root"]).exit_code == 0
    assert "ana" not in run(users_cmd, ["list"]).output
    assert "no user 'zed'" in run(users_cmd, ["close", "zed", "--by", "root"]).output
