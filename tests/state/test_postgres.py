"""The PostgreSQL backend on a real server: round trip, history, compare-and-set, locks and faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from kvmstate.diagnostics import DiagnosticError
from kvmstate.state import State, StateResource
from kvmstate.state.postgres import PostgresBackend


def resource(address: str, **attributes) -> StateResource:
    kind, name = address.split(".")
    return StateResource(address=address, type=kind, name=name, host="default", identity=f"id-{name}",
                         attributes=attributes)


def summary(exc: pytest.ExceptionInfo) -> str:
    return exc.value.diagnostics[0].summary


HOLD = """
import sys, time
from kvmstate.state.postgres import PostgresBackend
with PostgresBackend(sys.argv[1]).lock("apply"):
    print("locked", flush=True)
    time.sleep(60)
"""


def hold(project: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, project], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_round_trip_one_row_per_resource_and_history(pg) -> None:
    backend = PostgresBackend("lab")
    assert backend.read() is None
    state = State()
    with backend.lock("apply"):
        backend.put(state, resource("network.a", bridge="br0"))
        backend.put(state, resource("domain.b", memory=512))
        backend.remove(state, "network.a")
    with backend.lock("state mv"):
        backend.write(state)
    again = PostgresBackend("lab").read()
    assert again == state and again.serial == 4 and [r.address for r in again.resources] == ["domain.b"]
    with psycopg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM kvmstate.resources").fetchone()[0] == 1
    history = backend.history()
    assert [(h.first_serial, h.serial, h.command, h.summary()) for h in history] == [
        (1, 3, "apply", "2 recorded, 1 removed"), (4, 4, "state mv", "1 whole-state writes")]
    assert [r.address for r in backend.at_serial(2).resources] == ["domain.b", "network.a"]
    assert backend.at_serial(99) is None


def test_schema_is_versioned_and_created_once(pg) -> None:
    PostgresBackend("a").read()
    PostgresBackend("b").read()
    with psycopg.connect() as conn:
        assert conn.execute("SELECT array_agg(version) FROM kvmstate.migrations").fetchone()[0] == [1]


def test_compare_and_set_refuses_a_stale_writer(pg) -> None:
    first, second = State(), None
    PostgresBackend("lab").put(first, resource("network.a"))
    second = PostgresBackend("lab").read()
    PostgresBackend("lab").put(first, resource("network.b"))
    with pytest.raises(DiagnosticError) as exc:
        PostgresBackend("lab").put(second, resource("network.c"))
    assert summary(exc) == "State changed underneath" and "serial 2, not 1" in exc.value.diagnostics[0].detail
    assert [r.address for r in PostgresBackend("lab").read().resources] == ["network.a", "network.b"]


def test_second_locker_fails_at_once_naming_the_holder_or_waits(pg) -> None:
    holder = hold("lab")
    try:
        started = time.monotonic()
        with pytest.raises(DiagnosticError) as exc:
            with PostgresBackend("lab").lock("plan"):
                pass
        assert time.monotonic() - started < 2
        detail = exc.value.diagnostics[0].detail
        assert summary(exc) == "State locked" and f"pid {holder.pid}" in detail and "`apply`" in detail
        with pytest.raises(DiagnosticError) as exc:
            with PostgresBackend("lab", lock_timeout=0.5).lock("plan"):
                pass
        assert "(waited 0.5s)" in exc.value.diagnostics[0].detail
    finally:
        holder.terminate()
        holder.wait()
    with PostgresBackend("lab").lock("plan", timeout=10):
        pass


def test_projects_and_workspaces_in_one_database_never_block(pg) -> None:
    holder = hold("lab")
    try:
        for other in (PostgresBackend("web"), PostgresBackend("lab", "pr-1"), PostgresBackend("lab", schema="team2")):
            state = State()
            with other.lock("apply"):
                other.put(state, resource("network.x"))
        assert PostgresBackend("web").read().lineage != PostgresBackend("lab", "pr-1").read().lineage
        assert PostgresBackend("lab").read() is None          # nothing leaks between them
        assert PostgresBackend("lab", schema="team2").read().resources[0].address == "network.x"   # workspace id 1
        assert PostgresBackend("lab").workspaces() == ["default", "pr-1"]
    finally:
        holder.kill()
        holder.wait()


def test_sigkill_of_the_holder_releases_the_lock(pg) -> None:
    holder = hold("lab")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with PostgresBackend("lab").lock("apply", timeout=10):      # the server ends the dead session
        pass


def test_terminated_lock_session_stops_writes_and_keeps_what_was_recorded(pg) -> None:
    backend, state = PostgresBackend("lab"), State()
    with pytest.raises(DiagnosticError) as exc:
        with backend.lock("apply"):
            backend.put(state, resource("network.a"))
            with psycopg.connect(autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                              "WHERE application_name = 'kvmstate lock'")
            backend.put(state, resource("network.b"))
    assert summary(exc) == "Lost the state lock" and "kept" in exc.value.diagnostics[0].detail
    kept = PostgresBackend("lab").read()
    assert [r.address for r in kept.resources] == ["network.a"] and kept.serial == 1


def test_terminated_data_session_gives_a_clear_error(pg) -> None:
    backend, state = PostgresBackend("lab"), State()
    with pytest.raises(DiagnosticError) as exc:
        with backend.lock("apply"):
            backend.put(state, resource("network.a"))
            with psycopg.connect(autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                              "WHERE application_name LIKE 'kvmstate%'")
            backend.put(state, resource("network.b"))
    assert summary(exc) == "Lost the connection to the state database"
    assert [r.address for r in PostgresBackend("lab").read().resources] == ["network.a"]
    with PostgresBackend("lab").lock("apply"):                  # the lock went with the session
        pass


def test_force_unlock_ends_a_hung_holder(pg) -> None:
    holder = hold("lab")
    try:
        with pytest.raises(DiagnosticError) as exc:
            with PostgresBackend("lab").lock("plan"):
                pass
        lock_id = exc.value.diagnostics[0].detail.split("force-unlock ")[1].split("`")[0]
        with pytest.raises(DiagnosticError):
            PostgresBackend("lab").force_unlock("not-the-id")
        assert "was broken" in PostgresBackend("lab").force_unlock(lock_id)
        with PostgresBackend("lab").lock("plan", timeout=10):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_server_restart_between_runs(pg) -> None:
    state = State()
    PostgresBackend("lab").put(state, resource("network.a"))
    pg.restart()
    backend = PostgresBackend("lab")
    with backend.lock("apply"):
        backend.put(state, resource("network.b"))
    assert backend.read().serial == 2


WRITER = """
import sys
from kvmstate.state import State, StateResource
from kvmstate.state.postgres import PostgresBackend
backend, state = PostgresBackend("lab"), State()
with backend.lock("apply"):
    for i in range(100000):
        backend.put(state, StateResource(address=f"network.n{i:05}", type="network", name=f"n{i}",
                                         host="default", identity=str(i), attributes={}))
        if i == 20:
            print("going", flush=True)
"""


def test_sigkill_between_writes_leaves_a_consistent_state_and_frees_the_lock(pg) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "going"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    backend = PostgresBackend("lab")
    with backend.lock("apply", timeout=10):
        state = backend.read()
    assert state.serial == len(state.resources) > 20
    assert [r.address for r in state.resources] == [f"network.n{i:05}" for i in range(state.serial)]
    assert backend.history()[0].serial == state.serial
