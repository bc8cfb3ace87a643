"""The workflow around plans, with the recording fake provider: saved plans and staleness, refresh-only,
create-before-destroy order, prevent_destroy on destroy, import, state surgery, the lock and the graph."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate.plan import planfile
from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.state.importer import import_object
from kvmstate.plan.model import Action, Options
from kvmstate.plan.planner import make_plan
from kvmstate.provider import LiveObject, Owner, Registry
from kvmstate.render.dot import render_dot, render_svg
from kvmstate.render.formats import Format, render
from kvmstate.render.style import Style
from kvmstate.state import State, StateStore, ops

from tests.engine.fake_provider import FakeProvider

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "scenarios"


@pytest.fixture
def env(tmp_path: Path):
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    shutil.copytree(ROOT / "examples" / "basic", tmp_path / "conf")
    return provider, registry, StateStore(tmp_path / "state.json"), tmp_path / "conf"


def saved_plan(config, state, registry, tmp_path: Path, options: Options | None = None):
    plan = make_plan(config, state, registry, options)
    plan.source = planfile.source(config, str(tmp_path), "state.json")
    planfile.save(plan, tmp_path / "plan.bin")
    return planfile.load(tmp_path / "plan.bin")


def summaries(exc: pytest.ExceptionInfo) -> list[str]:
    return [d.summary for d in exc.value.diagnostics]


def test_saved_plan_is_private_and_reads_back_equal(env, tmp_path: Path) -> None:
    _, registry, _, conf = env
    config = load(conf, registry)
    plan = make_plan(config, State(), registry)
    plan.source = planfile.source(config, str(conf), "s")
    planfile.save(plan, tmp_path / "plan.bin")
    assert (tmp_path / "plan.bin").stat().st_mode & 0o777 == 0o600
    assert planfile.is_plan_file(tmp_path / "plan.bin") and not planfile.is_plan_file(conf / "main.yaml")
    assert planfile.load(tmp_path / "plan.bin") == plan


def test_saved_plan_is_stale_after_another_apply(env, tmp_path: Path) -> None:
    _, registry, store, conf = env
    config, state = load(conf, registry), State()
    saved = saved_plan(config, state, registry, tmp_path)
    planfile.check_fresh(saved, state, config)          # nothing happened: fresh
    apply_plan(make_plan(config, state, registry), config, state, store, registry)  # someone else applies
    with pytest.raises(DiagnosticError) as exc:
        planfile.check_fresh(saved, store.read(), config)
    assert summaries(exc) == ["Stale plan"] and "serial" in exc.value.diagnostics[0].detail


def test_saved_plan_is_stale_when_the_configuration_changed(env, tmp_path: Path) -> None:
    _, registry, _, conf = env
    config, state = load(conf, registry), State()
    saved = saved_plan(config, state, registry, tmp_path)
    (conf / "main.yaml").write_text((conf / "main.yaml").read_text().replace("128MiB", "256MiB"))
    with pytest.raises(DiagnosticError) as exc:
        planfile.check_fresh(saved, state, load(conf, registry))
    assert "configuration files" in exc.value.diagnostics[0].detail


def test_saved_plan_is_stale_when_a_variable_has_another_value(env, tmp_path: Path) -> None:
    """A pipeline applying with other --var-file values was told the files changed when they had not."""
    _, registry, _, conf = env
    config, state = load(conf, registry), State()
    saved = saved_plan(config, state, registry, tmp_path)
    config.variables["size"] = "2GiB"
    with pytest.raises(DiagnosticError) as exc:
        planfile.check_fresh(saved, state, config)
    detail = exc.value.diagnostics[0].detail
    assert "variables have other values" in detail and "files" not in detail


def test_saved_plan_is_stale_when_the_live_objects_changed(env, tmp_path: Path) -> None:
    provider, registry, store, conf = env
    config, state = load(conf, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    (conf / "main.yaml").write_text((conf / "main.yaml").read_text().replace("vcpu: 1", "vcpu: 2"))
    config = load(conf, registry)
    saved = saved_plan(config, state, registry, tmp_path)
    planfile.check_same(saved, make_plan(config, state, registry))                  # unchanged: the same plan
    provider.objects[("default", "domain", "basic-vm")].attributes["power"] = "stopped"
    with pytest.raises(DiagnosticError) as exc:
        planfile.check_same(saved, make_plan(config, state, registry))
    assert "domain.basic-vm" in exc.value.diagnostics[0].detail


def test_refresh_only_records_drift_and_changes_nothing(env) -> None:
    provider, registry, store, conf = env
    config, state = load(conf, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    provider.objects[("default", "domain", "basic-vm")].attributes["memory"] = "256MiB"
    del provider.objects[("default", "network", "basic-net")]
    provider.calls.clear()
    refresh = make_plan(config, state, registry, Options(refresh_only=True))
    assert not refresh.resource_changes and {d.kind for d in refresh.drift} == {"changed", "deleted"}
    apply_plan(refresh, config, state, store, registry)
    assert [c[0] for c in provider.calls if c[0] not in ("read", "check")] == []
    saved = store.read()
    assert saved.get("domain.basic-vm").attributes["memory"] == "256MiB" and saved.get("network.basic-net") is None
    assert not make_plan(config, saved, registry, Options(refresh_only=True)).drift


def test_create_before_destroy_creates_the_new_volume_first(tmp_path: Path) -> None:
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    store, state = StateStore(tmp_path / "s.json"), State()
    before = load(SCENARIOS / "create_before_destroy" / "before", registry)
    apply_plan(make_plan(before, state, registry), before, state, store, registry)
    provider.calls.clear()
    after = load(SCENARIOS / "create_before_destroy" / "after", registry)
    assert apply_plan(make_plan(after, state, registry), after, state, store, registry).ok
    calls = [c for c in provider.calls if c[0] in ("create", "delete")]
    assert calls.index(("create", "volume.data")) < calls.index(("delete", "volume.data"))
    assert calls.index(("delete", "volume.web-root")) < calls.index(("create", "volume.web-root"))
    assert store.read().get("volume.data").attributes["pool"] == "archive"


def test_destroy_stops_at_prevent_destroy(env) -> None:
    _, registry, store, conf = env
    config, state = load(conf, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    text = (conf / "main.yaml").read_text().replace("  basic-pool:\n", "  basic-pool:\n    lifecycle: {prevent_destroy: true}\n")
    (conf / "main.yaml").write_text(text)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(conf, registry), state, registry, Options(destroy=True))
    d = exc.value.diagnostics[0]
    assert (d.summary, d.address, d.position.line) == ("Resource protected by prevent_destroy", "pool.basic-pool", 16)


def test_destroy_target_takes_its_dependents_and_plan_target_its_dependencies(env) -> None:
    _, registry, store, conf = env
    config, state = load(conf, registry), State()
    made = make_plan(config, state, registry, Options(targets=["volume.basic-root"]))
    assert sorted(c.address for c in made.resource_changes) == ["pool.basic-pool", "volume.basic-root"]
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    gone = make_plan(config, state, registry, Options(destroy=True, targets=["volume.basic-root"]))
    assert sorted(c.address for c in gone.resource_changes) == ["domain.basic-vm", "volume.basic-root"]


def test_unknown_target_and_ignore_path_are_reported(env) -> None:
    _, registry, _, conf = env
    text = (conf / "main.yaml").read_text().replace("    vcpu: 1\n", "    vcpu: 1\n    lifecycle: {ignore_changes: [memroy]}\n")
    (conf / "main.yaml").write_text(text)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(conf, registry), State(), registry, Options(targets=["domain.nope"]))
    assert sorted(summaries(exc)) == ["Unknown address", "Unknown attribute"]


def foreign(provider: FakeProvider, rtype: str, name: str, attributes: dict, owner: Owner | None = None) -> None:
    provider.objects[("default", rtype, name)] = LiveObject(rtype, name, "default", f"uuid-{name}", attributes, owner)


def test_import_adopts_a_matching_object_and_the_next_plan_is_quiet(env) -> None:
    provider, registry, _, conf = env
    config, state = load(conf, registry), State()
    foreign(provider, "network", "basic-net", config.resources[next(a for a in config.resources
                                                                      if a.type == "network")].attributes)
    recorded = import_object(config, state, registry, "network.basic-net", "basic-net")
    assert recorded.identity == "uuid-basic-net" and ("adopt", "network.basic-net") in provider.calls
    assert provider.objects[("default", "network", "basic-net")].owner == Owner(state.lineage, "network.basic-net")
    plan = make_plan(config, state, registry)
    assert plan.change("network.basic-net").action == Action.NOOP and not plan.drift


def test_import_of_a_different_object_shows_the_differences_and_records_nothing(env) -> None:
    provider, registry, _, conf = env
    config, state = load(conf, registry), State()
    foreign(provider, "pool", "basic-pool", {"type": "dir", "path": "/elsewhere", "active": True, "autostart": False})
    with pytest.raises(DiagnosticError) as exc:
        import_object(config, state, registry, "pool.basic-pool", "basic-pool")
    assert 'path: "/elsewhere" (live) != "/var/lib/libvirt/kvmstate-basic" (file)' in exc.value.diagnostics[0].detail
    assert not state.resources and not any(c[0] == "adopt" for c in provider.calls)


def test_import_refuses_another_states_object(env) -> None:
    provider, registry, _, conf = env
    config = load(conf, registry)
    foreign(provider, "network", "basic-net", {}, Owner("other-lineage", "network.basic-net"))
    with pytest.raises(DiagnosticError) as exc:
        import_object(config, State(), registry, "network.basic-net", "basic-net")
    assert summaries(exc) == ["Object managed elsewhere"]


def test_state_mv_follows_dependencies_and_rm_forgets(env) -> None:
    _, registry, store, conf = env
    config, state = load(conf, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    ops.move(state, "volume.basic-root", "volume.root")
    assert state.get("volume.root").identity == "id-volume-basic-root" and state.get("volume.basic-root") is None
    assert "volume.root" in state.get("domain.basic-vm").dependencies
    with pytest.raises(DiagnosticError):
        ops.move(state, "volume.root", "domain.root")
    ops.remove(state, "domain.basic-vm")
    assert [r.address for r in state.resources] == ["network.basic-net", "pool.basic-pool", "volume.root"]


def lock_record(store: StateStore, **info) -> None:
    store.lock_path.write_text(json.dumps({"id": "L1", "operation": "apply", "who": "u@h", "pid": 1, **info}))


def test_force_unlock_clears_a_record_no_process_holds(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    lock_record(store, host=socket.gethostname())
    with pytest.raises(DiagnosticError):
        store.force_unlock("wrong-id")
    assert "cleared" in store.force_unlock("L1")
    assert store.lock_path.read_text() == ""


def test_force_unlock_breaks_a_lock_held_from_another_machine(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    lock_record(store, host="another-machine", pid=12345)
    fd = os.open(store.lock_path, os.O_RDWR)            # the lost holder's lock, still held
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(DiagnosticError) as exc:
            with store.lock("plan"):
                pass
        assert "kvmstate force-unlock L1" in exc.value.diagnostics[0].detail
        assert "was broken" in store.force_unlock("L1")
        with store.lock("plan"):                         # a new command gets the lock at once
            pass
    finally:
        os.close(fd)


def test_force_unlock_refuses_a_running_holder_on_this_machine(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json")
    with store.lock("apply"):
        lock_id = json.loads(store.lock_path.read_text())["id"]
        with pytest.raises(DiagnosticError) as exc:
            store.force_unlock(lock_id)
        assert summaries(exc) == ["Lock holder is running"]
    assert store.lock_path.read_text() == ""


def test_graph_as_dot(env) -> None:
    _, registry, _, conf = env
    dot = render_dot(load(conf, registry).graph)
    assert '"volume.basic-root" -> "pool.basic-pool";' in dot
    assert '"domain.basic-vm" -> "network.basic-net";' in dot and dot.startswith("digraph kvmstate {")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is installed by scripts/host-setup")
def test_graph_as_svg(env) -> None:
    _, registry, _, conf = env
    svg = render_svg(render_dot(load(conf, registry).graph))
    root = ET.fromstring(svg)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"domain.basic-vm", "volume.basic-root", "pool.basic-pool", "network.basic-net"} <= texts


def applied(env) -> tuple:
    """examples/basic applied on the fake provider: its configuration and state."""
    _, registry, store, conf = env
    config, state = load(conf, registry), State()
    apply_plan(make_plan(config, state, registry), config, state, store, registry)
    return config, state


def test_state_mv_to_an_undeclared_address_never_deletes_the_declared_object(env) -> None:
    """Defect 2: after `state mv domain.a domain.b` with domain.a still declared, both name one object."""
    provider, registry, store, conf = env
    config, state = applied(env)
    for rtype, old in (("domain", "basic-vm"), ("pool", "basic-pool")):     # with and without the owner mark
        moved = state.model_copy(deep=True)
        ops.move(moved, f"{rtype}.{old}", f"{rtype}.elsewhere")
        with pytest.raises(DiagnosticError) as exc:
            make_plan(config, moved, registry)
        found = [d for d in exc.value.diagnostics if d.summary == "One object at two addresses"]
        assert len(found) == 1 and len(exc.value.diagnostics) == 1
        assert f"is claimed by {rtype}.elsewhere and {rtype}.{old}" in found[0].detail or \
            f"is claimed by {rtype}.{old} and {rtype}.elsewhere" in found[0].detail
        assert f"`kvmstate state mv {rtype}.elsewhere {rtype}.{old}`" in found[0].detail
    ops.move(state, "domain.basic-vm", "domain.elsewhere")
    destroy = make_plan(config, state, registry, Options(destroy=True))        # nothing declared: b goes, once
    assert [c.address for c in destroy.resource_changes if c.action == Action.DELETE].count("domain.elsewhere") == 1
    ops.move(state, "domain.elsewhere", "domain.basic-vm")                     # undone: the plan is quiet again
    assert not make_plan(config, state, registry).has_changes
    assert not any(c[0] == "delete" for c in provider.calls)


def test_targeted_plan_still_sees_the_declared_claim(env) -> None:
    provider, registry, store, conf = env
    config, state = applied(env)
    ops.move(state, "domain.basic-vm", "domain.elsewhere")
    with pytest.raises(DiagnosticError) as exc:
        make_plan(config, state, registry, Options(targets=["domain.elsewhere"]))
    assert summaries(exc) == ["One object at two addresses"]


def test_state_rm_then_plan_says_the_mark_not_an_interrupted_apply(env) -> None:
    provider, registry, store, conf = env
    config, state = applied(env)
    ops.remove(state, "domain.basic-vm")
    plan = make_plan(config, state, registry)
    assert [(d.address, d.kind) for d in plan.drift] == [("domain.basic-vm", "marked")]
    text = render(plan, Format.text, Style(False))
    assert "domain.basic-vm carries this state's ownership mark but is not recorded (after `state rm`" in text
    assert "interrupted apply but not recorded" not in text
    apply_plan(plan, config, state, store, registry)
    assert state.get("domain.basic-vm").identity == "id-domain-basic-vm"


def test_conflict_with_a_lost_state_points_to_recover(env) -> None:
    provider, registry, store, conf = env
    config, state = applied(env)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(config, State(), registry)                     # the state was lost: a new lineage
    details = [d.detail for d in exc.value.diagnostics]
    assert details and all("`kvmstate state recover`" in d for d in details)


def test_conflict_with_this_states_mark_for_another_address_points_to_state_mv(env) -> None:
    provider, registry, store, conf = env
    config, state = applied(env)
    renamed = conf / "main.yaml"
    renamed.write_text(renamed.read_text().replace("  basic-vm:\n", "  vm:\n    name: basic-vm\n"))
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(conf, registry), state, registry)          # renamed without `state mv`
    assert summaries(exc) == ["One object at two addresses"]
    assert "record it there with `kvmstate state mv domain.basic-vm domain.vm`" in exc.value.diagnostics[0].detail
    ops.remove(state, "domain.basic-vm")                              # forgotten instead: the mark is left
    config = load(conf, registry)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(config, state, registry)
    detail = exc.value.diagnostics[0].detail
    assert "carries this state's ownership mark for domain.basic-vm, which the state does not record" in detail
    assert "`kvmstate import domain.vm basic-vm`" in detail and "another kvmstate state" not in detail
    import_object(config, state, registry, "domain.vm", "basic-vm")
    assert not make_plan(config, state, registry).has_changes
    moved = state.model_copy(deep=True)
    ops.move(moved, "domain.vm", "domain.other")
    with pytest.raises(DiagnosticError) as exc:                       # one object, one address
        import_object(config, moved, registry, "domain.vm", "basic-vm")
    assert summaries(exc) == ["Object already in the state"]
    assert not any(c[0] == "delete" for c in provider.calls)


def test_empty_configuration_says_loudly_that_it_declares_nothing(env, tmp_path: Path) -> None:
    provider, registry, store, conf = env
    config, state = applied(env)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "main.yaml").write_text("")
    plan = make_plan(load(empty, registry), state, registry)
    assert plan.summary.destroy == 4
    assert plan.warnings == [
        "The configuration declares no resources, so this plan destroys every resource in the state (4). If that "
        "is what you want, `kvmstate destroy` says so; if not, check the path and the files given."]
    assert render(plan, Format.text, Style(False)).startswith("Warning: The configuration declares no resources")
    assert "> **:warning: The configuration declares no resources" in render(plan, Format.markdown, Style(False))
    assert json.loads(render(plan, Format.json, Style(False)))["warnings"] == plan.warnings
    assert not make_plan(config, state, registry).warnings
    assert not make_plan(load(empty, registry), state, registry, Options(destroy=True)).warnings


def test_state_mv_after_a_rename_rewrites_the_mark(env) -> None:
    provider, registry, store, conf = env
    config, state = applied(env)
    main = conf / "main.yaml"
    main.write_text(main.read_text().replace("  basic-vm:\n", "  vm:\n    name: basic-vm\n"))
    config = load(conf, registry)
    ops.move(state, "domain.basic-vm", "domain.vm")
    plan = make_plan(config, state, registry)
    assert not plan.has_changes and [(d.address, d.kind) for d in plan.drift] == [("domain.vm", "remark")]
    assert "domain.vm is recorded here but carries the ownership mark of another address" in \
        render(plan, Format.text, Style(False))
    apply_plan(plan, config, state, store, registry)
    assert provider.objects[("default", "domain", "basic-vm")].owner == Owner(state.lineage, "domain.vm")
    assert not make_plan(config, state, registry).drift
