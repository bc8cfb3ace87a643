"""What a command loads: `validate [PATH]` runs without typer and imports none of the engine's heavy parts it
does not use, and says what the typer command says; `plan` starts connecting before the loader, the plan model
and the state backend load; and the command table names the module of every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kvmstate.cli import MODULES, command_name
from kvmstate.cli.check import plain_validate

ROOT = Path(__file__).resolve().parents[2]

NOT_FOR_VALIDATE = [
    "typer", "kvmstate.cli.app", "kvmstate.cli.files", "kvmstate.cli.run", "kvmstate.cli.inspect", "kvmstate.cli.state", "kvmstate.cli.backend", "kvmstate.cli.doctor",
    "kvmstate.config.functions.text", "kvmstate.config.functions.encoding",   # examples/basic calls no function
    "kvmstate.plan.model", "kvmstate.state.store", "kvmstate.state.model",
    "libvirt", "deepdiff", "jinja2", "hcl2", "lark", "psycopg", "cryptography", "pycdlib",
]


VALIDATE = """
import json, sys
from kvmstate.entry import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""

PLAN = """
import json, sys
import kvmstate_libvirt.connection as connection
LATER = ["kvmstate.config.loader", "kvmstate.plan.model", "kvmstate.state.store"]
seen = []
start = connection.Connections.connect
def connect(self, hosts):
    seen.append([m for m in LATER if m in sys.modules])
    return start(self, hosts)
connection.Connections.connect = connect
from kvmstate.cli import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps({"loaded then": seen, "loaded at the end": [m for m in LATER if m in sys.modules]}))
"""

REGISTERED = """
import importlib, json
from kvmstate.cli import ALL
from kvmstate.cli.app import app, state_app

def names():
    named = lambda c: c.name or c.callback.__name__.replace("_", "-")
    return ({named(c) for c in app.registered_commands} | {g.name for g in app.registered_groups}
            | {"state " + named(c) for c in state_app.registered_commands})

found = {}
for module in ALL:
    before = names()
    importlib.import_module("kvmstate.cli." + module)
    found[module] = sorted(names() - before)
print(json.dumps(found))
"""


def _run(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _kvmstate(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "kvmstate", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NO_COLOR": "1"})
    return proc.returncode, proc.stdout, proc.stderr


def test_validate_loads_only_what_it_uses() -> None:
    out = _run(VALIDATE, "validate", "examples/basic")
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "Success!" in out and {"kvmstate.cli.check", "kvmstate.config.loader", "kvmstate_libvirt.schema"} <= loaded
    assert [m for m in NOT_FOR_VALIDATE if m in loaded] == []


def test_plain_validate_says_what_the_typer_command_says(tmp_path: Path) -> None:
    """`validate PATH` (no typer) and `validate PATH --no-color` (typer): the same output and exit code."""
    (tmp_path / "main.yaml").write_text("networks:\n  lab:\n    mode: nat\n    bogus: 1\n")
    for path, code in (("examples/basic", 0), (str(tmp_path), 1)):
        plain, typed = _kvmstate("validate", path), _kvmstate("validate", path, "--no-color")
        assert plain == typed and plain[0] == code
    assert "line 4, column 5" in plain[2] and 'no attribute "bogus"' in plain[2]


def test_plan_connects_before_loading_the_loader_the_plan_and_the_state(tmp_path: Path) -> None:
    out = _run(PLAN, "plan", "examples/basic", "--uri", "test:///default", "--state", str(tmp_path / "s.json"))
    found = json.loads(out.splitlines()[-1])
    assert "Plan: 4 to add" in out
    assert found["loaded then"] == [[]] and len(found["loaded at the end"]) == 3


def test_every_command_is_found_in_the_module_the_table_names() -> None:
    """Each command module, imported alone, registers exactly the commands the table sends to it."""
    by_module = {name: module for module, names in json.loads(_run(REGISTERED)).items() for name in names}
    assert {name.split()[0] for name in by_module} == set(MODULES)
    for name, module in by_module.items():
        assert module in MODULES[name.split()[0]], name
    assert {by_module[name] for name in by_module if name.startswith("state ")} == set(MODULES["state"])


def test_only_the_plain_forms_of_validate_skip_typer() -> None:
    assert plain_validate(["validate"]) == Path(".") and plain_validate(["validate", "a/b"]) == Path("a/b")
    for args in (["validate", "--help"], ["validate", "a", "--var", "x=1"], ["validate", "a", "b"], ["plan", "a"], []):
        assert plain_validate(args) is None, args


def test_the_command_is_found_past_the_global_options() -> None:
    assert command_name(["validate", "examples/basic"]) == "validate"
    assert command_name(["--backend", "pg", "--workspace", "plan", "apply", "x"]) == "apply"
    assert command_name(["--backend=pg", "--no-color", "plan"]) == "plan"
    assert command_name(["--help"]) is None
    assert command_name([]) is None
