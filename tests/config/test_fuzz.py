"""Property-based fuzzing of the loaders: any text gives a valid model or diagnostics, never a traceback.

Each run draws a new seed and prints it; KVMSTATE_FUZZ_SEED=N replays a run, and
KVMSTATE_FUZZ_EXAMPLES sets the examples per test. Every example has a time budget
(hypothesis' deadline: a guard against blow-ups such as alias bombs, set far above an
example's usual fraction of a second so that a loaded machine never trips it), and the strategies include hostile shapes: YAML aliases,
deep nesting, huge numbers and long strings. The release's syntax (locals, operators,
conditionals, for, splat, template directives, try/can, validation, moved, removed and
import blocks, lifecycle conditions) is fuzzed up to the plan, with bounded memory.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.provider import Registry

REGISTRY = Registry.discover()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
YAML_SEED = (EXAMPLES / "basic" / "main.yaml").read_text()
HCL_SEED = (EXAMPLES / "basic-hcl" / "main.hcl").read_text()
SEED = int(os.environ.get("KVMSTATE_FUZZ_SEED") or random.SystemRandom().randrange(2 ** 32))


def fuzz(test, share: int = 1):
    """`share`: a test that plans too runs 1/share of the examples (it costs several loads)."""
    return seed(SEED)(settings(max_examples=max(1, int(os.environ.get("KVMSTATE_FUZZ_EXAMPLES", "300")) // share),
                               deadline=timedelta(seconds=30), derandomize=False, database=None,
                               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])(test))


def load_text(folder: Path, name: str, text: str) -> None:
    for old in folder.iterdir():
        old.unlink()
    (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(folder, REGISTRY)
    except DiagnosticError as exc:
        assert exc.diagnostics and all(d.summary and d.position for d in exc.diagnostics)


def mutate(seed_text: str, insert: st.SearchStrategy[str]):
    """The seed with a slice replaced by other text: near-valid files reach deep into the validator."""
    return st.tuples(st.integers(0, len(seed_text)), st.integers(0, 40), insert).map(
        lambda t: seed_text[:t[0]] + t[2] + seed_text[t[0] + t[1]:])


def nested(open_: str, close: str):
    return st.integers(1, 3000).map(lambda n: open_ * n + close * n)


# The language's constructs, each as an HCL expression or block (and in YAML inside ${...}).
LANGUAGE = [
    "${[for i in range(100000) : [for j in range(100000) : i]]}", "${setproduct(range(2000), range(2000))}",
    "${{for x in [\"a\", \"a\"] : x => x}}", "${local.a}", "${1 / 0}", "${\"a\" * 2}", "${try(var.x, 1)}",
    "${can(regex(\"(a+)+$\", \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"))}", "%{ if true }x", "%{ endfor }",
    "%{ for x in [1,2] }${x}%{ endfor }", "${pow(10, 300) * pow(10, 300)}", "${join(\"\", formatlist(\"%999999d\", range(9999)))}",
    "${replace(\"aaaaaaaaaa\", \"a\", \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\")}",
    "${uppr(1)}", "${x ? 1 : 2}", "${null.a}", "${[1][*][*][*]}", "${flatten([[[[[[1]]]]]])}",
]

# Shapes a hostile file is made of: deep nesting, huge numbers, long strings, repetition.
HOSTILE = st.one_of(
    nested("[", "]"), nested("{", "}"), nested("format(", ")"),
    st.integers(20, 6000).map(lambda n: "9" * n),
    st.integers(1000, 200_000).map(lambda n: "x" * n),
    st.sampled_from(["%999999999d", "%[99]d", "%", "%-+ 0#12.3x", "${", "$${", "\\U0011FFFF", "\x00", "\ufeff"]),
    nested("[for x in range(9) : ", "]"), nested("(1 + ", ")"), nested("{for k, v in {a = 1} : k => ", "}"),
    st.sampled_from(LANGUAGE),
)
YAML_HOSTILE = st.one_of(
    HOSTILE,
    st.integers(2, 12).map(lambda n: "\na: &a [1,2,3,4,5,6,7,8,9]\n" + "".join(
        f"a{i}: &a{i} [*{'a' if i == 0 else f'a{i - 1}'}, *{'a' if i == 0 else f'a{i - 1}'}, "
        f"*{'a' if i == 0 else f'a{i - 1}'}]\n" for i in range(n))),
    st.integers(1, 400).map(lambda n: "\n" + "".join("  " * i + "-\n" for i in range(n))),
    st.sampled_from(["? [a]\n: 1\n", "*nope", "&a [*a]", "count: 99999999999999999999", "<<: *a"]),
    st.sampled_from(["\nimport:\n  - to: pool.images\n    id: images\n", "\nimport: {to: 1}\n", "\nimport: [[]]\n",
                     "\nimport:\n  - for_each: ${range(3)}\n    to: pool.p[\"${each.key}\"]\n    id: ${each.value}\n",
                     "lifecycle:\n  precondition:\n    - condition: ${self}\n      error_message: x\n",
                     "lifecycle: {postcondition: [1]}", "\nmoved: [{from: 1}]\n", "\nremoved: 3\n"]),
)
HCL_HOSTILE = st.one_of(
    HOSTILE,
    st.sampled_from(["import {\n  to = pool.images\n  id = \"images\"\n}\n", "import {\n  for_each = 3\n  to = x\n}\n",
                     "import {\n  for_each = {a = 1}\n  to = pool.p[each.value]\n  id = each.key\n}\n", "import {}",
                     "lifecycle {\n  precondition {\n    condition = self.x\n    error_message = 1\n  }\n}\n",
                     "lifecycle {\n  postcondition {}\n}\n", "precondition {", "error_message = \"${self}\"",
                     "validation {\n  condition = var.x\n  error_message = \"${var.x}\"\n}\n"]),
    st.sampled_from(["locals {\n  a = local.b\n  b = local.a\n}\n", "moved {\n  from = pool.images\n  to = pool.x\n}\n",
                     "removed {\n  from = pool.images\n}\n", "locals \"x\" {}", "moved {}", "validation {}",
                     "x = [for", "x = {for k, v in x : k => v...", "x = a ? b", "x = !!!!true"]),
    st.sampled_from(["count = 99999999999999999999", "vcpu = 2 +", "x = 1 +\n", "netwrok \"x\" {}",
                     "depends_on = [pool.images]", "for_each = [\"a\", \"a\"]", "a = \"${", "}}}}"]),
)


@fuzz
@given(text=st.one_of(mutate(YAML_SEED, st.text(max_size=30)), mutate(YAML_SEED, YAML_HOSTILE),
                      st.text(max_size=200)))
def test_yaml_never_crashes(tmp_path_factory, text: str) -> None:
    load_text(tmp_path_factory.mktemp("y", numbered=True), "main.yaml", text)


@fuzz
@given(text=st.one_of(mutate(HCL_SEED, st.text(max_size=30)), mutate(HCL_SEED, HCL_HOSTILE),
                      st.text(max_size=200)))
def test_hcl_never_crashes(tmp_path_factory, text: str) -> None:
    load_text(tmp_path_factory.mktemp("h", numbered=True), "main.hcl", text)


# The syntax added this release, every construct in one configuration the fuzzer mutates and then plans.
LANGUAGE_SEED = '''variable "vms" {
  type    = map(string)
  default = { a = "64MiB", b = "128MiB" }
  validation {
    condition     = alltrue([for k, v in var.vms : can(regex("MiB$", v))])
    error_message = "Sizes in MiB, not ${jsonencode(var.vms)}."
  }
}
locals {
  big   = { for k, v in var.vms : k => v if parsesize(v) > 100 * 1024 * 1024 }
  names = [for k in keys(var.vms) : "vm-${k}"]
  note  = "%{ for n in local.names }${n},%{ endfor }%{ if length(local.names) > 1 }many%{ else }one%{ endif }"
}
pool "images" {
  path = try(local.big["zz"], "/srv/images")
}
domain "vm" {
  for_each = var.vms
  name     = "vm-${each.key}"
  type     = contains(keys(local.big), each.key) ? "qemu" : "kvm"
  memory   = each.value
  vcpu     = length(local.names) * 2 - 1 == 3 ? 3 : 1
  description = local.note
  lifecycle {
    precondition {
      condition     = parsesize(self.memory) <= host.memory && !(self.vcpu > host.cpus)
      error_message = "${self.name}: ${self.memory} on ${host.name}."
    }
    postcondition {
      condition     = self.power == "running"
      error_message = "${each.key} is ${self.power}."
    }
  }
}
moved {
  from = domain.old
  to   = domain.vm["a"]
}
removed {
  from = pool.scratch
}
import {
  for_each = { a = "vm-a" }
  to       = domain.vm[each.key]
  id       = each.value
}
import {
  to = pool.images
  id = "images"
}
output "names" {
  value = domain.vm[*].name
}
'''


@lambda test: fuzz(test, share=3)
@given(text=st.one_of(mutate(LANGUAGE_SEED, st.text(max_size=30)), mutate(LANGUAGE_SEED, HCL_HOSTILE)))
def test_new_syntax_loads_and_plans_within_bounds(tmp_path_factory, text: str) -> None:
    """Mutations of the release's syntax load and plan (imports resolved, preconditions evaluated against the
    fake provider's host facts) into a plan or diagnostics, within the deadline and 256 MiB of allocations."""
    import tracemalloc

    from kvmstate.plan.planner import make_plan
    from kvmstate.provider import LiveObject
    from kvmstate.state import State
    from tests.engine.fake_provider import FakeProvider
    provider = FakeProvider([LiveObject("domain", "vm-a", "default", "u-a", {"type": "qemu", "memory": "64MiB"}),
                             LiveObject("pool", "images", "default", "u-p", {"path": "/srv/images"})])
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    folder = tmp_path_factory.mktemp("n", numbered=True)
    (folder / "main.hcl").write_text(text, encoding="utf-8", errors="surrogatepass")
    tracemalloc.start()
    try:
        make_plan(load(folder, registry), State(), registry)
    except DiagnosticError as exc:
        assert exc.diagnostics and all(d.summary and (d.position or d.address) for d in exc.diagnostics)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 256 * 1024 ** 2


values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10 ** 40, 10 ** 40),
                                st.floats(allow_nan=False), st.text(max_size=20),
                                st.sampled_from(LANGUAGE),
                                st.sampled_from(["${format(\"%05d\", 3)}", "${var.nope}", "${pool.images.path}",
                                                 "x" * 5000])),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.text(max_size=10), inner, max_size=3)), max_leaves=8)


@fuzz
@given(section=st.sampled_from(["networks", "pools", "volumes", "domains"]),
       attrs=st.dictionaries(st.sampled_from(["mode", "bridge", "ipv4", "dhcp", "path", "pool", "capacity",
                                              "format", "memory", "vcpu", "disks", "interfaces", "power",
                                              "lifecycle", "depends_on", "machine", "count", "for_each", "name",
                                              "backing_store"]), values, max_size=5))
def test_structured_yaml_values_never_crash(tmp_path_factory, section: str, attrs: dict) -> None:
    import io

    from ruamel.yaml import YAML
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump({section: {"x": attrs}}, buf)
    load_text(tmp_path_factory.mktemp("s", numbered=True), "main.yaml", buf.getvalue())
