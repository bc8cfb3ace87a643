"""Lifecycle `precondition` and `postcondition` blocks through the engine, with the fake provider's host facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Registry
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

HCL = '''variable "memory" {
  default = "1GiB"
}
domain "vm" {
  for_each = { a = "vm-a", b = "vm-b" }
  name     = each.value
  type     = "qemu"
  memory   = var.memory
  lifecycle {
    precondition {
      condition     = parsesize(self.memory) <= host.memory
      error_message = "${self.name} wants ${self.memory}, more than host ${host.name} has."
    }
    postcondition {
      condition     = self.power == "running"
      error_message = "${each.key} is not running."
    }
  }
}
'''
YAML = '''variables:
  memory:
    default: 1GiB
domains:
  vm:
    for_each: {a: vm-a, b: vm-b}
    name: ${each.value}
    type: qemu
    memory: ${var.memory}
    lifecycle:
      precondition:
        - condition: ${parsesize(self.memory) <= host.memory}
          error_message: ${self.name} wants ${self.memory}, more than host ${host.name} has.
      postcondition:
        - condition: ${self.power == "running"}
          error_message: ${each.key} is not running.
'''


def setup(tmp_path: Path, text: str, suffix: str) -> tuple[FakeProvider, Registry, Path]:
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    (tmp_path / f"main{suffix}").write_text(text)
    return provider, Registry([provider]), tmp_path / f"main{suffix}"


def messages(exc: pytest.ExceptionInfo) -> list[tuple[str, int, str]]:
    return [(d.summary, d.position.line, d.detail.split("\n")[0]) for d in exc.value.diagnostics]


@pytest.mark.parametrize("text, suffix, line", [(HCL, ".hcl", 11), (YAML, ".yaml", 12)])
def test_a_precondition_on_host_memory_fails_the_plan_naming_file_and_line(tmp_path: Path, text, suffix,
                                                                           line) -> None:
    provider, registry, path = setup(tmp_path, text.replace("1GiB", "16GiB"), suffix)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, registry), State(), registry)
    assert messages(exc) == [("Resource precondition failed", line, "vm-a wants 16GiB, more than host default has."),
                             ("Resource precondition failed", line, "vm-b wants 16GiB, more than host default has.")]
    assert all(d.position.file == str(path) for d in exc.value.diagnostics)
    assert [c for c in provider.calls if c[0] == "facts"] == [("facts", "default")]        # read once per host
    assert not [c for c in provider.calls if c[0] in ("create", "update")]


@pytest.mark.parametrize("text, suffix", [(HCL, ".hcl"), (YAML, ".yaml")])
def test_conditions_that_hold_plan_and_apply(tmp_path: Path, text, suffix) -> None:
    _, registry, _ = setup(tmp_path, text, suffix)
    config, state = load(tmp_path, registry), State()
    outcome = apply_plan(make_plan(config, state, registry), config, state, StateStore(tmp_path / "s.json"), registry)
    assert outcome.ok and not outcome.postconditions.items


def test_a_failed_postcondition_is_reported_after_the_apply_with_the_object_recorded(tmp_path: Path) -> None:
    _, registry, path = setup(tmp_path, HCL.replace('self.power == "running"', 'self.power == "stopped"'), ".hcl")
    config, state = load(tmp_path, registry), State()
    store = StateStore(tmp_path / "s.json")
    outcome = apply_plan(make_plan(config, state, registry), config, state, store, registry)
    assert outcome.ok and len(store.read().resources) == 2
    found = [(d.summary, d.position.line, d.detail) for d in outcome.postconditions.items]
    assert found[0] == ("Resource postcondition failed", 15, 'a is not running.\n\nThis was checked by the '
                        'postcondition of domain.vm["a"]; the object was applied and is recorded in the state.')
    assert len(found) == 2


@pytest.mark.parametrize("condition, summary, detail", [
    ("1", "Invalid condition", "The condition must give true or false, not a number 1."),
    ('"yes"', "Invalid condition", "must give true or false, not a string"),
    ("host.nope > 1", "Unsupported attribute", "nope"),
    ("parsesize(self.name) > 0", "Invalid function call", "parsesize(): 'vm-a' is not a size"),
])
def test_bad_conditions_name_file_line_and_field(tmp_path: Path, condition, summary, detail) -> None:
    _, registry, path = setup(tmp_path, HCL.replace("parsesize(self.memory) <= host.memory", condition), ".hcl")
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, registry), State(), registry)
    first = exc.value.diagnostics[0]
    assert (first.summary, first.position.file, first.position.line, first.attribute) == \
        (summary, str(path), 11, "lifecycle.precondition"), first
    assert detail in first.detail


@pytest.mark.parametrize("text, suffix, name, line", [
    (HCL.replace('self.power == "running"', 'self.powr == "running"'), ".hcl", "self.powr", 15),
    (HCL.replace('"${each.key} is not running."', '"${each.key} has ${host.ram} bytes."'), ".hcl", "host.ram", 16),
    (YAML.replace('self.power == "running"', 'self.powr == "running"'), ".yaml", "self.powr", 15),
])
def test_a_postcondition_naming_an_unknown_attribute_fails_the_plan_not_the_apply(tmp_path: Path, text, suffix,
                                                                                  name, line) -> None:
    """Trial: a misspelt `self` or `host` attribute in a postcondition planned clean, and the apply failed."""
    provider, registry, path = setup(tmp_path, text, suffix)
    with pytest.raises(DiagnosticError) as exc:
        make_plan(load(tmp_path, registry), State(), registry)
    found = {(d.summary, d.position.file, d.position.line, d.attribute) for d in exc.value.diagnostics}
    assert found == {("Unsupported attribute", str(path), line, "lifecycle.postcondition")}
    assert all(f"{name}: there is no attribute" in d.detail for d in exc.value.diagnostics)
    assert not [c for c in provider.calls if c[0] in ("create", "update")]


@pytest.mark.parametrize("text, summary, line", [
    ('pool "p" {\n  path = "/srv/p"\n  lifecycle {\n    precondition {\n      condition = true\n    }\n  }\n}\n',
     "Invalid precondition", 4),
    ('pools:\n  p:\n    path: /srv/p\n    lifecycle:\n      postcondition:\n        - check: true\n'
     '          error_message: x\n', "Invalid postcondition", 6),
])
def test_malformed_condition_blocks_are_refused_when_loading(tmp_path: Path, text, summary, line) -> None:
    _, registry, _ = setup(tmp_path, text, ".yaml" if text.startswith("pools") else ".hcl")
    with pytest.raises(DiagnosticError) as exc:
        load(tmp_path, registry)
    assert [(d.summary, d.position.line) for d in exc.value.diagnostics] == [(summary, line)]
