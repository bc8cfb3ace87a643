"""Create, re-apply with nothing to do, and delete the topology with each tool, on the private libvirtd.

Each tool's run is checked against libvirt afterwards (N running domains, N active
networks, N volumes; then nothing left), so a fast run that did less is an error,
not a result; kvmstate's no-op re-apply is repeated, untimed, counting the libvirt
calls that change something: there must be none.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import libvirt

from bench import ansible, measure
from bench.topology import Topology

URI = "qemu:///system"


def kvmstate_cmds(folder: Path, parallelism: int) -> dict[str, list[str]]:
    common = ["--auto-approve", "--shutdown-timeout", "0", "--parallelism", str(parallelism), str(folder)]
    return {"create": [measure.KVMSTATE, "apply", *common], "noop": [measure.KVMSTATE, "apply", *common],
            "delete": [measure.KVMSTATE, "destroy", *common]}


def script_cmds(script: str, t: Topology) -> dict[str, list[str]]:
    """bench/sequential.py or bench/parallel.py (the same calls on 10 threads)."""
    return {phase: [measure.PYTHON, "-m", f"bench.{script}", phase, str(t.n), URI]
            for phase in ("create", "noop", "delete")}


def check_noop(folder: Path) -> None:
    """The no-op phase did nothing: kvmstate's re-apply, run again through a wrapper that counts the libvirt calls
    that change something (tests/integration/killer.py), makes none and writes no state."""
    state = folder / "kvmstate.state.json"
    serial = json.loads(state.read_text())["serial"]
    counts = folder / "noop-calls.json"
    killer = measure.ROOT / "tests" / "integration" / "killer.py"
    env = {**os.environ, "KVMSTATE_KILL_AT": "count", "KVMSTATE_KILL_COUNTS": str(counts), "NO_COLOR": "1"}
    subprocess.run([measure.PYTHON, str(killer), "apply", "--auto-approve", str(folder)], env=env, check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    made = json.loads(counts.read_text())
    if made["calls"] or json.loads(state.read_text())["serial"] != serial:
        raise RuntimeError(f"the no-op apply of {folder} changed something: {made['labels']}, "
                           f"{made['writes']} state writes")


def check(t: Topology, made: bool) -> None:
    """The topology is fully there (running), or entirely gone."""
    conn = libvirt.open(URI)
    try:
        doms = [d for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) if d.name().startswith(t.prefix)]
        nets = [n for n in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE) if n.name().startswith(t.prefix)]
        pools = [p for p in conn.listAllStoragePools() if p.name() == t.pool]
        vols = pools[0].listAllVolumes(0) if pools and pools[0].isActive() else []
        want = t.n if made else 0
        found = (len(doms), len(nets), len(pools), len(vols))
        if found != (want, want, int(made), want):
            raise RuntimeError(f"after {'create' if made else 'delete'} of N={t.n}: {found} domains, networks, "
                               f"pools, volumes; expected {(want, want, int(made), want)}")
    finally:
        conn.close()


def one_round(tool: str, t: Topology, folder: Path) -> dict[str, float]:
    """Seconds of create, no-op re-apply and delete for one tool."""
    out = {}
    if tool.startswith("kvmstate"):
        work = folder / f"{tool}-{t.n}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "main.yaml").write_text(t.yaml())
        for state in work.glob("kvmstate.state.json*"):
            state.unlink()
        cmds = kvmstate_cmds(work, 1 if tool == "kvmstate-p1" else 10)
    elif tool in ("sequential", "parallel"):
        cmds = script_cmds(tool, t)
    for phase in ("create", "noop", "delete"):
        if tool == "ansible":
            import time
            started = time.perf_counter()
            ansible.run(t, phase, folder)
            out[phase] = time.perf_counter() - started
        else:
            out[phase] = measure.run(cmds[phase])[0]
        if phase != "noop":
            check(t, made=phase == "create")
        elif tool.startswith("kvmstate"):
            check_noop(work)
    return out
