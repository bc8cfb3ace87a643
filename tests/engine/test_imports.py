"""`import` blocks and `plan --generate-config-out` through the engine, with the recording fake provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.plan.generate import generate
from kvmstate.plan.planner import make_plan
from kvmstate.provider import LiveObject, Registry
from kvmstate.render.markdown import render_markdown
from kvmstate.render.style import Style
from kvmstate.render.text import render_plan
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

NET = {"mode": "isolated", "bridge": "virbr9", "active": True, "autostart": False}
VM = {"type": "qemu", "vcpu": 1, "memory": "256MiB", "max_memory": "256MiB", "machine": "pc-i440fx-7.2",
      "max_vcpu": 1, "firmware": "bios", "disks": [], "cdroms": [], "graphics": {"type": "none"},
      "serial": {"type": "pty"},
      "interfaces": [{"network": "lab-net", "mac": "52:54:00:12:34:56", "model": "virtio"}],
      "autostart": False, "power": "stopped", "on_poweroff": "destroy"}


def made_with_virsh() -> tuple[FakeProvider, Registry]:
    """A provider holding a network and a domain kvmstate did not make."""
    provider = FakeProvider([LiveObject("network", "lab-net", "default", "uuid-net", dict(NET)),
                             LiveObject("domain", "web-vm", "default", "uuid-vm", dict(VM)),
                             LiveObject("domain", "db-vm", "default", "uuid-db", dict(VM))])
    provider.configure({"default": "fake:///"}, {})
    return provider, Registry([provider])


DECLARED = '''network "lab" {
  name = "lab-net"
  mode = "isolated"
}
domain "web" {
  for_each = { web = "web-vm", db = "db-vm" }
  name     = each.value
  type     = "qemu"
  memory    = "256MiB"
  power     = "stopped"
  autostart = true
  interface {
    network = network.lab.name
  }
}
import {
  to = network.lab
  id = "lab-net"
}
import {
  for_each = { web = "web-vm", db = "db-vm" }
  to       = domain.web[each.key]
  id       = each.value
}
'''


def errors(exc: pytest.ExceptionInfo) -> list[str]:
    return [f"{d.summary} at {d.position.line if d.position else '-'}: {d.detail}" for d in exc.value.diagnostics]


def test_import_blocks_plan_as_imports_apply_records_without_recreating(tmp_path: Path) -> None:
    provider, registry = made_with_virsh()
    (tmp_path / "main.hcl").write_text(DECLARED)
    config = load(tmp_path, registry)
    state, store = State(), StateStore(tmp_path / "state.json")
    plan = make_plan(config, state, registry)
    changes = {c.address: c for c in plan.resource_changes}
    assert all(c.importing for c in changes.values()) and plan.has_changes
    assert changes["network.lab"].action.value == "no-op"
    assert changes['domain.web["web"]'].action.value == "update"         # autostart: live
    assert [c.path for c in changes['domain.web["web"]'].changes] == ["autostart"]
    text = render_plan(plan, Style(False))
    assert "# network.lab will be imported\n" in text
    assert '# domain.web["web"] will be imported, then updated in place' in text
    assert "Plan: 3 to import, 0 to add, 2 to change, 0 to replace, 0 to destroy." in text
    markdown = render_markdown(plan)
    assert "### kvmstate plan: 3 to import, 0 to add, 2 to change" in markdown
    assert "<code> network.lab</code> will be imported" in markdown.replace("&lt;=", "")
    assert apply_plan(plan, config, state, store, registry).ok
    assert not [c for c in provider.calls if c[0] in ("create", "delete")]
    assert {(r.address, r.name, r.identity) for r in store.read().resources} == {
        ("network.lab", "lab-net", "uuid-net"), ('domain.web["web"]', "web-vm", "uuid-vm"),
        ('domain.web["db"]', "db-vm", "uuid-db")}
    assert provider.objects[("default", "network", "lab-net")].owner.address == "network.lab"
    assert provider.objects[("default", "domain", "web-vm")].attributes["autostart"] is True
    again = make_plan(load(tmp_path, registry), store.read(), registry)       # the blocks stay: nothing to do
    assert not again.has_changes and not any(c.importing for c in again.resource_changes)


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("to = network.lab", "to = network.other"),
     "Import target not declared at 16: network.other is not declared in the configuration. Declare it, or let "
     "kvmstate write its configuration from the live object: `kvmstate plan --generate-config-out=generated.hcl`."),
    (lambda t: t.replace('id = "lab-net"', 'id = "no-such-net"'),
     "Name does not match at 16: network.lab manages the libvirt object named 'lab-net', not 'no-such-net': libvirt "
     "objects cannot be renamed, so set the resource's `name` to 'no-such-net'."),
    (lambda t: t.replace('"lab-net"', '"gone-net"'),
     "No such object at 16: libvirt has no network named 'gone-net' on host default."),
])
def test_bad_import_blocks_are_refused_at_plan_time_naming_the_block(tmp_path: Path, edit, expected) -> None:
    _, registry = made_with_virsh()
    (tmp_path / "main.hcl").write_text(edit(DECLARED))
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, registry), State(), registry)
    assert expected in errors(exc)
    assert all(d.position and d.position.file.endswith("main.hcl") for d in exc.value.diagnostics)


def test_an_import_to_an_address_that_records_another_object_is_refused(tmp_path: Path) -> None:
    provider, registry = made_with_virsh()
    (tmp_path / "main.hcl").write_text(DECLARED)
    state, store = State(), StateStore(tmp_path / "state.json")
    assert apply_plan(make_plan(load(tmp_path, registry), state, registry), load(tmp_path, registry), state, store,
                      registry).ok
    provider.objects[("default", "network", "other-net")] = LiveObject("network", "other-net", "default", "u2",
                                                                      dict(NET))
    (tmp_path / "main.hcl").write_text(DECLARED.replace('id = "lab-net"', 'id = "other-net"'))
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, registry), store.read(), registry)
    assert errors(exc)[0].startswith("Resource already managed at 16: network.lab is already in the state as "
                                     "network 'lab-net', so 'other-net' cannot be imported there.")


def test_an_object_of_another_state_is_not_imported(tmp_path: Path) -> None:
    provider, registry = made_with_virsh()
    from kvmstate.provider import Owner
    provider.objects[("default", "network", "lab-net")].owner = Owner("another-lineage", "network.x")
    (tmp_path / "main.hcl").write_text(DECLARED)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, registry), State(), registry)
    assert any(e.startswith("Object managed elsewhere at 16:") for e in errors(exc))


@pytest.mark.parametrize("suffix", [".hcl", ".yaml"])
def test_generated_configuration_imports_with_no_further_change(tmp_path: Path, suffix: str) -> None:
    provider, registry = made_with_virsh()
    (tmp_path / "imports.hcl").write_text('import {\n  to = network.lab\n  id = "lab-net"\n}\n'
                                          'import {\n  to = domain.web\n  id = "web-vm"\n}\n')
    out = tmp_path / f"generated{suffix}"
    written = generate(load(tmp_path, registry), State(), registry, out)
    assert [str(a) for a in written] == ["domain.web", "network.lab"]
    text = out.read_text()
    assert "52:54:00:12:34:56" not in text and "virbr9" not in text and "pc-i440fx" not in text   # libvirt's
    assert "lab-net" in text and "256MiB" in text
    config = load(tmp_path, registry)
    assert config.resources[next(a for a in config.resources if a.name == "web")].object_name == "web-vm"
    plan = make_plan(config, State(), registry)
    assert all(c.importing and c.action.value == "no-op" for c in plan.resource_changes)
    assert len(plan.resource_changes) == 2


def test_generation_never_overwrites_a_file(tmp_path: Path) -> None:
    _, registry = made_with_virsh()
    (tmp_path / "imports.hcl").write_text('import {\n  to = network.lab\n  id = "lab-net"\n}\n')
    (tmp_path / "generated.yml").write_text("# mine\n")
    with pytest.raises(DiagnosticError) as exc:
        generate(load(tmp_path, registry), State(), registry, tmp_path / "generated.yml")
    assert errors(exc)[0].startswith("File exists at -: ") and (tmp_path / "generated.yml").read_text() == "# mine\n"


@pytest.mark.parametrize("to, name, expected", [
    ('domain.web["a"]', "web-vm", 'domain.web["a"] is an instance'),
    # Trial: an address in a module was written into the root file as `network "lab"`, which declared
    # network.lab, not the import's target, and the plan that followed failed.
    ("module.x.network.lab", "lab-net", "module.x.network.lab lies in a module"),
])
def test_generation_refuses_instance_and_module_addresses(tmp_path: Path, to, name, expected) -> None:
    _, registry = made_with_virsh()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.hcl").write_text('variable "n" {\n  default = 1\n}\n')
    (tmp_path / "imports.hcl").write_text(f'module "x" {{\n  source = "./m"\n}}\n'
                                          f'import {{\n  to = {to}\n  id = "{name}"\n}}\n')
    with pytest.raises(DiagnosticError) as exc:
        generate(load(tmp_path, registry), State(), registry, tmp_path / "gen.hcl")
    assert errors(exc)[0].startswith(f"Cannot generate configuration at 4: {expected}")
    assert not (tmp_path / "gen.hcl").exists()


def test_yaml_import_blocks_are_the_twins_of_hcl_ones(tmp_path: Path) -> None:
    _, registry = made_with_virsh()
    (tmp_path / "main.yaml").write_text(
        "variables:\n  vms:\n    default: {web: web-vm, db: db-vm}\n"
        "networks:\n  lab:\n    name: lab-net\n    mode: isolated\n"
        "domains:\n  web:\n    for_each: ${var.vms}\n    name: ${each.value}\n    type: qemu\n    memory: 256MiB\n"
        "    power: stopped\n    interfaces:\n      - network: lab-net\n"
        "import:\n  - to: network.lab\n    id: lab-net\n"
        "  - for_each: ${var.vms}\n    to: domain.web[\"${each.key}\"]\n    id: ${each.value}\n")
    import jsonschema
    from ruamel.yaml import YAML
    from kvmstate.schemas import config_schema
    jsonschema.validate(YAML(typ="safe").load((tmp_path / "main.yaml").read_text()), config_schema(registry))
    config = load(tmp_path, registry)
    assert [(str(i.target), i.id, i.pos.line) for i in config.imports] == [
        ("network.lab", "lab-net", 18), ('domain.web["web"]', "web-vm", 20), ('domain.web["db"]', "db-vm", 20)]
    plan = make_plan(config, State(), registry)
    assert sorted(c.address for c in plan.resource_changes if c.importing) == \
        ['domain.web["db"]', 'domain.web["web"]', "network.lab"]
