"""Alembic environment: runs on the connection handed in by emstrack.store.engine."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from emstrack.store.partitions import include_name, include_object
from emstrack.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # The partitions of `emstrack db upgrade --partitions N` are not the migrations' own.
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI directly
    raise SystemExit("Run migrations with `emstrack db upgrade`.")
_run(connection)
