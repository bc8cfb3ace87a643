"""examples/basic on a real libvirtd with its state in PostgreSQL, and the database connection cut mid-apply."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.integration.conftest import Paused

pytestmark = pytest.mark.libvirtd


@pytest.fixture
def pg_cli(pg, monkeypatch, request):
    """The command line with the state in the private PostgreSQL server (KVMSTATE_BACKEND=pg:basic); set up
    before `cli`, so that its teardown (destroy) still uses PostgreSQL."""
    monkeypatch.setenv("KVMSTATE_BACKEND", "pg:basic")
    return request.getfixturevalue("cli")


def test_apply_plan_destroy_with_the_state_in_postgresql(pg_cli, conn, workdir: Path) -> None:
    out = pg_cli("apply", "--auto-approve").stdout
    assert "Apply complete! Resources: 4 added" in out
    assert not (workdir / "kvmstate.state.json").exists()
    assert "No changes." in pg_cli("plan", "--detailed-exitcode").stdout
    assert pg_cli("state", "list").stdout.split() == ["domain.basic-vm", "network.basic-net", "pool.basic-pool",
                                                      "volume.basic-root"]
    with psycopg.connect() as db:
        assert db.execute("SELECT count(*) FROM kvmstate.resources").fetchone()[0] == 4
    assert "8 recorded" in pg_cli("state", "history").stdout
    pg_cli("plan", "--out", "plan.bin")
    assert json.loads((workdir / "plan.bin").read_text())["source"]["state"] == "pg:basic/default"
    pg_cli("destroy", "--auto-approve", "--shutdown-timeout", "1")
    assert pg_cli("state", "list").stdout == ""
    assert conn.listAllDomains() == [] or "basic-vm" not in [d.name() for d in conn.listAllDomains()]


def test_connection_cut_mid_apply_stops_with_a_clear_error_and_keeps_what_was_recorded(pg_cli, workdir: Path) -> None:
    with Paused(workdir, 3) as run:                      # before its third libvirt call that changes something
        run.wait_for(lambda: _recorded() >= 1)
        with psycopg.connect(autocommit=True) as db:
            db.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                       "WHERE application_name LIKE 'kvmstate%'")
        out, err = run.resume()
    assert run.process.returncode == 1
    assert "Lost the connection to the state database" in err or "Lost the state lock" in err
    kept = _recorded()
    assert kept >= 1
    plan = pg_cli("plan").stdout                         # resolves what was left, with nothing lost
    assert "to add" in plan
    pg_cli("apply", "--auto-approve")
    assert "No changes." in pg_cli("plan", "--detailed-exitcode").stdout


def _recorded() -> int:
    try:
        with psycopg.connect() as db:
            return db.execute("SELECT count(*) FROM kvmstate.resources WHERE data->>'identity' IS NOT NULL"
                              ).fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0
