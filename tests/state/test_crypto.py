"""Encryption at rest: round trip, wrong key, rotation, tampering, plaintext migration; both backends and plans."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import psycopg
import pytest

from kvmstate.plan import planfile
from kvmstate.diagnostics import DiagnosticError
from kvmstate.plan.model import Plan, Source
from kvmstate.state import State, StateResource
from kvmstate.state.crypto import Codec
from kvmstate.state.postgres import PostgresBackend
from kvmstate.state.store import StateStore

KEY_A, KEY_B = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))


def codec(**env: str) -> Codec:
    return Codec.from_env(env)


def secret(name: str = "web") -> StateResource:
    return StateResource(address=f"domain.{name}", type="domain", name=name, host="default", identity="u1",
                         attributes={"password": "hunter2"})


def summary(exc: pytest.ExceptionInfo) -> str:
    return exc.value.diagnostics[0].summary


def test_local_round_trip_keeps_no_plaintext(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json", codec=codec(KVMSTATE_STATE_KEY=KEY_A))
    state = State()
    store.put(state, secret())                         # journal line
    assert b"hunter2" not in store.journal.path.read_bytes()
    store.checkpoint()                                 # state file
    assert b"hunter2" not in store.path.read_bytes()
    assert StateStore(store.path, codec=codec(KVMSTATE_STATE_KEY=KEY_A)).read() == state


def test_wrong_key_and_no_key_are_refused_and_nothing_written(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json", codec=codec(KVMSTATE_STATE_KEY=KEY_A))
    store.write(State(resources=[secret()]))
    before = store.path.read_bytes()
    for env, expected in (({"KVMSTATE_STATE_KEY": KEY_B}, "Wrong state key"), ({}, "State is encrypted"),
                          ({"KVMSTATE_STATE_PASSPHRASE": "guess"}, "Wrong state key")):
        with pytest.raises(DiagnosticError) as exc:
            StateStore(store.path, codec=codec(**env)).read()
        assert summary(exc) == expected
    assert store.path.read_bytes() == before


def test_rotation_with_a_fallback_key(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    StateStore(path, codec=codec(KVMSTATE_STATE_KEY=KEY_A)).write(State(resources=[secret()]))
    rotated = StateStore(path, codec=codec(KVMSTATE_STATE_KEY=KEY_B, KVMSTATE_STATE_KEY_FALLBACK=KEY_A))
    state = rotated.read()
    rotated.write(state)                               # what `kvmstate state rekey` does
    assert StateStore(path, codec=codec(KVMSTATE_STATE_KEY=KEY_B)).read() == state
    with pytest.raises(DiagnosticError):
        StateStore(path, codec=codec(KVMSTATE_STATE_KEY=KEY_A)).read()


def test_tampered_ciphertext_is_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json", codec=codec(KVMSTATE_STATE_PASSPHRASE="correct horse"))
    store.write(State(resources=[secret()]))
    sealed = json.loads(store.path.read_text())
    data = bytearray(base64.b64decode(sealed["data"]))
    data[5] ^= 1
    sealed["data"] = base64.b64encode(bytes(data)).decode()
    store.path.write_text(json.dumps(sealed))
    with pytest.raises(DiagnosticError) as exc:
        StateStore(store.path, codec=codec(KVMSTATE_STATE_PASSPHRASE="correct horse")).read()
    assert summary(exc) == "Encrypted state refused"


def test_a_plaintext_state_is_read_then_encrypted_by_its_next_write(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    StateStore(path).write(State(resources=[secret()]))
    store = StateStore(path, codec=codec(KVMSTATE_STATE_KEY=KEY_A))
    store.write(store.read())
    assert b"hunter2" not in path.read_bytes() and store.read().serial == 2


def test_pg_rows_are_sealed(pg) -> None:
    key = codec(KVMSTATE_STATE_KEY=KEY_A)
    backend, state = PostgresBackend("lab", codec=key), State()
    with backend.lock("apply"):
        backend.put(state, secret())
        backend.write(state)
    with psycopg.connect() as conn:
        dump = json.dumps(conn.execute("SELECT json_agg(data) FROM kvmstate.resources").fetchone()[0]) + \
            json.dumps(conn.execute("SELECT json_agg(data) FROM kvmstate.history").fetchone()[0])
    assert "hunter2" not in dump and "kvmstate_encrypted" in dump
    assert PostgresBackend("lab", codec=key).read() == state
    assert PostgresBackend("lab", codec=key).at_serial(1).resources == [secret()]
    with pytest.raises(DiagnosticError) as exc:
        PostgresBackend("lab", codec=codec(KVMSTATE_STATE_KEY=KEY_B)).read()
    assert summary(exc) == "Wrong state key"


def test_saved_plans_are_encrypted(tmp_path: Path, monkeypatch) -> None:
    plan = Plan(lineage="l", prior_serial=0, resource_changes=[], source=Source(path="p", state="s", hash="h"))
    monkeypatch.setenv("KVMSTATE_STATE_KEY", KEY_A)
    planfile.save(plan, tmp_path / "plan.bin")
    assert planfile.is_plan_file(tmp_path / "plan.bin") and "lineage" not in (tmp_path / "plan.bin").read_text()
    assert planfile.load(tmp_path / "plan.bin").lineage == "l"
    monkeypatch.setenv("KVMSTATE_STATE_KEY", KEY_B)
    with pytest.raises(DiagnosticError):
        planfile.load(tmp_path / "plan.bin")
