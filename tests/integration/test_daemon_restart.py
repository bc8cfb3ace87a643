"""libvirtd killed in the middle of an apply, and a lost state rebuilt from the ownership marks."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.conftest import PIDFILE, Cli, Paused, daemon_up, restart_libvirtd

pytestmark = pytest.mark.libvirtd


@pytest.fixture
def killable(workdir: Path):
    """The test may kill libvirtd: whatever happens, it runs again afterwards and the objects are destroyed."""
    yield
    if not daemon_up():
        restart_libvirtd().close()
    Cli(workdir)("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)


def test_libvirtd_killed_during_apply(workdir: Path, killable) -> None:
    cli = Cli(workdir)
    with Paused(workdir, 5, "--parallelism", "1") as apply:
        assert apply.paused_at() == "virStoragePool.build"        # the pool is defined, not yet built
        os.kill(int(PIDFILE.read_text()), signal.SIGKILL)
        while daemon_up():
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
