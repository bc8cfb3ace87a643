"""Two applies on one state: exactly one runs, the other fails at once naming the holder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.libvirtd
KILLER = Path(__file__).with_name("killer.py")


def test_second_apply_fails_at_once_naming_the_holder(cli, conn, workdir: Path) -> None:
    resume = workdir / "resume"
    env = {**os.environ, "KVMSTATE_KILL_AT": "pause:3", "KVMSTATE_RESUME": str(resume)}
    first = subprocess.Popen([sys.executable, str(KILLER), "apply", "--auto-approve"], cwd=workdir, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        lock, state = workdir / "kvmstate.state.json.lock", workdir / "kvmstate.state.json"
        deadline = time.monotonic() + 120
        while not (state.exists() and lock.exists() and lock.read_text()):   # the first holds the lock, paused
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        holder = json.loads(lock.read_text())
        assert holder["pid"] == first.pid and holder["operation"] == "apply"
        second = cli("apply", "--auto-approve", check=1)
        assert "Error: State locked" in second.stderr
        assert f"pid {first.pid}" in second.stderr and "`apply` since" in second.stderr
        assert "@" in second.stderr                                  # user@host
        resume.touch()
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        resume.touch()
        first.kill() if first.poll() is None else None
    assert "No changes." in cli("plan", "--detailed-exitcode").stdout


def test_ctrl_c_finishes_the_running_action_and_saves_the_state(cli, conn, workdir: Path) -> None:
    import signal
    resume = workdir / "resume"
    env = {**os.environ, "KVMSTATE_KILL_AT": "pause:2", "KVMSTATE_RESUME": str(resume), "NO_COLOR": "1"}
    apply = subprocess.Popen([sys.executable, str(KILLER), "apply", "--auto-approve", "--parallelism", "1"],
                             cwd=workdir, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        state = workdir / "kvmstate.state.json"
        deadline = time.monotonic() + 120
        while not state.exists():                       # paused inside the first create (network.basic-net)
            assert apply.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        apply.send_signal(signal.SIGINT)
        time.sleep(0.5)                                 # let the handler run before the call resumes
        resume.touch()
        out, err = apply.communicate(timeout=300)
    finally:
        resume.touch()
        apply.kill() if apply.poll() is None else None
    assert apply.returncode == 130, err
    assert "finishing the running actions" in err and "Interrupted: 1 actions completed" in err
    assert cli("state", "list").stdout.splitlines() == ["network.basic-net"]
    assert conn.networkLookupByName("basic-net").isActive()
    assert "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy." in cli("plan").stdout
