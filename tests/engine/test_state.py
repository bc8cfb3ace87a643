"""The state store: refusing bad files untouched, and the lock naming its holder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kvmstate.diagnostics import DiagnosticError
from kvmstate.state import State, StateStore


@pytest.mark.parametrize("content,summary", [
    ('{"version": 1, "serial": ', "Corrupt state file"),
    ("not json at all", "Corrupt state file"),
    ('{"version": 7, "serial": 1, "lineage": "x", "resources": []}', "State from a newer kvmstate"),
    ('{"version": 1, "serial": -1, "lineage": "x", "resources": []}', "Invalid state file"),
    ('{"version": 1, "serial": 1, "lineage": "x", "resources": [{"address": "domain.a"}]}', "Invalid state file"),
])
def test_bad_state_is_refused_and_left_untouched(tmp_path: Path, content: str, summary: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(DiagnosticError) as exc:
        StateStore(path).read()
    assert exc.value.diagnostics[0].summary == summary
    assert path.read_text() == content


def test_missing_state_reads_as_none(tmp_path: Path) -> None:
    assert StateStore(tmp_path / "none.json").read() is None


def test_write_round_trips_and_bumps_serial(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    state = State()
    store.write(state)
    store.write(state)
    again = store.read()
    assert again.serial == 2 and again.lineage == state.lineage
    assert json.loads(store.backup_path.read_text())["serial"] == 1


def test_second_locker_is_told_who_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from kvmstate.state import StateStore\n"
        f"with StateStore({str(path)!r}).lock('apply'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DiagnosticError) as exc:
            with StateStore(path).lock("plan"):
                pass
        detail = exc.value.diagnostics[0].detail
        assert exc.value.diagnostics[0].summary == "State locked"
        assert f"pid {holder.pid}" in detail and "`apply`" in detail
    finally:
        holder.kill()
        holder.wait()
    with StateStore(path).lock("plan"):       # released by the kernel when the holder died
        pass


def test_lock_timeout_waits_for_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from kvmstate.state import StateStore\n"
        f"with StateStore({str(path)!r}).lock('apply'):\n"
        "    print('locked', flush=True)\n"
        "    input()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DiagnosticError) as exc:
            with StateStore(path).lock("plan", timeout=0.3):
                pass
        assert "(waited 0.3s)" in exc.value.diagnostics[0].detail
        holder.stdin.write("\n")
        holder.stdin.flush()                    # the holder releases the lock: a waiting locker gets it
        with StateStore(path).lock("plan", timeout=30):
            pass
    finally:
        holder.kill()
        holder.wait()
