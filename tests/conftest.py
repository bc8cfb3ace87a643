"""Shared fixtures: the real-daemon tests run only inside scripts/private-libvirtd; the PostgreSQL tests get a
private server for the session (tests/pgserver.py) and a fresh database each. Without PostgreSQL installed they
are skipped, except under CI=true, where that is a failure: CI runs every backend."""

import os
import uuid

import pytest

from tests.pgserver import PG_BIN, PrivatePostgres


def pytest_addoption(parser):
    parser.addoption("--regenerate", action="store_true",
                     help="Rewrite golden files (scenario plans, provider XML) from the current output.")


@pytest.fixture
def regenerate(request) -> bool:
    return request.config.getoption("--regenerate")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD") == "1":
        return
    skip = pytest.mark.skip(reason="needs the private libvirtd: run through `make test`")
    for item in items:
        if "libvirtd" in item.keywords:
            item.add_marker(skip)


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
    import psycopg
    with psycopg.connect(**{k.lower()[2:]: v for k, v in pg_server.env.items() if k != "PGDATABASE"},
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    for key, value in {**pg_server.env, "PGDATABASE": name}.items():
        monkeypatch.setenv(key, value)
    return pg_server
