"""The local backend's journal: O(1) appends, replay after a crash, folding into the state file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from kvmstate.state import State, StateResource
from kvmstate.state.store import StateStore


def resource(i: int) -> StateResource:
    return StateResource(address=f"network.n{i}", type="network", name=f"n{i}", host="default", identity=str(i),
                         attributes={"bridge": f"br{i}"})


def test_each_action_appends_one_line_and_the_end_folds_them(tmp_path: Path) -> None:
    store, state = StateStore(tmp_path / "s.json"), State()
    for i in range(3):
        store.put(state, resource(i))
        assert len(store.journal.path.read_text().splitlines()) == i + 1
    store.remove(state, "network.n0")
    assert not store.path.exists() and StateStore(store.path).read() == state
    store.checkpoint()
    assert json.loads(store.path.read_text())["serial"] == 4 and not store.journal.pending()
    assert StateStore(store.path).read() == state


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    store, state = StateStore(tmp_path / "s.json"), State()
    store.put(state, resource(0))
    store.put(state, resource(1))
    data = store.journal.path.read_bytes()
    store.journal.path.write_bytes(data[:-20])        # the crash cut the second append
    again = StateStore(store.path).read()
    assert [r.address for r in again.resources] == ["network.n0"] and again.serial == 1


def test_lines_already_folded_are_skipped(tmp_path: Path) -> None:
    store, state = StateStore(tmp_path / "s.json"), State()
    store.put(state, resource(0))
    lines = store.journal.path.read_bytes()
    store.checkpoint()
    store.journal.path.write_bytes(lines)             # a crash between writing the file and emptying the journal
    assert StateStore(store.path).read() == state


WRITER = """
import sys
from kvmstate.state import State, StateResource
from kvmstate.state.store import StateStore
store, state = StateStore(sys.argv[1]), State()
with store.lock("apply"):
    for i in range(100000):
        store.put(state, StateResource(address=f"network.n{i}", type="network", name=f"n{i}", host="default",
                                       identity=str(i), attributes={}))
        if i == 20:
            print("going", flush=True)
"""


def test_sigkill_between_writes_leaves_a_consistent_state_and_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "going"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    state = StateStore(path).read()
    assert state.serial == len(state.resources) > 20
    assert [r.address for r in state.resources] == sorted(f"network.n{i}" for i in range(state.serial))
    with StateStore(path).lock("apply"):                # the kernel released it; the journal is folded in
        pass
    assert StateStore(path).read() == state and json.loads(path.read_text())["serial"] == state.serial


def test_the_next_command_folds_a_torn_journal_before_appending(tmp_path: Path) -> None:
    store, state = StateStore(tmp_path / "s.json"), State()
    store.put(state, resource(0))
    store.put(state, resource(1))
    store.journal.close()
    data = store.journal.path.read_bytes()
    store.journal.path.write_bytes(data[:-20])        # a killed command's torn append
    again = StateStore(store.path)
    with again.lock("apply"):
        current = again.read()
        again.put(current, resource(2))
    assert [r.address for r in StateStore(store.path).read().resources] == ["network.n0", "network.n2"]


def test_an_append_after_a_torn_line_cuts_it_first(tmp_path: Path) -> None:
    store, state = StateStore(tmp_path / "s.json"), State()
    store.put(state, resource(0))
    store.put(state, resource(1))
    store.journal.close()
    store.journal.path.write_bytes(store.journal.path.read_bytes()[:-20])
    state = StateStore(store.path).read()
    StateStore(store.path).put(state, resource(2))          # no lock: the journal itself cuts the torn line
    assert [r.address for r in StateStore(store.path).read().resources] == ["network.n0", "network.n2"]
