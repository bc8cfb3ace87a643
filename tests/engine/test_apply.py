"""The applier against the recording fake provider: order, state after each step, failures."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.graph import Graph
from kvmstate.config.loader import Configuration
from kvmstate.plan.planner import make_plan
from kvmstate.provider import ProviderError, Registry, Unreadable
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

BASIC = Path(__file__).resolve().parents[2] / "examples" / "basic"


def setup(tmp_path: Path, fail_on=()):
    provider = FakeProvider(fail_on=fail_on)
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    return provider, registry, StateStore(tmp_path / "state.json")


def test_create_in_dependency_order_then_second_plan_is_empty(tmp_path: Path) -> None:
    provider, registry, store = setup(tmp_path)
    config, state = load(BASIC, registry), State()
    outcome = apply_plan(make_plan(config, state, registry), config, state, store, registry)
    assert outcome.ok
    creates = [c[1] for c in provider.calls if c[0] == "create"]
    assert creates.index("pool.basic-pool") < creates.index("volume.basic-root") < creates.index("domain.basic-vm")
    assert creates.index("network.basic-net") < creates.index("domain.basic-vm")
    saved = store.read()
    assert saved.serial == 8                     # per create: the intent, then the result
    assert [r.address for r in saved.resources] == sorted(creates)
    assert not make_plan(config, saved, registry).has_changes


def test_destroy_deletes_dependents_first(tmp_path: Path) -> None:
    provider, registry, store = setup(tmp_path)
    config, state = load(BASIC, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    empty = Configuration([], {}, Graph())
    outcome = apply_plan(make_plan(empty, state, registry), empty, state, store, registry)
    assert outcome.ok
    deletes = [c[1] for c in provider.calls if c[0] == "delete"]
    assert deletes.index("domain.basic-vm") < deletes.index("volume.basic-root") < deletes.index("pool.basic-pool")
    assert deletes.index("domain.basic-vm") < deletes.index("network.basic-net")
    assert store.read().resources == [] and provider.objects == {}


def test_failure_keeps_completed_actions_and_skips_dependents(tmp_path: Path) -> None:
    provider, registry, store = setup(tmp_path, fail_on={"volume.basic-root"})
    config, state = load(BASIC, registry), State()
    outcome = apply_plan(make_plan(config, state, registry), config, state, store, registry)
    assert outcome.failed == {"volume.basic-root": "injected failure for volume.basic-root"}
    assert outcome.skipped == ["domain.basic-vm"]
    saved = store.read().resources
    assert {r.address for r in saved} == {"network.basic-net", "pool.basic-pool"}   # nothing made, no intent kept
    provider.fail_on.clear()
    remaining = make_plan(config, store.read(), registry)
    assert {c.address: c.action.value for c in remaining.resource_changes if c.action.value != "no-op"} == {
        "volume.basic-root": "create", "domain.basic-vm": "create"}


def test_state_file_backup_and_mode(tmp_path: Path) -> None:
    _, registry, store = setup(tmp_path)
    config, state = load(BASIC, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    after_create = json.loads(store.path.read_text())
    assert store.path.stat().st_mode & 0o777 == 0o600 and not store.journal.pending()   # folded at the end
    empty = Configuration([], {}, Graph())
    apply_plan(make_plan(empty, state, registry), empty, state, store, registry)
    current, backup = json.loads(store.path.read_text()), json.loads(store.backup_path.read_text())
    assert backup == after_create                # the backup is the state before the last apply
    assert current["serial"] == backup["serial"] + 4 and current["resources"] == []
    assert current["lineage"] == backup["lineage"] == state.lineage
    assert not list(tmp_path.glob(".*.tmp"))


def test_provider_problems_stop_the_plan_at_the_attribute(tmp_path: Path) -> None:
    import pytest

    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.provider import Problem
    provider, registry, store = setup(tmp_path)
    provider.problems["domain.basic-vm"] = [Problem("disks[0].volume", "The host cannot attach this volume.")]
    config = load(BASIC, registry)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(config, State(), registry)
    [diag] = exc.value.diagnostics
    assert (diag.summary, diag.address, diag.attribute) == ("Invalid resource", "domain.basic-vm", "disks[0].volume")
    assert diag.position.line == (BASIC / "main.yaml").read_text().splitlines().index("      - volume: basic-root") + 1
    assert not [c for c in provider.calls if c[0] in ("create", "update", "delete")]


def test_failed_create_that_made_something_keeps_its_intent(tmp_path: Path) -> None:
    provider, registry, store = setup(tmp_path)
    config, state = load(BASIC, registry), State()
    original = provider.create

    def half_made(request):
        original(request)                         # the object exists, then the call still fails
        if str(request.address) == "volume.basic-root":
            raise ProviderError("failed after defining")
        return provider.objects[(request.host, request.type, request.name)]
    provider.create = half_made
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    pending = [r for r in store.read().resources if r.pending]
    assert [r.address for r in pending] == ["volume.basic-root"]
    provider.create = original
    again = make_plan(config, store.read(), registry)
    assert [d.kind for d in again.drift] == ["unrecorded"] and again.change("volume.basic-root").action.value == "no-op"


OUTPUTS = '''
pool "p" {
  name = "pool-p"
  path = "/var/lib/libvirt/p"
}
volume "root" {
  for_each = { db = "1GiB", web = "1GiB" }
  name     = "${each.key}-root.qcow2"
  pool     = pool.p
  capacity = "1GiB"
}
output "db_root" {
  value = volume.root["db"].name
}
'''


def test_destroy_clears_the_outputs_that_name_one_instance(tmp_path: Path) -> None:
    """Defect 6: after destroy the outputs are cleared, and evaluating them is no error."""
    from kvmstate.apply.applier import record_outputs
    from kvmstate.plan.model import Options
    provider, registry, store = setup(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "main.hcl").write_text(OUTPUTS)
    config, state = load(tmp_path / "conf", registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    record_outputs(config, state, store)
    assert store.read().outputs["db_root"].value == "db-root.qcow2"
    targeted = Options(destroy=True, targets=['volume.root["web"]'])
    apply_plan(make_plan(config, state, registry, targeted), config, state, store, registry)
    record_outputs(config, state, store, targeted)
    assert store.read().outputs["db_root"].value == "db-root.qcow2"        # still true: kept
    destroy = Options(destroy=True)
    outcome = apply_plan(make_plan(config, state, registry, destroy), config, state, store, registry)
    assert outcome.ok and not provider.objects
    record_outputs(config, state, store, destroy)
    assert store.read().outputs == {} and store.read().resources == []
    record_outputs(config, state, store, destroy)            # destroy again: nothing left, still no error


def test_objects_in_an_unreadable_scope_are_kept_and_wait_for_its_start(tmp_path: Path) -> None:
    """An inactive pool's volumes cannot be listed: they are unknown, kept as recorded (never created again),
    and a changed domain that uses one waits for the pool's start, though the volume itself is unchanged."""
    provider, registry, store = setup(tmp_path)
    config, state = load(BASIC, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    state = store.read()
    del provider.objects[("default", "volume", "basic-root")]
    provider.objects[("default", "pool", "basic-pool")].attributes["active"] = False
    provider.objects[("default", "domain", "basic-vm")].attributes["autostart"] = True
    provider.unreadable.append(Unreadable("volume", "default", "basic-pool", "pool basic-pool is inactive"))
    plan = make_plan(config, state, registry)
    drift = {d.address: d for d in plan.drift}
    assert drift["volume.basic-root"].kind == "unknown"
    assert drift["volume.basic-root"].reason == "pool basic-pool is inactive; its recorded state is kept"
    actions = {c.address: c.action.value for c in plan.resource_changes if c.action.value != "no-op"}
    assert actions == {"pool.basic-pool": "update", "domain.basic-vm": "update"}
    provider.timeline.clear()
    provider.during = lambda address: time.sleep(0.2) if address.startswith("pool.") else None
    assert apply_plan(plan, config, state, store, registry, parallelism=10).ok
    assert provider.timeline.index(("end", "pool.basic-pool")) < provider.timeline.index(("start", "domain.basic-vm"))
    assert store.read().get("volume.basic-root") is not None
