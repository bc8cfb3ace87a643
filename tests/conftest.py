"""Shared fixtures: the real-daemon tests run only inside scripts/private-libvirtd; the PostgreSQL tests get a
private server for the session (tests/pgserver.py) and a fresh database each.

Outside the daemon the real-daemon tests are skipped, and without PostgreSQL installed its tests are skipped,
except under `CI=true`: there a test that does not run is a failure, whether it was skipped for want of the
daemon or the server or by a `pytest.skip` of its own, so that nothing is left out unseen.
"""

import os
import uuid
from pathlib import Path

import pytest

from tests.pgserver import PG_BIN, PrivatePostgres

IN_DAEMON = os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD") == "1"
CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption("--regenerate", action="store_true",
                     help="Rewrite golden files (scenario plans, provider XML) from the current output.")


@pytest.fixture
def golden(request):
    """`golden(path, actual)`: the output must equal the golden file; `pytest --regenerate` rewrites it instead.
    The one switch for every golden file (scenario plans, provider XML)."""
    regenerate = request.config.getoption("--regenerate")

    def check(path: Path, actual: str) -> None:
        if regenerate or not path.exists():
            path.write_text(actual)
            if not regenerate:
                pytest.fail(f"{path} did not exist and was written; review it and run again")
        assert actual == path.read_text(), f"{path} differs; run pytest --regenerate to accept the new output"
    return check


def pytest_collection_modifyitems(config, items):
    if IN_DAEMON:
        return
    skip = pytest.mark.skip(reason="needs the private libvirtd: run through `make test`")
    for item in items:
        if "libvirtd" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true, a skipped real-daemon test is reported as failed, with the reason it was skipped."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and "libvirtd" in item.keywords and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: a test that needs libvirtd may not be skipped ({reason})"


@pytest.fixture(scope="session")
def pg_server():
    if not (PG_BIN / "initdb").exists():
        message = f"PostgreSQL is not installed ({PG_BIN}/initdb missing): run `make setup`"
        if CI:
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
