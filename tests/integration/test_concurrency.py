"""Two applies on one state, and Ctrl-C during an apply."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from .conftest import Paused

pytestmark = pytest.mark.libvirtd


def test_second_apply_fails_at_once_naming_the_holder(cli, conn, workdir: Path) -> None:
    lock, journal = workdir / "kvmstate.state.json.lock", workdir / "kvmstate.state.json.journal"
    with Paused(workdir, 3) as first:
        first.wait_for(lambda: journal.exists() and lock.exists() and lock.read_text())  # holds the lock, paused
        holder = json.loads(lock.read_text())
        assert holder["pid"] == first.process.pid and holder["operation"] == "apply"
        started = time.monotonic()
        second = cli("apply", "--auto-approve", check=1)
        elapsed = time.monotonic() - started
        assert elapsed < 2, f"the second apply took {elapsed:.2f} s to fail"
        assert "Error: State locked" in second.stderr
        assert f"pid {first.process.pid}" in second.stderr and "`apply` since" in second.stderr
        assert "@" in second.stderr                                  # user@host
        out, err = first.resume()
        assert first.process.returncode == 0, err
    assert "No changes." in cli("plan", "--detailed-exitcode").stdout


def test_ctrl_c_finishes_the_running_action_and_saves_the_state(cli, conn, workdir: Path) -> None:
    with Paused(workdir, 2, "--parallelism", "1") as apply:
        apply.wait_for((workdir / "kvmstate.state.json.journal").exists)   # paused inside basic-net's create
        apply.process.send_signal(signal.SIGINT)
        heard = ""
        while "Interrupt received" not in heard:                     # the handler ran before the call resumes
            line = apply.process.stderr.readline()
            assert line, "the apply ended without answering the interrupt"
            heard += line
        out, err = apply.resume()
    assert apply.process.returncode == 130, err
    assert "finishing the running actions" in heard and "Interrupted: 1 actions completed" in err
    assert cli("state", "list").stdout.splitlines() == ["network.basic-net"]
    assert conn.networkLookupByName("basic-net").isActive()
    assert "Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy." in cli("plan").stdout
