"""The load and plan fast paths change nothing: every scenario, and the benchmark's topology written with
`for_each`, with locals and `for`, and one line per object, plans alike with them switched off."""

from __future__ import annotations

import json
from pathlib import Path

import hcl2
import pytest

from kvmstate.addrs import Address
from kvmstate.apply.applier import apply_plan, record_fingerprints
from kvmstate.config import expand, load, loader, plain_refs
from kvmstate.diagnostics import DiagnosticError, format_plain
from kvmstate.plan import live, planner
from kvmstate.plan.planner import _unchanged_change as unchanged_change, make_plan
from kvmstate.provider import Registry
from kvmstate.state import State, StateStore

from bench.topology import Topology
from tests.engine.fake_provider import FakeProvider
from tests.engine.scenarios import LINEAGE, run_until_plan
from tests.engine.test_scenarios import SCENARIOS


def without_fast_paths(monkeypatch) -> None:
    """Every interpolation through the HCL grammar, every attribute of every instance evaluated and validated,
    three live views per resource, and no object trusted by its fingerprint."""
    monkeypatch.setattr(plain_refs, "parse", lambda text, pos: None)
    monkeypatch.setattr(loader, "_literal_spec", lambda raw: False)
    monkeypatch.setattr(expand, "literal_keys", lambda raw: frozenset())
    monkeypatch.setattr(planner, "_shared_view", lambda registry, obj, resource, recorded: None)
    monkeypatch.setattr(planner, "_unchanged", lambda obj, resource, recorded: False)
    monkeypatch.setattr(planner, "attribute_changes",
                        lambda registry, obj, desired, recorded, view=None:
                        live.attribute_changes(registry, obj, desired, recorded))


def outcome(folder: Path, tmp: Path) -> str:
    """The scenario's plan as JSON, or its diagnostics."""
    try:
        plan, _, _ = run_until_plan(folder, tmp)
    except DiagnosticError as exc:
        return "\n".join(format_plain(d) for d in exc.diagnostics)
    return json.dumps(plan.model_dump(mode="json"), indent=1)


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario_plans_alike_without_fast_paths(folder: Path, tmp_path: Path, monkeypatch) -> None:
    fast = outcome(folder, tmp_path / "fast")
    without_fast_paths(monkeypatch)
    assert outcome(folder, tmp_path / "slow") == fast


def plan_topology(tmp: Path, styles: tuple[str, ...]) -> list[str]:
    """Apply the topology written with `for_each`, then plan it written in each style: the plans as JSON."""
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    topo = Topology(7, prefix="t")
    first = tmp / "for_each"
    first.mkdir(parents=True)
    (first / "main.yaml").write_text(topo.yaml())
    state = State(lineage=LINEAGE)
    config = load(first, registry)
    assert apply_plan(make_plan(config, state, registry), config, state, StateStore(tmp / "state.json"), registry).ok
    plans = []
    for style in styles:
        folder = tmp / f"{style}-plan"
        folder.mkdir()
        (folder / "main.yaml").write_text(topo.yaml(style=style))
        plans.append(json.dumps(make_plan(load(folder, registry), state, registry).model_dump(mode="json"), indent=1))
    return plans


def test_topology_plans_alike_without_fast_paths(tmp_path: Path, monkeypatch) -> None:
    trusted = []
    monkeypatch.setattr(planner, "_unchanged_change", lambda *args: trusted.append(args) or
                        unchanged_change(*args))
    fast = plan_topology(tmp_path / "fast", ("for_each", "locals"))
    assert len(trusted) == 2 * Topology(7).resources       # every object of both plans known by its fingerprint
    assert all('"action": "no-op"' in p and '"create"' not in p for p in fast)
    without_fast_paths(monkeypatch)
    assert plan_topology(tmp_path / "slow", ("for_each", "locals")) == fast


def test_literal_block_instances_share_one_validated_spec(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(
        "networks:\n  lan:\n    for_each: {a: 1, b: 2, c: 3}\n    name: lan-${each.key}\n    mode: isolated\n"
        "    ipv4: 10.9.0.0/24\n  wan:\n    for_each: {a: 1, b: 2}\n    mode: isolated\n"
        "    ipv4: 10.8.${each.value}.0/24\n")
    provider = FakeProvider()
    config = load(tmp_path, Registry([provider]))
    lan = [r for a, r in sorted(config.resources.items()) if a.name == "lan"]
    wan = [r for a, r in sorted(config.resources.items()) if a.name == "wan"]
    assert [r.object_name for r in lan] == ["lan-a", "lan-b", "lan-c"]
    assert lan[0].spec is lan[1].spec is lan[2].spec
    assert wan[0].spec is not wan[1].spec
    assert [r.attributes["ipv4"] for r in wan] == ["10.8.1.0/24", "10.8.2.0/24"]


def test_plain_references_load_without_the_grammar(tmp_path: Path, monkeypatch) -> None:
    def no_grammar(text: str):
        raise AssertionError(f"the HCL grammar parsed {text!r}")
    monkeypatch.setattr(hcl2, "parses_to_tree", no_grammar)
    (tmp_path / "main.yaml").write_text(
        "pools:\n  images: {name: t-pool, path: /tmp/t}\nvolumes:\n  disk: {count: 3, name: 't-vol${count.index}', "
        "pool: '${pool.images}', capacity: 16MiB}\ndomains:\n  vm: {count: 3, name: 't-vm${ count.index }', type: qemu, "
        "memory: 32MiB, disks: [{volume: '${volume.disk[count.index]}'}]}\n")
    config = load(tmp_path, Registry([FakeProvider()]))
    vm = config.resources[Address("domain", "vm", 2)]
    assert vm.object_name == "t-vm2" and vm.attributes["disks"][0]["volume"] == "t-vol2"
    assert Address("volume", "disk", 2) in config.dependencies(vm.address)


def test_an_apply_records_the_fingerprints_a_state_lacks(tmp_path: Path, monkeypatch) -> None:
    """A state from before fingerprints: the plan compares every object, the apply records their fingerprints in
    one write, and the next plan trusts them all, planning the same."""
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    (tmp_path / "main.yaml").write_text(Topology(3, prefix="t").yaml())
    config, store = load(tmp_path, registry), StateStore(tmp_path / "state.json")
    state = State(lineage=LINEAGE)
    assert apply_plan(make_plan(config, state, registry), config, state, store, registry).ok
    for recorded in state.resources:
        recorded.fingerprint = None                      # as a version 1 state reads
    first = make_plan(config, state, registry)
    assert len(first._fingerprints) == len(state.resources)
    record_fingerprints(first, state, store)
    again = store.read()
    assert all(r.fingerprint for r in again.resources)
    trusted = []
    monkeypatch.setattr(planner, "_unchanged_change", lambda *args: trusted.append(args) or unchanged_change(*args))
    second = make_plan(config, again, registry)
    assert len(trusted) == len(again.resources) and not second._fingerprints
    assert second.model_dump(mode="json") == first.model_dump(mode="json") | {"prior_serial": again.serial}
