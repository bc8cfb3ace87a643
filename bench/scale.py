"""A no-op plan of thousands of resources on libvirt's test driver, against what it cannot avoid.

For each size the topology is built once on a test-driver host (bench.testdriver),
then `kvmstate plan` runs against it (a process, as a user runs it) next to
bench.floor (a process that only lists, reads and parses every object's XML). The
test driver runs inside the process that opens it, so both figures include libvirt
reading its node file. Libvirt calls of a no-op plan are counted by size through
bench.calls.
"""

from __future__ import annotations

from pathlib import Path

from bench import measure, testdriver
from bench.calls import CallCounter
from bench.topology import Topology


def topology_of(resources: int) -> Topology:
    """The topology closest to `resources` resources (3n + 1)."""
    return Topology(max(1, (resources - 1) // 3))


def plan_vs_floor(resources: int, folder: Path, reps: int) -> dict:
    topo = topology_of(resources)
    uri, config, state = testdriver.build(topo, folder / f"scale-{resources}")
    plan = [measure.KVMSTATE, "plan", str(config), "--state", str(state), "--uri", uri, "--detailed-exitcode"]
    floor = [measure.PYTHON, "-m", "bench.floor", uri]
    runs: dict[str, list[tuple[float, float]]] = {"plan": [], "floor": []}
    for _ in range(reps):
        runs["plan"].append(measure.run(plan))          # exit 0: no changes (2 would fail the run)
        runs["floor"].append(measure.run(floor))
    return {"resources": topo.resources,
            "plan_s": measure.median([r[0] for r in runs["plan"]]),
            "plan_mib": max(r[1] for r in runs["plan"]),
            "floor_s": measure.median([r[0] for r in runs["floor"]]),
            "floor_mib": max(r[1] for r in runs["floor"]),
            "runs": runs}


def calls_of_noop_plan(resources: int, folder: Path) -> dict:
    """Libvirt calls a no-op plan makes, in total and as XML reads, by `class.method`."""
    from kvmstate.cli.workspace import Workspace
    topo = topology_of(resources)
    uri, config, state = testdriver.build(topo, folder / f"calls-{resources}")
    with CallCounter() as counter:
        ws = Workspace.open(config, state, uri)
        plan = ws.plan(ws.load(), ws.read_state())
        ws.close()
    assert not plan.has_changes
    calls = counter.remote()
    xml_reads = sum(v for k, v in calls.items() if k.endswith(".XMLDesc"))
    return {"resources": topo.resources, "total": sum(calls.values()), "xml_reads": xml_reads,
            "other": sum(calls.values()) - xml_reads, "by_call": calls}
