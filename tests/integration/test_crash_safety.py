"""Crash safety: apply and destroy killed with SIGKILL at many points, then recovered.

A topology of 20 resources is created, changed (create, update, restart, delete) and destroyed, each run
killed before or after one of its libvirt calls, or half-way through a state write. After every kill:
the state file is valid; the next plan succeeds (no conflicts) and creates exactly what does not exist;
the next apply converges; a second plan is empty; every object kvmstate made is in the state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.libvirtd
KILLER = Path(__file__).with_name("killer.py")
PREFIX = "ksf"


def topology(version: int) -> str:
    """Version 1: 4 networks, 2 pools, 8 volumes, 6 domains. Version 2 changes, adds and removes some."""
    nets, pools, vols, doms = [], [], [], []
    for i in range(4 + (version == 2)):
        dhcp_end = 60 if version == 2 and i == 0 else 50
        nets.append(f"  {PREFIX}-n{i}:\n    mode: {'nat' if i % 2 == 0 else 'isolated'}\n    bridge: {PREFIX}br{i}\n"
                    f"    ipv4: 10.77.{i}.0/24\n    dhcp: {{start: 10.77.{i}.10, end: 10.77.{i}.{dhcp_end}}}\n"
                    f"    autostart: {'true' if version == 2 and i == 1 else 'false'}\n")
    for i in range(2):
        pools.append(f"  {PREFIX}-p{i}:\n    path: /var/lib/libvirt/{PREFIX}-p{i}\n")
    for i in range(8):
        size = "32MiB" if version == 2 and i == 0 else "16MiB"
        vols.append(f"  {PREFIX}-v{i}:\n    pool: {PREFIX}-p{i % 2}\n    capacity: {size}\n    format: raw\n")
    for i in range(6 - (version == 2)):
        memory = "96MiB" if version == 2 and i == 0 else "64MiB"
        doms.append(f"  {PREFIX}-d{i}:\n    type: qemu\n    memory: {memory}\n    power: {'running' if i < 2 else 'stopped'}\n"
                    f"    disks: [{{volume: {PREFIX}-v{i}}}]\n    interfaces: [{{network: {PREFIX}-n{i % 4}}}]\n")
    return "".join(["networks:\n", *nets, "pools:\n", *pools, "volumes:\n", *vols, "domains:\n", *doms])


def owned_names(conn) -> dict[str, set[str]]:
    """Every libvirt object of this test's naming, by type."""
    pools = [p for p in conn.listAllStoragePools() if p.name().startswith(PREFIX)]
    return {
        "network": {n.name() for n in conn.listAllNetworks() if n.name().startswith(PREFIX)},
        "pool": {p.name() for p in pools},
        "volume": {v.name() for p in pools if p.isActive() for v in p.listAllVolumes()},
        "domain": {d.name() for d in conn.listAllDomains() if d.name().startswith(PREFIX)},
    }


class Trial:
    def __init__(self, cli, workdir: Path):
        self.cli, self.workdir = cli, workdir
        self.config = workdir / "main.yaml"
        self.state = workdir / "kvmstate.state.json"

    def use(self, version: int) -> None:
        self.config.write_text(topology(version))

    def run(self, command: str, kill_at: str, counts: Path | None = None) -> int:
        env = {**os.environ, "NO_COLOR": "1", "KVMSTATE_KILL_AT": kill_at}
        if counts:
            env["KVMSTATE_KILL_COUNTS"] = str(counts)
        # One worker, so a kill point is one exact place; with several, libvirtd may still finish a request in
        # flight from the killed process after the next plan has read the live objects.
        args = [command, "--auto-approve", "--shutdown-timeout", "0", "--parallelism", "1"]
        return subprocess.run([sys.executable, str(KILLER), *args], cwd=self.workdir, env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL).returncode

    def count(self, command: str) -> dict[str, int]:
        counts = self.workdir / "counts.json"
        assert self.run(command, "count", counts) == 0
        return json.loads(counts.read_text())


def check_recovery(trial: Trial, conn, version: int | None) -> None:
    """After a kill: valid state, a plan that creates what is missing, convergence, nothing orphaned."""
    if trial.state.exists():
        assert json.loads(trial.state.read_text())["version"] == 1
    if version is None:
        trial.cli("destroy", "--auto-approve", "--shutdown-timeout", "0")
    else:
        trial.use(version)
        plan = json.loads(trial.cli("plan", "--json").stdout)
        live = owned_names(conn)
        creates = {c["address"] for c in plan["resource_changes"] if c["action"] == "create"}
        missing = {c["address"] for c in plan["resource_changes"] if c["name"] not in live[c["type"]]}
        assert creates == missing, (creates, missing)
        trial.cli("apply", "--auto-approve", "--shutdown-timeout", "0")
        assert "No changes." in trial.cli("plan", "--detailed-exitcode").stdout
    state = json.loads(trial.state.read_text())
    assert not [r for r in state["resources"] if r["pending"]]
    recorded = {t: {r["name"] for r in state["resources"] if r["type"] == t} for t in owned_names(conn)}
    assert owned_names(conn) == recorded, "objects made by kvmstate but not in the state, or the reverse"


def kill_points(calls: int, writes: int, n: int) -> list[str]:
    """n points spread over a run's libvirt calls, alternating before/after, plus two state writes."""
    points = [f"{'before' if i % 2 == 0 else 'after'}:{1 + i * (calls - 1) // max(n - 1, 1)}" for i in range(n)]
    return points + [f"write:{1 + writes // 3}", f"write:{max(1, 2 * writes // 3)}"]


def test_killed_apply_and_destroy_recover(cli, conn, workdir: Path) -> None:
    trial = Trial(cli, workdir)
    trial.use(1)
    create = trial.count("apply")
    trial.use(2)
    change = trial.count("apply")
    trial.cli("destroy", "--auto-approve", "--shutdown-timeout", "0")
    trial.use(1)
    trial.cli("apply", "--auto-approve", "--shutdown-timeout", "0")
    destroy = trial.count("destroy")
    phases = [("create", 1, "apply", create, 12), ("change", 2, "apply", change, 10),
              ("destroy", 1, "destroy", destroy, 8)]
    results = []
    for phase, version, command, counts, n in phases:
        for point in kill_points(counts["calls"], counts["writes"], n):
            trial.use(1)
            if phase != "create":
                trial.cli("apply", "--auto-approve", "--shutdown-timeout", "0")
            trial.use(version)
            code = trial.run(command, point)
            assert code == -9, f"{phase} at {point} was not killed (exit {code})"
            check_recovery(trial, conn, None if phase == "destroy" else version)
            trial.cli("destroy", "--auto-approve", "--shutdown-timeout", "0")
            assert not any(owned_names(conn).values())
            results.append((phase, point))
    assert len(results) >= 30
    (Path(os.environ.get("KVMSTATE_FAULT_REPORT", workdir / "faults.json"))).write_text(json.dumps(
        {"trials": len(results), "calls": {"create": create, "change": change, "destroy": destroy},
         "points": results, "objects_lost": 0, "objects_orphaned": 0}, indent=1))
