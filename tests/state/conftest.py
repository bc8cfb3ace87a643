"""A private PostgreSQL server for the session (tests/pgserver.py), and a fresh database per test.

Without the server (no initdb installed) the tests are skipped, except under
CI=true, where that is a failure: CI must run every backend.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from tests.pgserver import PG_BIN, PrivatePostgres


@pytest.fixture(scope="session")
def pg_server():
    if not (PG_BIN / "initdb").exists():
        message = f"PostgreSQL is not installed ({PG_BIN}/initdb missing): run `make setup`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with PrivatePostgres() as server:
        yield server


@pytest.fixture
def pg(pg_server, monkeypatch) -> PrivatePostgres:
    """The server, with libpq's environment pointing at a database of this test's own."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(**{k.lower()[2:]: v for k, v in pg_server.env.items() if k != "PGDATABASE"},
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    for key, value in {**pg_server.env, "PGDATABASE": name}.items():
        monkeypatch.setenv(key, value)
    return pg_server
