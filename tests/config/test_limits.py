"""Hostile inputs end with a diagnostic, within a memory cap and a generous timeout (issue 10).

Each case loads one file in a child process limited to 1 GiB of address space; the
child prints its diagnostics and its peak memory. No case asserts how fast it
ends, only that it ends, with the expected summary at a position.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kvmstate.config.limits import MAX_INSTANCES, MAX_TOTAL_INSTANCES, Budget, LimitError

MEMORY_CAP = 1024 * 1024 * 1024
TIMEOUT = 120

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.provider import Registry
try:
    load(sys.argv[1], Registry.discover())
    found = []
except DiagnosticError as exc:
    found = [[d.summary, d.detail, d.position.line if d.position else None] for d in exc.diagnostics]
print(json.dumps({{"diagnostics": found, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""

BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))


def _nested_block(levels: int) -> str:
    return "pools:\n  p:\n    path:\n" + "".join("  " * (i + 3) + "-\n" for i in range(levels)) + "  " * (levels + 3) + "x\n"


CASES = {
    "count.hcl": ('pool "p" {\n  count = 99999999999999999999\n  path = "/srv"\n}\n', "Too many instances"),
    "count.yaml": ("pools:\n  p:\n    count: 99999999999999999999\n    path: /srv\n", "Too many instances"),
    "for_each.yaml": ("variables:\n  keys: {default: [" + ",".join(f"k{i}" for i in range(MAX_INSTANCES + 1)) +
                      "]}\npools:\n  p:\n    for_each: ${var.keys}\n    path: /srv/${each.key}\n", "Too many instances"),
    "billion_laughs.yaml": (BOMB, "Too many values"),
    "alias_key.yaml": ("a: &a [1, 2]\npools:\n  ? *a\n  : {path: /srv}\n", "Unexpected key"),
    "nested_5000.yaml": ("pools:\n  p:\n    path: " + "[" * 5000 + "]" * 5000 + "\n", "Nested too deeply"),
    "nested_200000.yaml": ("pools:\n  p:\n    path: " + "[" * 200000 + "]" * 200000 + "\n", "Nested too deeply"),
    "nested_block.yaml": (_nested_block(300), "Nested too deeply"),
    "nested_expression.yaml": ('pools:\n  p:\n    path: "${' + "[" * 5000 + "]" * 5000 + '}"\n', "Nested too deeply"),
    "nested_5000.hcl": ('pool "p" {\n  path = ' + "[" * 5000 + "]" * 5000 + "\n}\n", "Nested too deeply"),
    "nested_200000.hcl": ('pool "p" {\n  path = ' + "[" * 200000 + "]" * 200000 + "\n}\n", "Nested too deeply"),
    "nested_calls.hcl": ('pool "p" {\n  path = ' + "format(" * 100 + '"x"' + ")" * 100 + "\n}\n", "Nested too deeply"),
    "long_number.yaml": ("pools:\n  p:\n    count: " + "9" * 5000 + "\n    path: /srv\n", "Invalid YAML"),
    "long_number.hcl": ('pool "p" {\n  count = ' + "9" * 5000 + '\n  path = "/srv"\n}\n', "Value too large"),
    "format_width.hcl": ('pool "p" {\n  path = format("%999999999s", "x")\n}\n', "Value too large"),
    "join_huge.yaml": ("variables:\n  parts: {default: [" + ",".join(["x" * 100] * 20000) + "]}\npools:\n  p:\n"
                       "    path: ${join(\"/\", var.parts)}\n", "Value too large"),
    "template_total.yaml": ("variables:\n  s: {default: " + "x" * 900_000 + "}\npools:\n  p:\n    count: 100\n"
                            "    path: /${var.s}${count.index}\n", "Value too large"),
    "template_repeat.hcl": ('pool "p" {\n  path = templatefile("t.j2", {})\n}\n', "Value too large"),
    "huge_file.yaml": ("# padding\n" * (900 * 1024), "File too large"),
}
SIDE_FILES = {"template_repeat.hcl": {"t.j2": "{{ 'x' * 1000000000 }}"}}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_ends_with_a_diagnostic(tmp_path: Path, name: str) -> None:
    text, summary = CASES[name]
    (tmp_path / name).write_text(text)
    for side, content in SIDE_FILES.get(name, {}).items():
        (tmp_path / side).write_text(content)
    child = subprocess.run([sys.executable, "-c", CHILD.format(cap=MEMORY_CAP), str(tmp_path / name)],
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.splitlines()[-1])
    summaries = [d[0] for d in result["diagnostics"]]
    assert summary in summaries, result["diagnostics"]
    assert all(d[2] for d in result["diagnostics"]), result["diagnostics"]
    print(f"{name}: peak {result['peak_kib'] // 1024} MiB")


def test_instances_are_counted_across_the_configuration() -> None:
    budget = Budget()
    for _ in range(MAX_TOTAL_INSTANCES // MAX_INSTANCES):
        budget.take_instances(MAX_INSTANCES)
    with pytest.raises(LimitError, match="in all"):
        budget.take_instances(1)
