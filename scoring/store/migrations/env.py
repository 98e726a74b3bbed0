"""Alembic environment: runs the store's migrations on a connection the store hands over,
or, from the `alembic` command line, on `CEP_DB_URL` (the same resolution as the store)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from scoring.store import db
from scoring.store.models import metadata


def _configure_and_run(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two processes opening a fresh database at once would both try to create the tables.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": db.MIGRATION_LOCK})
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or db.url_from_env()


if context.is_offline_mode():
    context.configure(url=str(db.normalise_url(_url())), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (conn := context.config.attributes.get("connection")) is not None:
    _configure_and_run(conn)
else:
    with db.write_transaction(db.create_engine(_url())) as conn:
        _configure_and_run(conn)
