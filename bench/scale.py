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
    """The no-op plan of the topology written with `for_each`, with locals and `for` expressions, and with a
    module called per instance (Topology.yaml; that one on a test host of its own, as its addresses differ),
    next to the floor."""
    topo = topology_of(resources)
    uri, config, state = testdriver.build(topo, folder / f"scale-{resources}")
    computed = config.parent / "config-locals"
    computed.mkdir(exist_ok=True)
    (computed / "main.yaml").write_text(topo.yaml(style="locals"))
    check_noop(computed, state, uri)
    modules_uri, modules_config, modules_state = testdriver.build(topo, folder / f"scale-{resources}-modules",
                                                                  style="modules")
    check_noop(modules_config, modules_state, modules_uri)
    commands = {"plan": (config, state, uri), "plan_locals": (computed, state, uri),
                "plan_modules": (modules_config, modules_state, modules_uri)}
    runs: dict[str, list[tuple[float, float]]] = {kind: [] for kind in (*commands, "floor")}
    for _ in range(reps):
        for kind, (files, recorded, at) in commands.items():      # exit 0: no changes (2 would fail the run)
            runs[kind].append(measure.run([measure.KVMSTATE, "plan", str(files), "--state", str(recorded),
                                           "--uri", at, "--detailed-exitcode"]))
        runs["floor"].append(measure.run([measure.PYTHON, "-m", "bench.floor", uri]))
    return {"resources": topo.resources} | {f"{kind}_{what}": figure for kind, rounds in runs.items() for what, figure in
                                            (("s", measure.median([r[0] for r in rounds])),
                                             ("mib", max(r[1] for r in rounds)))} | {"runs": runs}


def calls_of_noop_plan(resources: int, folder: Path) -> dict:
    """Libvirt calls a no-op plan makes, in total and as XML reads, by `class.method`."""
    topo = topology_of(resources)
    uri, config, state = testdriver.build(topo, folder / f"calls-{resources}")
    with CallCounter() as counter:
        check_noop(config, state, uri)
    calls = counter.remote()
    xml_reads = sum(v for k, v in calls.items() if k.endswith(".XMLDesc"))
    return {"resources": topo.resources, "total": sum(calls.values()), "xml_reads": xml_reads,
            "other": sum(calls.values()) - xml_reads, "by_call": calls}


def check_noop(config: Path, state: Path, uri: str) -> None:
    """Plan in this process, as `kvmstate plan` does, and fail unless nothing changed and nothing drifted."""
    from kvmstate.cli.workspace import Workspace
    ws = Workspace.open(config, state, uri)
    try:
        plan = ws.plan(ws.load(), ws.read_state())
    finally:
        ws.close()
    if plan.has_changes or plan.drift:
        raise RuntimeError(f"the plan of {config} is not a no-op: {plan.summary}, drift "
                           f"{sorted({d.kind for d in plan.drift})}")
