"""The PostgreSQL backend's tables, and the numbered migrations that create and upgrade them.

`migrate()` runs on every connection: it takes a transaction-level advisory lock
(so two first uses do not race), reads the highest applied version from
`<schema>.migrations` and applies the missing steps in one transaction. A step is
never edited once released; a change to the tables is a new step.
"""

from __future__ import annotations

import zlib

import psycopg

from kvmstate.diagnostics import error

MIGRATION_LOCK = 0               # second key for migrations; workspace locks use the workspace id (from 1)


def lock_class(schema: str) -> int:
    """The first key of every advisory lock kvmstate takes in `schema`: workspace ids come from a sequence per
    schema, so two schemas in one database must not share the first key (advisory locks are per database)."""
    return zlib.crc32(f"kvmstate:{schema}".encode()) & 0x7FFFFFFF

MIGRATIONS: list[str] = [
    # 1: workspaces, resources, history, locks
    """
    CREATE TABLE {s}.workspaces (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project text NOT NULL,
        name text NOT NULL,
        lineage text,
        serial bigint NOT NULL DEFAULT 0,
        outputs jsonb NOT NULL DEFAULT '{{}}',
        kvmstate_version text,
        created timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project, name)
    );
    CREATE TABLE {s}.resources (
        workspace_id bigint NOT NULL REFERENCES {s}.workspaces (id) ON DELETE CASCADE,
        address text NOT NULL,
        data jsonb NOT NULL,
        PRIMARY KEY (workspace_id, address)
    );
    CREATE TABLE {s}.history (
        workspace_id bigint NOT NULL REFERENCES {s}.workspaces (id) ON DELETE CASCADE,
        serial bigint NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        who text NOT NULL,
        command text NOT NULL,
        run uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('put', 'remove', 'write')),
        address text,
        data jsonb,
        PRIMARY KEY (workspace_id, serial)
    );
    CREATE TABLE {s}.locks (
        workspace_id bigint PRIMARY KEY REFERENCES {s}.workspaces (id) ON DELETE CASCADE,
        holder jsonb NOT NULL,
        backend_pid integer NOT NULL
    );
    """,
]


def migrate(conn: psycopg.Connection, schema: str) -> None:
    """Bring `schema` to the latest version (creating it on first use)."""
    if not schema.isidentifier() or schema != schema.lower():
        raise error("Invalid schema name", f"The backend's schema {schema!r} must be a lower-case identifier.")
    latest = len(MIGRATIONS)
    try:
        row = conn.execute(f"SELECT max(version) FROM {schema}.migrations").fetchone()
        if row and row[0] == latest:
            return
    except psycopg.errors.UndefinedTable:
        pass
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (lock_class(schema), MIGRATION_LOCK))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.migrations (version integer PRIMARY KEY, "
                     "applied timestamptz NOT NULL DEFAULT now())")
        current = conn.execute(f"SELECT coalesce(max(version), 0) FROM {schema}.migrations").fetchone()[0]
        if current > latest:
            raise error("State database from a newer kvmstate", f"The schema {schema} is at version {current}; "
                        f"this kvmstate knows up to {latest}. Upgrade kvmstate.")
        for version in range(current + 1, latest + 1):
            conn.execute(MIGRATIONS[version - 1].format(s=schema))
            conn.execute(f"INSERT INTO {schema}.migrations (version) VALUES (%s)", (version,))
