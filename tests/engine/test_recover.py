"""state recover: the state rebuilt from ownership marks and what marked objects use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.plan.planner import make_plan
from kvmstate.provider import LiveObject, Owner, Registry
from kvmstate.state.recover import recover
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

BASIC = Path(__file__).resolve().parents[2] / "examples" / "basic"


def applied(tmp_path: Path):
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    config, state = load(BASIC, registry), State()
    assert apply_plan(make_plan(config, state, registry), config, state, StateStore(tmp_path / "s.json"),
                      registry).ok
    return provider, registry, config, state


def test_everything_is_recovered_and_the_next_plan_is_empty(tmp_path: Path) -> None:
    provider, registry, config, lost = applied(tmp_path)
    result = recover(config, registry)
    assert result.state.lineage == lost.lineage
    assert set(result.recovered) == {"domain.basic-vm", "network.basic-net", "volume.basic-root", "pool.basic-pool"}
    assert result.recovered["volume.basic-root"] == "domain.basic-vm uses it"
    assert result.recovered["pool.basic-pool"] == "volume.basic-root uses it"
    assert {r.address: r.identity for r in result.state.resources} == {r.address: r.identity for r in lost.resources}
    assert not make_plan(config, result.state, registry).has_changes


def test_unproven_objects_are_reported_not_recovered(tmp_path: Path) -> None:
    provider, registry, config, lost = applied(tmp_path)
    domain = provider.objects[("default", "domain", "basic-vm")]
    domain.attributes["disks"] = []                          # the volume is no longer proven to be ours
    provider.objects[("default", "network", "other")] = LiveObject(
        "network", "other", "default", "id-x", {"mode": "isolated"}, Owner("another-lineage", "network.other"))
    result = recover(config, registry, lineage=lost.lineage)
    assert "volume.basic-root" in result.missed and "kvmstate import volume.basic-root basic-root" in \
        result.missed["volume.basic-root"]
    assert "pool.basic-pool" in result.missed
    assert "network.other" not in result.recovered


def test_several_lineages_need_a_choice(tmp_path: Path) -> None:
    provider, registry, config, lost = applied(tmp_path)
    provider.objects[("default", "network", "other")] = LiveObject(
        "network", "other", "default", "id-x", {"mode": "isolated"}, Owner("another-lineage", "network.other"))
    with pytest.raises(DiagnosticError) as exc:
        recover(config, registry)
    assert "--lineage" in exc.value.diagnostics[0].detail


def test_marked_objects_no_longer_configured_are_recovered_for_deletion(tmp_path: Path) -> None:
    provider, registry, config, lost = applied(tmp_path)
    del config.resources[next(a for a in config.resources if a.type == "network")]
    result = recover(config, registry)
    assert "not in the configuration" in result.recovered["network.basic-net"]


def test_recover_after_a_rename_records_the_address_the_configuration_names(tmp_path: Path) -> None:
    provider, registry, config, lost = applied(tmp_path)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "main.yaml").write_text((BASIC / "main.yaml").read_text().replace("  basic-vm:\n",
                                                                              "  vm:\n    name: basic-vm\n"))
    renamed = load(conf, registry)
    result = recover(renamed, registry)
    assert result.recovered["domain.vm"].startswith("it carries this state's ownership mark for domain.basic-vm")
    assert result.recovered["volume.basic-root"] == "domain.vm uses it" and "domain.basic-vm" not in result.recovered
    plan = make_plan(renamed, result.state, registry)
    assert not plan.has_changes and [(d.address, d.kind) for d in plan.drift] == [("domain.vm", "remark")]
