"""Tables hash-partitioned by tracking number on PostgreSQL (`emstrack db upgrade --partitions N`).

The tables keyed by number (`PARTITIONED`) become `PARTITION BY HASH (number)` with N partitions
each (`items_p0` … `items_p{N-1}`), all with the same modulus, so that partition i of every one
of them holds the same numbers (co-located). A lookup names its number, so PostgreSQL reads one
partition of each table (pruning); the same layout distributes on Citus by `number`
(docs/scale.md).

How: on a fresh database the migrations run as usual (Alembic at head, so later migrations apply
on top), then each listed table is read back as the migrations made it (columns, primary key,
indexes, foreign keys, names), dropped while still empty, and made again partitioned, its
indexes on the parent (PostgreSQL makes them on every partition), then its partitions. All in
one transaction. PostgreSQL requires every unique key of a partitioned table to include the
partition key: checked here, and refused with the key's name when one does not.

A table joins the layout by adding its name to `PARTITIONED`; it must have a `number` column in
every unique key, and no table outside the layout may hold a foreign key to it (Citus allows
foreign keys from distributed tables to reference tables, not the other way).
"""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, ForeignKeyConstraint, MetaData, inspect, text

from emstrack.errors import DatabaseError
from emstrack.store.engine import alembic_config

#: The tables hash-partitioned by `number`, parents before children (foreign keys).
PARTITIONED: tuple[str, ...] = (
    "items",
    "item_conflicts",
    "events",
    "subscriptions",
    "item_answers",
    "item_public_answers",
    "item_pages",
)

#: The partition key of every table in `PARTITIONED`.
KEY = "number"

_MIGRATE = (
    "To move an existing database, make a new empty one, run `emstrack db upgrade --partitions "
    "N` on it, then copy the rows over: `pg_dump --data-only --exclude-table=alembic_version "
    "OLD | psql NEW` (rows inserted into a partitioned table go to their partitions), or import "
    "the scan files again with `emstrack import` (docs/scale.md)."
)


def is_partition(name: str | None) -> bool:
    """`name` is that of a partition (`items_p3`), made here, not by the migrations."""
    parent, _, index = (name or "").rpartition("_p")
    return parent in PARTITIONED and index.isdigit()


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's filter for comparing the schema with the code: partitions are left out."""
    return not (type_ == "table" and is_partition(name))


def include_object(
    obj: Any, _name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Likewise for the foreign keys PostgreSQL adds towards each partition of a parent."""
    if type_ == "foreign_key_constraint" and isinstance(obj, ForeignKeyConstraint):
        return not is_partition(obj.referred_table.name)
    return True


def partitioned_tables(conn: Connection) -> dict[str, int]:
    """The tables of this database partitioned by hash, and how many partitions each has."""
    rows = conn.execute(
        text(
            "SELECT c.relname, count(i.inhrelid) FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() "
            "LEFT JOIN pg_inherits i ON i.inhparent = c.oid "
            "WHERE p.partstrat = 'h' GROUP BY c.relname"
        )
    )
    return {str(name): int(count) for name, count in rows}


def upgrade_partitioned(engine: Engine, partitions: int) -> str:
    """Create the schema with `PARTITIONED` hash-partitioned into `partitions` on an empty
    PostgreSQL database; on one already partitioned, apply the migrations left. Says what it
    did. Refuses (`DatabaseError`) SQLite, fewer than 2 partitions, and a database that has
    tables but not this layout."""
    if engine.dialect.name != "postgresql":
        raise DatabaseError(
            "partitions_unsupported",
            f"--partitions needs PostgreSQL; this database is {engine.dialect.name}. "
            "Run `emstrack db upgrade` without it.",
        )
    if partitions < 2:
        raise DatabaseError(
            "partitions_too_few",
            f"--partitions must be 2 or more (got {partitions}); for one, run "
            "`emstrack db upgrade` without it.",
        )
    with engine.begin() as conn:
        existing = set(inspect(conn).get_table_names())
        if existing:
            have = partitioned_tables(conn)
            if all(name in have for name in PARTITIONED if name in existing) and "items" in have:
                command.upgrade(alembic_config(conn), "head")
                counts = sorted({have[name] for name in PARTITIONED if name in have})
                return (
                    "The tables are already partitioned by number "
                    f"({'/'.join(map(str, counts))} partitions); migrations applied."
                )
            raise DatabaseError(
                "partitions_existing_tables",
                "This database already has tables that are not partitioned: --partitions "
                "only lays out a new, empty database. " + _MIGRATE,
            )
        command.upgrade(alembic_config(conn), "head")
        _partition(conn, partitions)
    return f"Tables {', '.join(PARTITIONED)} partitioned by number into {partitions} each."


def _partition(conn: Connection, partitions: int) -> None:
    present = [name for name in PARTITIONED if inspect(conn).has_table(name)]
    layout = MetaData()
    layout.reflect(conn, only=present)
    _check(conn, layout, present)
    tables = [layout.tables[name] for name in present]
    for table in reversed(tables):
        table.drop(conn)
    for table in tables:
        table.dialect_options["postgresql"]["partition_by"] = f"HASH ({KEY})"
        table.create(conn)
        quoted = conn.dialect.identifier_preparer.quote
        for i in range(partitions):
            conn.execute(
                text(
                    f"CREATE TABLE {quoted(f'{table.name}_p{i}')} PARTITION OF "
                    f"{quoted(table.name)} FOR VALUES WITH (MODULUS {partitions}, REMAINDER {i})"
                )
            )


def _check(conn: Connection, layout: MetaData, present: list[str]) -> None:
    """Every unique key of a partitioned table holds the number; no foreign key points into one
    from a table outside the layout."""
    for name in present:
        table = layout.tables[name]
        if KEY not in table.c:
            raise DatabaseError("partitions_no_number", f"Table {name} has no `{KEY}` column.")
        keys = [(table.primary_key.name, [c.name for c in table.primary_key.columns])]
        keys += [(i.name, [c.name for c in i.columns]) for i in table.indexes if i.unique]
        for unique in inspect(conn).get_unique_constraints(name):
            keys.append((unique["name"], list(unique["column_names"])))
        for key_name, columns in keys:
            if KEY not in columns:
                raise DatabaseError(
                    "partitions_unique_key",
                    f"The unique key {key_name} of {name} ({', '.join(columns)}) lacks `{KEY}`: "
                    "a table partitioned by number needs it in every unique key.",
                )
    inspector = inspect(conn)
    for other in inspector.get_table_names():
        if other in present:
            continue
        for fk in inspector.get_foreign_keys(other):
            if fk["referred_table"] in present:
                raise DatabaseError(
                    "partitions_foreign_key",
                    f"Table {other} refers to {fk['referred_table']}, which is partitioned by "
                    "number: add it to store.partitions.PARTITIONED or drop the foreign key.",
                )
