"""A libvirt test-driver host holding a whole topology, with the state that records it.

libvirt's test driver reads a node description (`test:///path/node.xml`) into memory
at each connection. To plan against thousands of existing objects, the objects are
made once through the provider on an empty test host, their XML is written into a
node file, and a state file records them, as an apply would have.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from kvmstate.config import load
from kvmstate.plan.live import live_key, read_live, request_for, verified_fingerprint
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Registry
from kvmstate.state import State, StateResource, StateStore
from kvmstate_libvirt import LibvirtProvider

from bench.topology import Topology

NODE = """<node><cpu><mhz>3000</mhz><model>i686</model><active>4</active><nodes>1</nodes><sockets>1</sockets>
<cores>4</cores><threads>1</threads></cpu><memory>8388608</memory></node>"""


def build(topo: Topology, folder: Path, style: str = "for_each") -> tuple[str, Path, Path]:
    """(URI, configuration folder, state file) of a test host holding `topo`, all already applied, written
    in `style` (see Topology.yaml)."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.xml"
    empty.write_text(NODE)
    config_dir = folder / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "main.yaml").write_text(topo.yaml(style=style))
    if style == "modules":
        (config_dir / "node").mkdir(exist_ok=True)
        (config_dir / "node" / "main.yaml").write_text(topo.module_yaml())
    provider = LibvirtProvider()
    provider.configure({"default": f"test://{empty}"}, {})
    registry = Registry([provider])
    config = load(config_dir, registry)
    state = State()
    plan = make_plan(config, state, registry)
    changes = {c.address: c for c in plan.resource_changes}
    resources = []
    for address in config.graph.order():
        change = changes[address]
        obj = provider.create(request_for(change, config, state.lineage))
        resources.append(StateResource(address=address, type=change.type, name=change.name, host=change.host,
                                       identity=obj.identity, attributes=change.after, dependencies=change.dependencies))
    state.resources = sorted(resources, key=lambda r: r.address)
    conn = provider.connections.get("default").conn
    node = ET.fromstring(NODE)
    for net in conn.listAllNetworks():
        node.append(ET.fromstring(net.XMLDesc(0)))
    for pool in conn.listAllStoragePools():
        el = ET.fromstring(pool.XMLDesc(0))
        for vol in pool.listAllVolumes(0):
            el.append(ET.fromstring(vol.XMLDesc(0)))
        node.append(el)
    for dom in conn.listAllDomains(0):
        node.append(ET.fromstring(dom.XMLDesc(0)))
    provider.close()
    node_file = folder / "node.xml"
    node_file.write_bytes(ET.tostring(node))
    record_fingerprints(state, {"default": f"test://{node_file}"})
    state_file = folder / "kvmstate.state.json"
    StateStore(state_file).write(state)
    return f"test://{node_file}", config_dir, state_file


def record_fingerprints(state: State, uris: dict[str, str]) -> None:
    """Give each recorded resource the fingerprint an apply records: its live object's, read from `uris` (host
    -> URI), when it compares equal to the recorded attributes."""
    provider = LibvirtProvider()
    provider.configure(uris, {})
    registry = Registry([provider])
    live = read_live(registry, {(r.host, r.type) for r in state.resources})
    for r in state.resources:
        obj = live[live_key(registry, r.host, r.type, r.name, r.attributes)]
        r.fingerprint = verified_fingerprint(registry, obj, r.attributes, state.lineage, r.address)
    provider.close()
