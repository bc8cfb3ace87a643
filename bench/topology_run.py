"""Create, re-apply with nothing to do, and delete the topology with each tool, on the private libvirtd.

Each tool's run is checked against libvirt afterwards (N running domains, N active
networks, N volumes; then nothing left), so a fast run that did less is an error,
not a result.
"""

from __future__ import annotations

from pathlib import Path

import libvirt

from bench import ansible, measure
from bench.topology import Topology

URI = "qemu:///system"


def kvmstate_cmds(folder: Path, parallelism: int) -> dict[str, list[str]]:
    common = ["--auto-approve", "--shutdown-timeout", "0", "--parallelism", str(parallelism), str(folder)]
    return {"create": [measure.KVMSTATE, "apply", *common], "noop": [measure.KVMSTATE, "apply", *common],
            "delete": [measure.KVMSTATE, "destroy", *common]}


def sequential_cmds(t: Topology) -> dict[str, list[str]]:
    return {phase: [measure.PYTHON, "-m", "bench.sequential", phase, str(t.n), URI]
            for phase in ("create", "noop", "delete")}


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
    elif tool == "sequential":
        cmds = sequential_cmds(t)
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
    return out
