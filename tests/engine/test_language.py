"""Variables, outputs and instance references through the engine and the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kvmstate.apply.applier import apply_plan, record_outputs
from kvmstate.cli import application
from kvmstate.config import load
from kvmstate.config.variables import Inputs
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Registry
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

app = application()

CONFIG = '''variable "path" {
  type    = string
  default = "/srv/default"
}
variable "secret" {
  default   = "hunter2"
  sensitive = true
}
pool "p" {
  for_each = { a = "/srv/a", b = "/srv/b" }
  path     = each.value
}
pool "q" {
  path = var.path
}
output "paths" {
  value = { for_each_a = pool.p["a"].path, q = pool.q.path }
}
output "names" {
  value = join(",", pool.p[*].name)
}
output "secret" {
  value     = var.secret
  sensitive = true
}
'''


def registry() -> Registry:
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    return Registry([provider])


def path_of(tmp_path: Path, inputs: Inputs) -> str:
    (tmp_path / "main.hcl").write_text(CONFIG)
    config = load(tmp_path, registry(), inputs)
    return config.resources[next(a for a in config.resources if a.name == "q")].attributes["path"]


def test_precedence_default_env_files_then_vars(tmp_path: Path) -> None:
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "one.yaml").write_text("path: /srv/file1\n")
    (tmp_path / "two.tfvars").write_text('path = "/srv/file2"\n')      # beside the configuration: not read as one
    env = {"KVMSTATE_VAR_path": "/srv/env"}
    assert path_of(tmp_path, Inputs(env={})) == "/srv/default"
    assert path_of(tmp_path, Inputs(env=env)) == "/srv/env"
    files = [tmp_path / "vars" / "one.yaml", tmp_path / "two.tfvars"]
    assert path_of(tmp_path, Inputs(var_files=files, env=env)) == "/srv/file2"
    assert path_of(tmp_path, Inputs(var_files=files[::-1], env=env)) == "/srv/file1"
    assert path_of(tmp_path, Inputs(["path=/srv/v1", "path=/srv/v2"], files, env)) == "/srv/v2"


def test_typed_values_from_text(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(
        "variables:\n  nets: {type: 'map(string)'}\n  n: {type: number}\n  on: {type: bool}\n"
        "pools:\n  p:\n    for_each: ${var.nets}\n    path: /srv/${each.value}\n    autostart: ${var.on}\n"
        "volumes:\n  v:\n    count: ${var.n}\n    pool: ${pool.p[\"x\"]}\n    capacity: 1GiB\n")
    config = load(tmp_path, registry(), Inputs(["nets={ x = \"a\", y = \"b\" }", "n=2", "on=true"], env={}))
    assert sorted(str(a) for a in config.resources) == ['pool.p["x"]', 'pool.p["y"]', "volume.v[0]", "volume.v[1]"]
    assert config.resources[next(a for a in config.resources if a.key == "y")].attributes["autostart"] is True
    volume = next(r for a, r in config.resources.items() if a.type == "volume")
    assert volume.attributes["pool"] == "p-x" and [str(d) for d in config.dependencies(volume.address)] == ['pool.p["x"]']


def test_outputs_recorded_at_apply_and_printed_masked(tmp_path: Path) -> None:
    (tmp_path / "main.hcl").write_text(CONFIG)
    reg = registry()
    config, state, store = load(tmp_path, reg, Inputs(env={})), State(), StateStore(tmp_path / "state.json")
    assert apply_plan(make_plan(config, state, reg), config, state, store, reg).ok
    record_outputs(config, state, store)
    saved = store.read()
    assert saved.outputs["paths"].value == {"for_each_a": "/srv/a", "q": "/srv/default"}
    assert saved.outputs["names"].value == "p-a,p-b"
    assert saved.outputs["secret"].sensitive

    run = CliRunner().invoke
    text = run(app, ["output", "--state", str(tmp_path / "state.json")])
    assert text.exit_code == 0
    assert text.stdout.splitlines() == ['names = "p-a,p-b"', 'paths = {"for_each_a": "/srv/a", "q": "/srv/default"}',
                                        "secret = (sensitive value)"]
    doc = json.loads(run(app, ["output", "--json", "--state", str(tmp_path / "state.json")]).stdout)
    assert doc["secret"] == {"sensitive": True} and doc["names"] == {"sensitive": False, "value": "p-a,p-b"}
    shown = json.loads(run(app, ["output", "--json", "--show-sensitive", "--state", str(tmp_path / "state.json")]).stdout)
    assert shown["secret"]["value"] == "hunter2"
    assert run(app, ["output", "names", "--state", str(tmp_path / "state.json")]).stdout == "p-a,p-b\n"
    refused = run(app, ["output", "secret", "--state", str(tmp_path / "state.json")])
    assert refused.exit_code == 1 and "--show-sensitive" in refused.stderr


def applied_then_edited(tmp_path: Path, before: str, after: str):
    """(provider, registry, store, state, configuration) after applying `before` and loading `after`, as a user
    who edits the file between two applies."""
    provider = FakeProvider()
    registry = Registry([provider])
    provider.configure({"default": "fake:///"}, {})
    store = StateStore(tmp_path / "state.json")
    state = State()
    for folder, text in (("v1", before), ("v2", after)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "main.hcl").write_text(text)
        config = load(tmp_path / folder, registry)
        if folder == "v1":
            assert apply_plan(make_plan(config, state, registry), config, state, store, registry).ok
    return provider, registry, store, state, config


def test_moved_renames_the_state_entry_and_the_next_plan_is_empty(tmp_path: Path) -> None:
    """A moved block: apply renames the entry (no object is touched); the object stays ours at its new address."""
    provider, registry, store, state, config = applied_then_edited(
        tmp_path, 'pool "old" {\n  path = "/srv/a"\n}\npool "gone" {\n  path = "/srv/g"\n}\n',
        'pool "new" {\n  name = "old"\n  path = "/srv/a"\n}\n'
        'moved {\n  from = pool.old\n  to = pool.new\n}\nremoved {\n  from = pool.gone\n}\n')
    plan = make_plan(config, state, registry)
    assert [(m.from_, m.to) for m in plan.moved] == [("pool.old", "pool.new")] and plan.removed == ["pool.gone"]
    assert all(c.action.value == "no-op" for c in plan.resource_changes) and plan.has_changes
    calls = len(provider.calls)
    assert apply_plan(plan, config, state, store, registry).ok
    assert len(provider.calls) == calls                     # nothing in libvirt changed
    assert [r.address for r in store.read().resources] == ["pool.new"]
    assert ("default", "pool", "gone") in provider.objects  # forgotten, not deleted
    again = make_plan(config, store.read(), registry)
    assert not again.has_changes and again.moved == []      # the moved block is now a no-op


def test_moved_rewrites_the_ownership_mark_of_objects_that_carry_one(tmp_path: Path) -> None:
    """A network carries its address in its mark: after a move, apply writes the new address into it, so that
    `state recover` later finds the object where the configuration declares it."""
    provider, registry, store, state, config = applied_then_edited(
        tmp_path, 'network "old" {\n  name = "lab-net"\n  mode = "isolated"\n}\n',
        'network "lab" {\n  name = "lab-net"\n  mode = "isolated"\n}\nmoved {\n  from = network.old\n  to = network.lab\n}\n')
    plan = make_plan(config, state, registry)
    assert [(m.from_, m.to) for m in plan.moved] == [("network.old", "network.lab")]
    assert [(d.address, d.kind) for d in plan.drift] == [("network.lab", "remark")]
    assert apply_plan(plan, config, state, store, registry).ok
    assert provider.objects[("default", "network", "lab-net")].owner.address == "network.lab"
    assert not make_plan(config, store.read(), registry).has_changes


def test_outputs_naming_what_does_not_exist_fail_the_plan_not_the_apply(tmp_path: Path) -> None:
    """Trial: an output reading a missing instance, attribute or module instance planned cleanly; the apply then
    changed everything and failed on the output. Values known only after the apply (a guest's address) and
    names a `for` binds still plan."""
    import pytest

    from kvmstate.diagnostics import DiagnosticError
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.hcl").write_text('output "o" {\n  value = "x"\n}\n')
    good = CONFIG + '''domain "vm" {
  interface {
    network     = "lab"
    wait_for_ip = true
  }
}
network "lab" {
  mode = "isolated"
}
module "m" {
  source   = "./m"
  for_each = toset(["a"])
}
output "ip" {
  value = domain.vm.interfaces[0].ipv4
}
output "all" {
  value = [for k, p in pool.p : "${k}=${p.path}=${module.m["a"].o}"]
}
'''
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    reg = Registry([provider])
    (tmp_path / "main.hcl").write_text(good)
    make_plan(load(tmp_path, reg), State(), reg)
    lines = good.count("\n")
    (tmp_path / "main.hcl").write_text(good + 'output "bad" {\n  value = [pool.p["c"].path, pool.q.pth, '
                                       'module.m["z"].o]\n}\n')
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, reg), State(), reg)
    assert [(d.summary, d.position.line, d.attribute) for d in exc.value.diagnostics] == [
        ("Reference to missing instance", lines + 2, "value"), ("Unsupported attribute", lines + 2, "value"),
        ("Reference to missing instance", lines + 2, "value")]
    assert not [c for c in provider.calls if c[0] == "create"]
