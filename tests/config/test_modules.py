"""Module calls in the loader: addresses, outputs, arguments and every bad call named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmstate.addrs import Address, ModuleAddress, ModuleStep, covers, parse_target
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.provider import Registry

from tests.engine.fake_provider import FakeProvider

DISK = '''variable "name" {
  type = string
}

variable "size" {
  type    = string
  default = "1GiB"
}

volume "this" {
  name     = "${var.name}-disk"
  pool     = "images"
  capacity = var.size
}

output "volume" {
  value = volume.this.name
}
'''

POOL = 'pool "images" {\n  path = "/srv/images"\n}\n'


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def registry() -> Registry:
    return Registry([FakeProvider()])


def errors(root: Path) -> list:
    with pytest.raises(DiagnosticError) as exc:
        load(root, registry())
    return exc.value.diagnostics


def test_addresses_round_trip_and_order() -> None:
    text = 'module.lab["a"].module.disk[0].volume.this'
    address = Address.parse(text)
    assert address.module == (ModuleStep("lab", "a"), ModuleStep("disk", 0))
    assert str(address) == text and address.resource == Address("volume", "this", None, address.module)
    assert sorted([address, Address("volume", "z")]) == [Address("volume", "z"), address]
    assert parse_target("module.lab") == ModuleAddress((ModuleStep("lab"),))
    assert covers(parse_target("module.lab"), address) and not covers(parse_target('module.lab["b"]'), address)
    with pytest.raises(ValueError, match="not a resource address"):
        Address.parse("module.lab.volume")


def test_for_each_call_outputs_and_nested_modules(tmp_path: Path) -> None:
    root = write(tmp_path, {"main.hcl": POOL + '''
module "lab" {
  source   = "./lab"
  for_each = toset(["a", "b"])
  prefix   = each.key
}

domain "watcher" {
  memory = "256MiB"
  disk {
    volume = module.lab["b"].disk
  }
}
''', "lab/main.hcl": '''variable "prefix" {}

module "disk" {
  source = "../disk"
  count  = 2
  name   = "${var.prefix}-${count.index}"
}

output "disk" {
  value = module.disk[1].volume
}
''', "disk/main.hcl": DISK})
    config = load(root, registry())
    inside = Address.parse('module.lab["b"].module.disk[1].volume.this')
    assert config.resources[inside].object_name == "b-1-disk"
    assert len([a for a in config.resources if a.type == "volume"]) == 4
    watcher = config.resources[Address("domain", "watcher")]
    assert watcher.spec.disks[0].volume == "b-1-disk"
    assert config.dependencies(watcher.address) == [inside]      # the output's own reads, nothing more


def test_call_depends_on_orders_every_resource_inside(tmp_path: Path) -> None:
    root = write(tmp_path, {"main.yaml": '''pools:
  images: {path: /srv/images}
  late: {path: /srv/late}
modules:
  disk:
    source: ./disk
    name: x
    depends_on: [pool.late]
''', "disk/main.hcl": DISK})
    config = load(root, registry())
    assert Address("pool", "late") in config.dependencies(Address.parse("module.disk.volume.this"))


@pytest.mark.parametrize("files, summary, file, line, attribute", [
    ({"main.hcl": 'module "m" {\n  source = "./nowhere"\n}\n'}, "Module folder not found", "main.hcl", 2, "source"),
    ({"main.hcl": 'module "m" {\n  source = "git::https://example.org/m.git"\n}\n'}, "Unsupported module source",
     "main.hcl", 2, "source"),
    ({"main.hcl": 'module "m" {\n  source = "/etc"\n}\n'}, "Unsupported module source", "main.hcl", 2, "source"),
    ({"main.hcl": POOL + 'module "m" {\n  source = "./disk"\n  name = "a"\n  colour = "red"\n}\n',
      "disk/main.hcl": DISK}, "Unsupported argument", "main.hcl", 7, "colour"),
    ({"main.hcl": POOL + 'module "m" {\n  source = "./disk"\n}\n', "disk/main.hcl": DISK},
     "No value for required variable", "main.hcl", 4, None),
    ({"main.hcl": POOL + 'module "m" {\n  source = "./disk"\n  name = "a"\n}\n'
      'output "o" {\n  value = module.m.nothing\n}\n', "disk/main.hcl": DISK},
     "Reference to undeclared module output", "main.hcl", 9, "value"),
    ({"main.yaml": "modules:\n  m:\n    source: ./loop\n", "loop/main.hcl": 'module "again" {\n  source = "../loop"\n}\n'},
     "Module calls itself", "loop/main.hcl", 2, "source"),
    ({"main.hcl": POOL + 'module "m" {\n  source = "./disk"\n  name = module.n.volume\n}\n'
      'module "n" {\n  source = "./disk"\n  name = module.m.volume\n}\n', "disk/main.hcl": DISK},
     "Dependency cycle", "main.hcl", None, None),
    ({"main.hcl": 'module "m" {\n  source = "./h"\n}\n', "h/main.hcl": 'host "b" {\n  uri = "test:///default"\n}\n'},
     "Not allowed in a module", "h/main.hcl", 1, None),
    ({"main.hcl": POOL + 'module "m" {\n  source = "./d"\n  count = 2\n}\n',
      "d/main.hcl": 'volume "this" {\n  pool = "images"\n  capacity = "1GiB"\n}\n'},
     "Duplicate object name", "d/main.hcl", 1, None),
    ({"main.hcl": 'domain "d" {\n  disk {\n    volume = module.gone.volume\n  }\n}\n'},
     "Reference to undeclared module", "main.hcl", 3, None),
    ({"main.hcl": POOL + 'module "m" {\n  source = "./disk"\n  name = "a"\n  size = 3\n}\n',
      "disk/main.hcl": DISK.replace('type    = string\n  default = "1GiB"', 'type    = string\n  default = "1GiB"\n'
                                    '  validation {\n    condition     = endswith(var.size, "iB")\n'
                                    '    error_message = "A size."\n  }')},
     "Invalid value for variable", "main.hcl", 7, None),
])
def test_bad_calls_name_file_line_and_field(tmp_path: Path, files, summary, file, line, attribute) -> None:
    found = errors(write(tmp_path, files))
    match = [d for d in found if d.summary == summary]
    assert match, [(d.summary, d.detail) for d in found]
    diag = match[0]
    assert diag.position is not None and Path(diag.position.file) == tmp_path / file, diag
    if line is not None:
        assert diag.position.line == line, diag
    if attribute is not None:
        assert diag.attribute == attribute, diag


def test_host_passed_through_a_variable(tmp_path: Path) -> None:
    root = write(tmp_path, {"main.hcl": 'host "kvm1" {\n  uri = "test:///default"\n}\n' + POOL.replace(
        '}\n', '  host = "kvm1"\n}\n') + 'module "m" {\n  source = "./disk"\n  name = "a"\n  host = "kvm1"\n}\n',
        "disk/main.hcl": DISK.replace('variable "size"', 'variable "host" {}\n\nvariable "size"').replace(
            '  capacity = var.size\n', '  capacity = var.size\n  host     = var.host\n')})
    config = load(root, registry())
    assert config.resources[Address.parse("module.m.volume.this")].host == "kvm1"
    main = (root / "main.hcl").read_text()
    (root / "main.hcl").write_text(main.replace('name = "a"\n  host = "kvm1"', 'name = "a"\n  host = "kvm2"'))
    assert [d.address for d in errors(root) if "kvm2" in d.detail] == ["module.m.volume.this"]


def test_state_surgery_and_graph_take_module_addresses(tmp_path: Path) -> None:
    from kvmstate.apply.applier import apply_plan
    from kvmstate.plan.planner import make_plan
    from kvmstate.render.dot import render_dot
    from kvmstate.state import State, StateStore, ops

    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    reg = Registry([provider])
    config = load(Path(__file__).parents[1] / "scenarios" / "modules_for_each" / "after", reg)
    state = State()
    assert apply_plan(make_plan(config, state, reg), config, state, StateStore(tmp_path / "s.json"), reg).ok
    assert 'module.vm["db"].volume.root' in state.get("domain.monitor").dependencies
    ops.move(state, 'module.vm["db"].volume.root', "module.keep.volume.root")
    assert "module.keep.volume.root" in state.get("domain.monitor").dependencies
    ops.remove(state, "module.spare[0].domain.this")
    assert state.get("module.spare[0].domain.this") is None and state.get("module.spare[0].volume.root") is not None
    assert '"module.vm[\\"web\\"].domain.this" -> "module.vm[\\"web\\"].volume.root"' in render_dot(config.graph)


def test_state_mv_and_moved_blocks_take_a_module_call_instance(tmp_path: Path) -> None:
    """Trial: `state mv 'module.vm[0]' ...` was "Not in the state", and a moved block could not name a module
    call, so turning a module's count into for_each planned a delete and a create of everything in it."""
    from kvmstate.apply.applier import apply_plan
    from kvmstate.plan.model import Action
    from kvmstate.plan.planner import make_plan
    from kvmstate.state import State, StateStore, ops

    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    reg = Registry([provider])
    call = 'module "d" {\n  source = "./disk"\n  count  = 2\n  name   = "d${count.index}"\n}\n'
    root = write(tmp_path, {"main.hcl": POOL + call, "disk/main.hcl": DISK})
    state = State()
    assert apply_plan(make_plan(load(root, reg), state, reg), load(root, reg), state,
                      StateStore(tmp_path / "s.json"), reg).ok
    assert ops.move(state, "module.d[1]", "module.e") == [("module.d[1].volume.this", "module.e.volume.this")]
    assert ops.move(state, "module.e", "module.d[1]") == [("module.e.volume.this", "module.d[1].volume.this")]
    assert [b for _, b in ops.move(state, "module.d", "module.f")] == ["module.f[0].volume.this",
                                                                       "module.f[1].volume.this"]
    ops.move(state, "module.f", "module.d")
    with pytest.raises(DiagnosticError, match="not recorded in the state"):
        ops.move(state, "module.d[5]", "module.e")
    with pytest.raises(DiagnosticError, match="Cannot change the type"):
        ops.move(state, "module.d[0]", "volume.x")

    keyed = 'module "d" {\n  source   = "./disk"\n  for_each = { a = 0, b = 1 }\n  name     = "d${each.value}"\n}\n'
    moves = 'moved {\n  from = module.d[0]\n  to   = module.d["a"]\n}\nmoved {\n  from = module.d[1]\n' \
            '  to   = module.d["b"]\n}\n'
    (root / "main.hcl").write_text(POOL + keyed + moves)
    plan = make_plan(load(root, reg), state, reg)
    assert [(m.from_, m.to) for m in plan.moved] == [("module.d[0].volume.this", 'module.d["a"].volume.this'),
                                                    ("module.d[1].volume.this", 'module.d["b"].volume.this')]
    assert {c.action for c in plan.resource_changes} == {Action.NOOP}

    (root / "main.hcl").write_text(POOL + keyed + 'moved {\n  from = module.d\n  to   = volume.x\n}\n')
    found = [d for d in errors(root) if d.summary == "Invalid move"]
    assert [(Path(d.position.file).name, d.position.line) for d in found] == [("main.hcl", 9)], found
    assert "module.d is a module call; it can move only to another module call address" in found[0].detail


def test_an_undeclared_module_in_depends_on_is_reported_once(tmp_path: Path) -> None:
    """Trial: `depends_on = [module.zz]` printed the same error twice, with two wordings."""
    found = errors(write(tmp_path, {"main.hcl": POOL.replace("}\n", "  depends_on = [module.zz]\n}\n")}))
    assert [(d.summary, d.position.line) for d in found] == [("Reference to undeclared module", 3)]


def test_count_from_an_untyped_variable_set_on_the_command_line(tmp_path: Path) -> None:
    """Trial: `--var guests=1` for `variable "guests" { default = 2 }` gave the string "1", which count refused;
    a string holding a whole number converts, as it does for arithmetic. One that does not is still an error."""
    from typer.testing import CliRunner

    from kvmstate.cli import application
    app = application()
    root = write(tmp_path, {"main.hcl": POOL + 'variable "n" {\n  default = 2\n}\nmodule "d" {\n  source = "./disk"\n'
                            '  count  = var.n\n  name   = "d${count.index}"\n}\n', "disk/main.hcl": DISK})
    ok = CliRunner().invoke(app, ["validate", "--no-color", str(root), "--var", "n=3"])
    assert ok.exit_code == 0 and "(4 resources in 2 files)" in ok.stdout, ok.output
    bad = CliRunner().invoke(app, ["validate", "--no-color", str(root), "--var", "n=3.5"])
    assert bad.exit_code == 1 and "Error: Invalid count" in bad.stderr and "main.hcl line 9" in bad.stderr


NAMES = 'variable "prefix" {\n  type = string\n}\n\noutput "names" {\n  value = { a = "${var.prefix}-a" }\n}\n'


def test_depends_on_a_module_call_without_resources(tmp_path: Path) -> None:
    """Trial: `depends_on = [module.names]` on a call whose module has only outputs was "Reference to
    undeclared resource"; an instance that does not exist still is."""
    call = 'module "names" {\n  source = "./names"\n  prefix = "n"\n}\n'
    root = write(tmp_path, {"main.hcl": call + POOL.replace("}\n", "  depends_on = [module.names]\n}\n"),
                            "names/main.hcl": NAMES})
    assert Address.parse("pool.images") in load(root, registry()).resources
    (root / "main.hcl").write_text(call + POOL.replace("}\n", "  depends_on = [module.names[0]]\n}\n"))
    assert [(d.summary, d.position.line) for d in errors(root)] == [("Invalid index", 7)]


@pytest.mark.parametrize("to, found", [
    ('module.d[each.key].volume.this', ['module.d["a"].volume.this']),
    ('module.d', "not the module call module.d"),
])
def test_import_for_each_into_module_instances(tmp_path: Path, to, found) -> None:
    """Trial: an import block's `to` took `each.key` only in the resource's own index, and a module call as
    `to` was a traceback."""
    call = 'module "d" {\n  source   = "./disk"\n  for_each = toset(["a"])\n  name     = each.key\n}\n'
    block = f'import {{\n  for_each = {{ a = "a-disk" }}\n  to       = {to}\n  id       = each.value\n}}\n'
    root = write(tmp_path, {"main.hcl": POOL + call + block, "disk/main.hcl": DISK})
    if isinstance(found, list):
        assert [str(i.target) for i in load(root, registry()).imports] == found
    else:
        assert [(d.summary, d.position.line) for d in errors(root) if found in d.detail] == [("Invalid address", 11)]


def test_ignore_changes_written_as_terraform_does(tmp_path: Path) -> None:
    """Trial: `ignore_changes = [autostart]` (bare attribute names, Terraform's HCL) was "'autostart' is neither
    var, local, ..."; the names are now paths of the resource's own attributes, checked as the quoted ones are."""
    body = 'domain "d" {\n  lifecycle {\n    ignore_changes = [memory, disks[0].bus, "power"]\n  }\n}\n'
    root = write(tmp_path, {"main.hcl": POOL + body + 'module "m" {\n  source = "./m"\n}\n',
                            "m/main.hcl": body.replace("{\n", '{\n  name = "in-m"\n', 1)})
    config = load(root, registry())
    for address in ("domain.d", "module.m.domain.d"):
        assert config.resources[Address.parse(address)].meta.lifecycle.ignore_changes == [
            "memory", "disks[0].bus", "power"]
    from kvmstate.plan.planner import make_plan
    from kvmstate.state import State
    (root / "main.hcl").write_text(POOL + body.replace("memory,", "memroy,"))
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(root, Registry([provider])), State(), Registry([provider]))
    assert [(d.position.line, d.position.column, '"memroy"' in d.detail) for d in exc.value.diagnostics] == [
        (6, 23, True)]


def test_path_root_in_a_module_is_the_root_folder(tmp_path: Path) -> None:
    """Trial: `path.root` inside a module was the module's folder, so `file("${path.root}/keys/id.pub")` read
    from the wrong place."""
    paths = 'output "paths" {\n  value = [path.module, path.root]\n}\n'
    root = write(tmp_path, {"main.hcl": 'module "outer" {\n  source = "./outer"\n}\n',
                            "outer/main.hcl": paths + 'module "inner" {\n  source = "../inner"\n}\n'
                                                      'output "inner" {\n  value = module.inner.paths\n}\n',
                            "inner/main.hcl": paths})
    values = load(root, registry()).scope.resources[("module", "outer")].instances[None]
    assert values["paths"] == [str(root / "outer"), str(root)]
    assert values["inner"] == [str(root / "inner"), str(root)]
