"""The store's users: their role, expert kind, password hash and whether their account is open.

Owns the `users` table: a user's later row supersedes the earlier ones (a new
role, a new password, an account closed), so a user's history stays.
"""

from __future__ import annotations

import sqlalchemy as sa

from scoring.store import db
from scoring.store.ledger import Ledger
from scoring.store.models import users
from scoring.store.records import User, check_name, check_role, from_row


class Users(Ledger):
    """`add_user`, `users`, `user`."""

    def add_user(
        self,
        name: str,
        role: str,
        *,
        user: str,
        expert_kind: str | None = None,
        password_hash: str | None = None,
        active: bool = True,
    ) -> User:
        """Add a user, or supersede their earlier row (new role, new password, `active` False to close).

        `password_hash` is what `scoring.auth.hash_password` returns, never a password.
        """
        user = check_name(user, "user")
        name = check_name(name, "name")
        role, expert_kind = check_role(role, expert_kind)
        if password_hash is not None and not (isinstance(password_hash, str) and password_hash.startswith("$argon2")):
            raise ValueError("password_hash must be an argon2 hash from scoring.auth.hash_password, not a password")
        row = {
            "name": name,
            "role": role,
            "expert_kind": expert_kind,
            "password_hash": password_hash,
            "active": bool(active),
        }
        with db.write_transaction(self.engine) as conn:
            [key] = self._append(conn, users, [row], user=user, action="add_user")
            return from_row(User, conn.execute(sa.select(users).where(users.c.id == key)).one())

    def users(self, *, include_inactive: bool = False) -> list[User]:
        """Every user's latest row, by name; closed accounts only with `include_inactive`."""
        latest = sa.select(sa.func.max(users.c.id)).group_by(users.c.name)
        with self._read() as conn:
            rows = conn.execute(sa.select(users).where(users.c.id.in_(latest)).order_by(users.c.name))
            return [u for u in (from_row(User, r) for r in rows) if include_inactive or u.active]

    def user(self, name: str) -> User | None:
        """A user's latest row, or None when the name was never added (a closed account is returned, inactive)."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(users).where(users.c.name == name).order_by(users.c.id.desc()).limit(1)
            ).first()
        return None if row is None else from_row(User, row)
