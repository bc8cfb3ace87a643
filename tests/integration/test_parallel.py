"""Parallel apply and destroy on a real libvirtd: everything made, recorded once, and removed in order."""

from __future__ import annotations

import json
from pathlib import Path

import libvirt
import pytest

from bench.topology import Topology
from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd
N = 3
TOPOLOGY = Topology(N, prefix="par", pool_path="/var/lib/libvirt/kvmstate-par")


@pytest.fixture
def par(tmp_path: Path, conn):
    (tmp_path / "main.yaml").write_text(TOPOLOGY.yaml())
    run = Cli(tmp_path)
    yield run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    names = [d.name() for d in conn.listAllDomains()] + [n.name() for n in conn.listAllNetworks()] + \
        [p.name() for p in conn.listAllStoragePools()]
    assert not [name for name in names if name.startswith("par-")]


def test_parallel_apply_then_destroy(par: Cli, conn, tmp_path: Path) -> None:
    out = par("apply", "--auto-approve", "--parallelism", "6").stdout
    assert f"Apply complete! Resources: {3 * N + 1} added" in out
    running = {d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)}
    assert {TOPOLOGY.dom(i) for i in range(N)} <= running
    active = {n.name() for n in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)}
    assert {TOPOLOGY.net(i) for i in range(N)} <= active
    pool = conn.storagePoolLookupByName(TOPOLOGY.pool)
    assert sorted(v.name() for v in pool.listAllVolumes(0)) == [TOPOLOGY.vol(i) for i in range(N)]

    state = json.loads((tmp_path / "kvmstate.state.json").read_text())
    assert state["serial"] == 2 * (3 * N + 1)               # per create: the intent, then the result; none lost
    assert len({r["address"] for r in state["resources"]}) == 3 * N + 1
    assert par("plan", "--detailed-exitcode").returncode == 0

    out = par("destroy", "--auto-approve", "--parallelism", "6", "--shutdown-timeout", "1").stdout
    assert f"{3 * N + 1} destroyed" in out
    assert not [d for d in conn.listAllDomains() if d.name().startswith("par-")]
    assert not [p for p in conn.listAllStoragePools() if p.name() == TOPOLOGY.pool]
    assert json.loads((tmp_path / "kvmstate.state.json").read_text())["resources"] == []
