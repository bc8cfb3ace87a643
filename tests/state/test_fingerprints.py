"""State version 2: each resource may carry a fingerprint; both backends keep it through put and write, a version 1
state reads as version 2 without fingerprints, and a state newer than kvmstate knows is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmstate.diagnostics import DiagnosticError
from kvmstate.state import State, StateResource
from kvmstate.state.postgres import PostgresBackend
from kvmstate.state.store import StateStore


def stamped(address: str, fingerprint: str | None) -> StateResource:
    kind, name = address.split(".")
    return StateResource(address=address, type=kind, name=f"lab-{name}", host="default", identity=f"id-{name}",
                         attributes={"memory": "64MiB"}, fingerprint=fingerprint)


def round_trip(backend) -> State:
    state = State()
    with backend.lock("apply"):
        backend.put(state, stamped("domain.web", "ab12"))       # one record at a time, as an apply writes
        backend.put(state, stamped("domain.db", None))
    with backend.lock("state mv"):
        backend.write(state)                                     # the whole state, as a state command writes
        backend.put(state, stamped("network.lan", "cd34"))
    return state


def test_the_local_file_keeps_fingerprints(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "kvmstate.state.json")
    state = round_trip(store)
    again = StateStore(store.path).read()
    assert again == state
    assert {r.address: r.fingerprint for r in again.resources} == {"domain.db": None, "domain.web": "ab12",
                                                                   "network.lan": "cd34"}
    document = json.loads(store.path.read_text())
    assert document["version"] == 2
    assert "fingerprint" not in next(r for r in document["resources"] if r["address"] == "domain.db")


def test_postgres_keeps_fingerprints(pg) -> None:
    state = round_trip(PostgresBackend("prints"))
    again = PostgresBackend("prints").read()
    assert again == state and again.get("network.lan").fingerprint == "cd34"


def test_a_version_1_state_reads_without_fingerprints_and_is_written_as_version_2(tmp_path: Path) -> None:
    path = tmp_path / "kvmstate.state.json"
    old = State(resources=[stamped("domain.web", None)]).model_dump(mode="json") | {"version": 1}
    path.write_text(json.dumps(old))
    store = StateStore(path)
    state = store.read()
    assert state.version == 2 and state.get("domain.web").fingerprint is None
    with store.lock("apply"):
        store.write(state)
    assert json.loads(path.read_text())["version"] == 2


def test_a_newer_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kvmstate.state.json"
    path.write_text(json.dumps(State().model_dump(mode="json") | {"version": 3}))
    with pytest.raises(DiagnosticError) as exc:
        StateStore(path).read()
    assert "Upgrade kvmstate" in str(exc.value.diagnostics[0].detail)
