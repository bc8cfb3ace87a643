"""libvirtd killed in the middle of an apply, and a lost state rebuilt from the ownership marks."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import libvirt
import pytest

from tests.integration.conftest import Cli, Paused

pytestmark = pytest.mark.libvirtd
PIDFILE = Path("/run/libvirt/libvirtd.pid")


def restart_libvirtd() -> libvirt.virConnect:
    subprocess.run(["libvirtd", "-d", "-p", str(PIDFILE)], check=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["virsh", "-c", "qemu:///system", "uri"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "libvirtd did not come back"
        time.sleep(0.2)
    return libvirt.open("qemu:///system")


def test_libvirtd_killed_during_apply(workdir: Path) -> None:
    cli = Cli(workdir)
    journal = workdir / "kvmstate.state.json.journal"                # an apply records its steps there
    with Paused(workdir, 5, "--parallelism", "1") as apply:
        apply.wait_for(lambda: journal.exists() and "basic-pool" in journal.read_text())   # in the pool's create
        os.kill(int(PIDFILE.read_text()), signal.SIGKILL)
        while subprocess.run(["virsh", "-c", "qemu:///system", "uri"], capture_output=True).returncode == 0:
            time.sleep(0.05)
        out, err = apply.resume()
    assert apply.process.returncode == 1
    assert "Error: pool.basic-pool:" in err and "Run `kvmstate plan` to see what is left." in err
    assert "Traceback" not in err
    down = cli("plan", check=1)
    assert "cannot connect" in down.stderr and "libvirtd" in down.stderr and "Traceback" not in down.stderr
    conn = restart_libvirtd()
    try:
        cli("apply", "--auto-approve", "--shutdown-timeout", "1")
        assert "No changes." in cli("plan", "--detailed-exitcode").stdout
        assert conn.lookupByName("basic-vm").isActive()
        assert conn.storagePoolLookupByName("basic-pool").isActive()
    finally:
        cli("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
        conn.close()


def test_lost_state_is_recovered(cli, conn, workdir: Path) -> None:
    cli("apply", "--auto-approve")
    state = workdir / "kvmstate.state.json"
    identities = state.read_text()
    state.write_text(identities[: len(identities) // 2])                  # truncated: corrupt
    assert "Corrupt state file" in cli("plan", check=1).stderr
    out = cli("state", "recover").stdout
    assert "recovered     domain.basic-vm: it carries this state's ownership mark" in out
    assert "recovered     volume.basic-root: domain.basic-vm uses it" in out
    assert "recovered     pool.basic-pool: volume.basic-root uses it" in out
    assert (workdir / "kvmstate.state.json.corrupt").read_text() == identities[: len(identities) // 2]
    assert "No changes." in cli("plan", "--detailed-exitcode").stdout
    assert cli("state", "list").stdout.split() == [
        "domain.basic-vm", "network.basic-net", "pool.basic-pool", "volume.basic-root"]
