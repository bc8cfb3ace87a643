"""A no-op plan over many hosts: 10 test-driver hosts of 500 resources each, next to one host of 5,000.

The topology of `per_host` resources is built once on a test-driver node file
(bench.testdriver) and copied once per host, each copy's ownership marks naming
that host's instances; every host is a `test://` connection to its copy, so each
one holds its own in-memory objects and names repeat across hosts, as on real
hosts. The configuration declares the hosts from a variable and puts every
resource on every host with `for_each` (`host = each.key`, `name` = the object's
name), the idiom docs/hosts.md recommends; the state records every instance as an
apply would, so the plan is a true no-op (no change, no drift).

    python -m bench.multihost [HOSTS] [PER_HOST]      (default 10 500; prints the figures)
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

from bench import measure, scale, testdriver
from kvmstate.state import State, StateResource, StateStore
from kvmstate_libvirt.xml import ownership


def build(hosts: int, per_host: int, folder: Path, style: str = "for_each") -> tuple[Path, Path, int]:
    """(configuration folder, state file, resources) of `hosts` test hosts holding `per_host` resources each.

    `style` "for_each" writes one resource per object with `for_each` over the hosts; "plain" writes every
    instance out (`kb-net0-h3: {host: h3, name: kb-net0, ...}`), without any expression."""
    topo = scale.topology_of(per_host)
    uri, _, state_file = testdriver.build(topo, folder / "base", style="plain")
    names = [f"h{i}" for i in range(hosts)]
    instance = (lambda a, h: f"{a}-{h}") if style == "plain" else (lambda a, h: f'{a}["{h}"]')
    uris = {h: _host_node(uri, folder, h, instance) for h in names}
    config = folder / "config"
    config.mkdir(parents=True, exist_ok=True)
    lines = ["variables:", "  hosts:", "    default:"] + [f"      {h}: {json.dumps(uris[h])}" for h in names]
    lines += ["hosts:", "  all:", '    for_each: "${var.hosts}"', '    uri: "${each.value}"']
    for line in topo.yaml(style="plain").splitlines():
        body = re.match(r"^  ([\w.-]+): \{(.*)\}$", line)
        if body is None:
            lines.append(line)        # a section header
            continue
        name, rest = body.groups()
        if style == "plain":
            lines += [f"  {name}-{h}: {{host: {h}, name: {name}, {rest}}}" for h in names]
        else:
            lines.append(f'  {name}: {{for_each: "${{var.hosts}}", host: "${{each.key}}", name: {name}, {rest}}}')
    (config / "main.yaml").write_text("\n".join(lines) + "\n")
    single = StateStore(state_file).read()
    state = State(lineage=single.lineage)
    for r in single.resources:
        for h in names:
            state.resources.append(StateResource(
                address=instance(r.address, h), type=r.type, name=r.name, host=h, uri=uris[h], identity=r.identity,
                attributes=r.attributes, dependencies=[instance(d, h) for d in r.dependencies]))
    state.resources.sort(key=lambda r: r.address)
    testdriver.record_fingerprints(state, uris)
    multi_state = folder / "multi.state.json"
    StateStore(multi_state).write(state)
    return config, multi_state, len(state.resources)


def _host_node(uri: str, folder: Path, host: str, instance: Callable[[str, str], str]) -> str:
    """The URI of a copy of the test host `uri` whose ownership marks name `host`'s instances."""
    node = ET.parse(uri.removeprefix("test://"))
    for mark in node.iter(f"{{{ownership.NAMESPACE}}}owner"):
        mark.set("address", instance(mark.get("address"), host))
    path = folder / f"node-{host}.xml"
    node.write(path)
    return f"test://{path}"


def plan_many_hosts(hosts: int, per_host: int, folder: Path, reps: int, style: str = "for_each") -> dict:
    config, state, resources = build(hosts, per_host, folder / f"multi-{hosts}x{per_host}-{style}", style)
    scale.check_noop(config, state, "test:///default")
    plan = [measure.KVMSTATE, "plan", str(config), "--state", str(state), "--uri", "test:///default",
            "--detailed-exitcode"]
    runs = [measure.run(plan) for _ in range(reps)]        # exit 0: no changes (2 would fail the run)
    return {"hosts": hosts, "per_host": scale.topology_of(per_host).resources, "resources": resources, "style": style,
            "plan_s": measure.median([r[0] for r in runs]), "plan_mib": max(r[1] for r in runs), "runs": runs}


def main() -> None:
    hosts, per_host = (int(a) for a in (sys.argv[1:3] if len(sys.argv) > 2 else ("10", "500")))
    with tempfile.TemporaryDirectory(prefix="kvmstate-bench-") as tmp:
        multi = [plan_many_hosts(hosts, per_host, Path(tmp), 3, style) for style in ("for_each", "plain")]
        single = scale.plan_vs_floor(hosts * per_host, Path(tmp), 3)
    for m in multi:
        print(f"{m['hosts']} hosts x {m['per_host']} resources ({m['resources']}, {m['style']}): no-op plan "
              f"{m['plan_s']:.2f} s, {m['plan_mib']:.0f} MiB")
    print(f"1 host x {single['resources']} resources: no-op plan {single['plan_s']:.2f} s, "
          f"{single['plan_mib']:.0f} MiB (floor {single['floor_s']:.2f} s)")


if __name__ == "__main__":
    main()
