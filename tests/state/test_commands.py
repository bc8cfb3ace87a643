"""The commands on where the state lives: workspaces, history, pull/push, migrate, with both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvmstate.cli import application
from kvmstate.state import State, StateResource
from kvmstate.state.postgres import PostgresBackend
from kvmstate.state.store import StateStore

app = application()


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch) -> None:
    """The global --backend/--workspace of one invocation must not reach the next."""
    from kvmstate.state import select
    monkeypatch.setattr(select, "chosen", select.Choice())
    for name in ("KVMSTATE_BACKEND", "KVMSTATE_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def conf(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "main.yaml").write_text("networks: {}\n")
    for name in ("KVMSTATE_BACKEND", "KVMSTATE_WORKSPACE", "KVMSTATE_STATE_KEY", "KVMSTATE_STATE_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    return folder


def kvmstate(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output + str(result.exception)
    return result.output


def seeded(store, n: int = 2) -> State:
    state = State()
    with store.lock("apply"):
        for i in range(n):
            store.put(state, StateResource(address=f"network.n{i}", type="network", name=f"n{i}", host="default",
                                           identity=f"id{i}", attributes={"bridge": f"br{i}"}))
    return state


def test_local_workspaces_keep_separate_states(conf: Path) -> None:
    kvmstate("workspace", "new", "pr-7", conf)
    assert kvmstate("workspace", "list", conf).split() == ["default", "*", "pr-7"]
    kvmstate("workspace", "new", "pr-7", conf, code=1)
    kvmstate("workspace", "new", "../x", conf, code=1)
    state = seeded(StateStore(conf / "kvmstate.state.d" / "pr-7" / "kvmstate.state.json"))
    assert "network.n1" in kvmstate("state", "list", conf)
    kvmstate("workspace", "select", "default", conf)
    assert kvmstate("state", "list", conf) == ""
    assert "network.n0" in kvmstate("--workspace", "pr-7", "state", "list", conf)
    assert "not empty" in kvmstate("workspace", "delete", "pr-7", conf, code=1)
    kvmstate("workspace", "delete", "pr-7", conf, "--force")
    assert kvmstate("workspace", "list", conf).split() == ["*", "default"] and state.serial == 2


def test_pg_backend_block_history_pull_push(conf: Path, pg, tmp_path: Path, monkeypatch) -> None:
    (conf / "backend.hcl").write_text('backend "pg" {\n  project = "lab"\n}\n')
    seeded(PostgresBackend("lab"), 3)
    assert kvmstate("state", "list", conf).split() == ["network.n0", "network.n1", "network.n2"]
    history = kvmstate("state", "history", conf)
    assert "1-3" in history and "apply" in history and "3 recorded" in history
    monkeypatch.chdir(conf)
    assert "network.n1" in kvmstate("state", "show", "--serial", "2")
    assert "network.n2" not in kvmstate("state", "show", "--serial", "2")
    pulled = kvmstate("state", "pull", conf)
    (tmp_path / "s.json").write_text(pulled)
    old = json.loads(kvmstate("state", "pull", "--serial", "1", conf))
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert "Older state" in kvmstate("state", "push", tmp_path / "old.json", conf, code=1)
    other = State(resources=[]).model_dump_json()
    (tmp_path / "other.json").write_text(other)
    assert "Another lineage" in kvmstate("state", "push", tmp_path / "other.json", conf, code=1)
    kvmstate("state", "push", tmp_path / "old.json", conf, "--force")
    assert kvmstate("state", "list", conf).split() == ["network.n0"]
    assert json.loads(kvmstate("state", "pull", conf))["serial"] == 4


def test_migrate_local_to_pg_and_back_keeps_lineage_and_serial(conf: Path, pg) -> None:
    state = seeded(StateStore(conf / "kvmstate.state.json"))
    kvmstate("state", "migrate", "--to", "pg:lab", conf)
    moved = PostgresBackend("lab").read()
    assert moved == state and moved.lineage == state.lineage and moved.serial == 2
    assert "Target holds a state" not in kvmstate("state", "migrate", "--to", "pg:lab", conf)   # same state
    (conf / "kvmstate.state.json").unlink()
    kvmstate("--backend", "pg:lab", "state", "migrate", "--to", "local", conf)
    assert StateStore(conf / "kvmstate.state.json").read() == state
    seeded(PostgresBackend("lab"), 0)
    PostgresBackend("lab").write(PostgresBackend("lab").read())           # pg moves on: serial 3
    assert "Target holds a state" in kvmstate("--backend", "pg:lab", "state", "migrate", "--to", "local", conf,
                                              code=1)


def test_pg_workspaces(conf: Path, pg) -> None:
    kvmstate("--backend", "pg:lab", "workspace", "new", "pr-1", conf)
    kvmstate("--backend", "pg:web", "workspace", "new", "pr-2", conf)        # the selection is the folder's
    assert kvmstate("--backend", "pg:lab", "workspace", "list", conf).split() == ["default", "pr-1"]
    kvmstate("--backend", "pg:lab", "workspace", "select", "pr-1", conf)
    assert kvmstate("--backend", "pg:lab", "workspace", "list", conf).split() == ["default", "*", "pr-1"]
    kvmstate("--backend", "pg:lab", "workspace", "select", "default", conf)
    kvmstate("--backend", "pg:lab", "workspace", "delete", "pr-1", conf)
    assert kvmstate("--backend", "pg:lab", "workspace", "list", conf).split() == ["*", "default"]


def test_state_mv_and_rm_of_module_instances_and_hosts_in_pg(conf: Path, pg) -> None:
    """`state mv`/`state rm` crashed after writing on PostgreSQL (no `.backup` file to name); `state rm` took
    single instances only, so forgetting a host that will never come back meant one command per resource."""
    state = State()
    store = PostgresBackend("lab")
    with store.lock("apply"):
        for site, vm in (("a", "web"), ("a", "db"), ("b", "db"), ("c", "api")):
            store.put(state, StateResource(address=f'module.site["{site}"].domain.vm["{vm}"]', type="domain",
                                           name=vm, host=site, identity=site + vm, attributes={}))
    out = kvmstate("--backend", "pg:lab", "state", "mv", 'module.site["b"]', 'module.site["bb"]', conf)
    assert 'Moved module.site["b"].domain.vm["db"] to module.site["bb"].domain.vm["db"].' in out
    assert "kvmstate state pull --serial 4" in out
    out = kvmstate("--backend", "pg:lab", "state", "rm", 'module.site["a"]', conf)
    assert out.count("Removed module.site[\"a\"]") == 2 and "serial 5" in out
    assert "Removed" in kvmstate("--backend", "pg:lab", "state", "rm", "host.c", conf)
    assert kvmstate("--backend", "pg:lab", "state", "list", conf).split() == ['module.site["bb"].domain.vm["db"]']
    assert "Not in the state" in kvmstate("--backend", "pg:lab", "state", "rm", "host.zz", conf, code=1)
    assert "web" in kvmstate("--backend", "pg:lab", "state", "pull", "--serial", "5", conf)
    seeded(StateStore(conf / "kvmstate.state.json"))
    assert "kvmstate.state.json.backup" in kvmstate("state", "rm", "network.n0", conf)


def test_pg_needs_a_project(conf: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "kvmstate", "--backend", "pg", "state", "list", str(conf)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "No project for the PostgreSQL backend" in result.stderr


def test_the_configuration_reads_the_workspace_name(tmp_path: Path) -> None:
    from kvmstate.config import load
    from kvmstate.provider import Registry
    from tests.engine.fake_provider import FakeProvider
    (tmp_path / "main.yaml").write_text("networks:\n  web:\n    name: ${kvmstate.workspace}-web\n    mode: isolated\n"
                                        "outputs:\n  where:\n    value: ${kvmstate.workspace}\n")
    registry = Registry([FakeProvider()])
    config = load(tmp_path, registry, workspace="pr-9")
    assert [r.object_name for r in config.resources.values()] == ["pr-9-web"]


@pytest.mark.parametrize("file,text", [
    ("main.yaml", "backend:\n  pg:\n    project: lab\nnetworks:\n  web: {mode: isolated}\n"),
    ("main.hcl", 'backend "pg" {\n  project = "lab"\n}\nnetwork "web" {\n  mode = "isolated"\n}\n'),
])
def test_the_backend_block_is_read_apart_and_skipped_by_the_loader(tmp_path: Path, file: str, text: str) -> None:
    from kvmstate.config import load
    from kvmstate.config.backend import read_backend
    from kvmstate.provider import Registry
    from tests.engine.fake_provider import FakeProvider
    (tmp_path / file).write_text(text)
    assert read_backend(tmp_path) == ("pg", {"project": "lab"})
    assert [str(a) for a in load(tmp_path, Registry([FakeProvider()])).resources] == ["network.web"]


def test_a_backend_block_with_a_secret_is_refused(tmp_path: Path) -> None:
    from kvmstate.diagnostics import DiagnosticError
    from kvmstate.state.select import open_backend
    (tmp_path / "main.hcl").write_text('backend "pg" {\n  project = "lab"\n  password = "x"\n}\n')
    with pytest.raises(DiagnosticError) as exc:
        open_backend(tmp_path)
    assert "never from the configuration" in exc.value.diagnostics[0].detail


def test_a_saved_plan_finds_its_workspace_again(conf: Path) -> None:
    from kvmstate.state.select import open_backend
    kvmstate("workspace", "new", "pr-3", conf)
    location = open_backend(conf).location
    again = open_backend(conf, location)
    assert again.workspace == "pr-3" and again.location == location
    assert again.default_path == conf / "kvmstate.state.json"


def test_import_takes_the_variables_the_configuration_needs(conf: Path) -> None:
    """`kvmstate import` had no --var/--var-file: a configuration whose hosts or names come from variables (the
    multi-host pattern) could not be loaded by it."""
    (conf / "main.yaml").write_text("variables:\n  net:\n    type: string\nnetworks:\n  lab:\n    name: ${var.net}\n"
                                    "    mode: nat\n    ipv4: 192.168.122.0/24\n")
    out = kvmstate("import", "network.lab", "default", conf, "--uri", "test:///default", "--var", "net=default",
                   "--state", conf / "s.json")
    assert "Imported network 'default'" in out and "as network.lab." in out
    assert [r.address for r in StateStore(conf / "s.json").read().resources] == ["network.lab"]
