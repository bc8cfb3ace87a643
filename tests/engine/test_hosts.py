"""Several hosts in one configuration, with the recording fake provider: host blocks and the `host`
meta-argument, placement checks, plans and applies across hosts, a host removed from the configuration,
and hosts that cannot be reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmstate.apply.applier import apply_plan
from kvmstate.cli.workspace import Workspace
from kvmstate.config import load
from kvmstate.config.variables import Inputs
from kvmstate.diagnostics import DiagnosticError
from kvmstate.plan.model import Action, Options
from kvmstate.plan.planner import make_plan
from kvmstate.provider import HostUnreachable, Registry
from kvmstate.render.markdown import render_markdown
from kvmstate.render.style import Style
from kvmstate.render.text import render_plan
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

HOSTS = """
variable "hosts" {
  default = { a = "fake+ssh://kvm-a/system", b = "fake+ssh://kvm-b/system" }
}
host "all" {
  for_each = var.hosts
  uri      = each.value
}
network "lab" {
  for_each = var.hosts
  host     = each.key
  name     = "lab"
  ipv4     = "192.168.150.0/24"
}
pool "images" {
  for_each = var.hosts
  host     = each.key
  name     = "images"
  path     = "/var/lib/libvirt/images"
}
"""

VM = """
volume "web" {
  host     = "%(host)s"
  pool     = "images"
  capacity = "1GiB"
}
domain "web" {
  host   = "%(host)s"
  memory = "256MiB"
  disk { volume = volume.web }
  interface { network = "lab" }
}
"""


class Unreachable(FakeProvider):
    """A fake provider that cannot reach some hosts."""

    down: set[str] = set()

    def read(self, host, types):
        if host in self.down:
            raise HostUnreachable(host, self.hosts.get(host, "?"), f"cannot connect to host {host} "
                                  f"({self.hosts.get(host)}): Connection refused")
        return super().read(host, types)


def write(folder: Path, vm_host: str | None = "a", hosts: str = HOSTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.hcl").write_text(hosts + (VM % {"host": vm_host} if vm_host else ""))
    return folder


@pytest.fixture
def env(tmp_path: Path):
    provider = Unreachable()
    provider.down = set()
    registry = Registry([provider])
    return provider, registry, StateStore(tmp_path / "state.json")


def workspace(folder: Path, registry: Registry, store: StateStore) -> Workspace:
    return Workspace(folder, store.path, "fake:///", registry=registry, inputs=Inputs(env={}))


def apply(ws: Workspace, state: State, options: Options | None = None):
    config = ws.load()
    plan = ws.plan(config, state, options)
    outcome = apply_plan(plan, config, state, ws.store, ws.registry, uris=ws.hosts)
    assert outcome.ok, outcome
    return plan


def errors(exc: pytest.ExceptionInfo) -> list[str]:
    return [f"{d.summary}: {d.detail}" for d in exc.value.diagnostics]


def test_hosts_from_variables_and_for_each_over_them(env, tmp_path: Path) -> None:
    _, registry, _ = env
    config = load(write(tmp_path / "c"), registry, Inputs(env={}))
    assert {n: h.uri for n, h in config.hosts.items()} == {"a": "fake+ssh://kvm-a/system", "b": "fake+ssh://kvm-b/system"}
    placed = {str(a): (r.host, r.object_name) for a, r in config.resources.items()}
    assert placed['network.lab["a"]'] == ("a", "lab") and placed['network.lab["b"]'] == ("b", "lab")
    # a plain name (`network = "lab"`) resolves on the domain's own host
    web = config.resources[next(a for a in config.resources if str(a) == "domain.web")]
    assert {str(t) for t in web.refs.values()} == {"volume.web", 'network.lab["a"]'}


def test_yaml_hosts_and_a_file_without_hosts_keeps_the_default(env, tmp_path: Path) -> None:
    _, registry, _ = env
    folder = tmp_path / "y"
    folder.mkdir()
    (folder / "main.yaml").write_text("hosts:\n  kvm1:\n    uri: qemu+ssh://root@kvm1/system?no_tty=1\n"
                                      "networks:\n  lab:\n    host: kvm1\n    mode: isolated\n  plain:\n    mode: isolated\n")
    config = load(folder, registry)
    assert config.hosts["kvm1"].uri == "qemu+ssh://root@kvm1/system?no_tty=1"
    assert {str(a): r.host for a, r in config.resources.items()} == {"network.lab": "kvm1", "network.plain": "default"}


def test_placement_errors_name_both_hosts(env, tmp_path: Path) -> None:
    _, registry, _ = env
    folder = write(tmp_path / "c")
    text = (folder / "main.hcl").read_text()
    (folder / "main.hcl").write_text(text.replace('volume = volume.web', 'volume = volume.other') + """
volume "other" {
  host     = "b"
  pool     = "images"
  capacity = "1GiB"
}
network "stray" {
  host = "c"
  mode = "isolated"
}
network "twice" {
  host = "a"
  name = "lab"
  mode = "isolated"
}
""")
    with pytest.raises(DiagnosticError) as exc:
        load(folder, registry, Inputs(env={}))
    found = errors(exc)
    assert any(e.startswith("Reference to another host: domain.web is on host 'a' but refers through "
                            "\"disks[0].volume\" to volume.other, which is on host 'b'") for e in found), found
    assert any(e.startswith("Unknown host: network.stray is placed on the host 'c'") for e in found), found
    assert any(e.startswith("Duplicate object name:") and "on host 'a'" in e for e in found), found


def test_apply_across_hosts_records_host_and_uri_then_nothing_to_do(env, tmp_path: Path) -> None:
    provider, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    plan = apply(ws, state)
    assert plan.by_host["a"].add == 4 and plan.by_host["b"].add == 2
    text = render_plan(plan, Style(False))
    assert '# domain.web on host a will be created' in text
    assert "  host a: 4 to add, 0 to change, 0 to replace, 0 to destroy." in text
    assert "| `b` | 2 | 0 | 0 | 0 |" in render_markdown(plan)
    assert json.loads(plan.model_dump_json())["by_host"]["b"]["add"] == 2
    assert {(h, t, n) for h, t, n in provider.objects} >= {("a", "network", "lab"), ("b", "network", "lab"),
                                                            ("a", "domain", "web")}
    recorded = {r.address: (r.host, r.uri) for r in store.read().resources}
    assert recorded["domain.web"] == ("a", "fake+ssh://kvm-a/system")
    assert recorded['network.lab["b"]'] == ("b", "fake+ssh://kvm-b/system")
    again = ws.plan(ws.load(), store.read())
    assert not again.has_changes


def test_moving_a_domain_to_another_host_replaces_it(env, tmp_path: Path) -> None:
    provider, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    apply(ws, state)
    write(tmp_path / "c", vm_host="b")
    plan = apply(ws, state)
    web = plan.change("domain.web")
    assert web.action == Action.REPLACE and web.reason == "it moves from host a to host b"
    assert ("b", "domain", "web") in provider.objects and ("a", "domain", "web") not in provider.objects


def test_a_removed_host_is_reached_by_its_recorded_uri_and_emptied(env, tmp_path: Path) -> None:
    provider, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    apply(ws, state)
    only_a = HOSTS.replace('b = "fake+ssh://kvm-b/system"', "")
    ws = workspace(write(tmp_path / "c", hosts=only_a), registry, store)
    plan = apply(ws, state)
    assert provider.hosts["b"] == "fake+ssh://kvm-b/system"
    assert {c.address for c in plan.resource_changes if c.action == Action.DELETE} == \
        {'network.lab["b"]', 'pool.images["b"]'}
    assert not any(h == "b" for h, _, _ in provider.objects)


def test_a_removed_host_without_a_recorded_uri_says_what_to_do(env, tmp_path: Path) -> None:
    _, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    apply(ws, state)
    for r in state.resources:
        r.uri = None                 # as an older kvmstate recorded it
    ws = workspace(write(tmp_path / "c", hosts=HOSTS.replace('b = "fake+ssh://kvm-b/system"', "")), registry, store)
    with pytest.raises(DiagnosticError) as exc:
        ws.plan(ws.load(), state)
    assert errors(exc)[0].startswith("Host no longer declared: The state records network.lab[\"b\"], "
                                     "pool.images[\"b\"] on the host 'b'")
    assert "`kvmstate state rm host.b`" in errors(exc)[0]


def test_an_unreachable_host_fails_the_plan_or_is_skipped_loudly(env, tmp_path: Path) -> None:
    provider, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    apply(ws, state)
    write(tmp_path / "c", vm_host=None)            # the domain and its volume go from host a
    provider.down = {"b"}
    with pytest.raises(DiagnosticError) as exc:
        ws.plan(ws.load(), state)
    assert errors(exc) == ["Host unreachable: cannot connect to host b (fake+ssh://kvm-b/system): Connection refused. "
                           "Fix the connection, or plan the other hosts with --skip-unreachable (the resources on b "
                           "are then neither read nor changed). A host that will never come back: `kvmstate state rm "
                           "host.b` forgets what the state records on it."]
    plan = apply(ws, state, Options(skip_unreachable=True))
    assert plan.unreachable_hosts == {"b": "cannot connect to host b (fake+ssh://kvm-b/system): Connection refused"}
    assert {c.address for c in plan.resource_changes if c.action == Action.DELETE} == {"domain.web", "volume.web"}
    assert all(c.host == "a" for c in plan.resource_changes)
    text = render_plan(plan, Style(False))
    assert "Warning: host b was NOT planned" in text and "# domain.web on host a will be destroyed" in text
    assert 'network.lab["b"]' in {r.address for r in store.read().resources}


def test_one_host_plans_render_as_before(env, tmp_path: Path) -> None:
    _, registry, _ = env
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "main.yaml").write_text("networks:\n  lab:\n    mode: isolated\n")
    plan = make_plan(load(folder, registry), State(), registry)
    assert " on host" not in render_plan(plan, Style(False))
    assert "by_host" not in json.loads(plan.model_dump_json())
    assert "skip_unreachable" not in json.loads(plan.model_dump_json())["options"]


def test_the_multi_host_example_spreads_its_vms(env) -> None:
    _, registry, _ = env
    config = load(Path(__file__).resolve().parents[2] / "examples" / "multi-host", registry, Inputs(env={}))
    plan = make_plan(config, State(), registry)
    assert {h: s.add for h, s in plan.by_host.items()} == {"kvm1": 4, "kvm2": 4, "kvm3": 4}
    assert set(config.hosts) == {"kvm1", "kvm2", "kvm3"}


def test_the_graph_draws_a_box_per_host(env, tmp_path: Path) -> None:
    from kvmstate.render.dot import render_dot
    _, registry, _ = env
    config = load(write(tmp_path / "c"), registry, Inputs(env={}))
    dot = render_dot(config.graph, {str(a): r.host for a, r in config.resources.items()})
    assert 'subgraph "cluster_a" {\n    label="host a";' in dot
    assert '    "domain.web" [shape=box];' in dot.split('subgraph "cluster_b"')[0]


def test_a_target_on_one_host_does_not_need_the_others(env, tmp_path: Path) -> None:
    provider, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    apply(ws, state)
    provider.down = {"b"}
    plan = ws.plan(ws.load(), state, Options(targets=["domain.web"]))
    assert not plan.has_changes and not plan.unreachable_hosts


def test_state_list_shows_hosts_and_doctor_checks_every_host(env, tmp_path: Path) -> None:
    from typer.testing import CliRunner
    from kvmstate.cli import application
    app = application()
    _, registry, store = env
    folder = write(tmp_path / "c")
    ws = workspace(folder, registry, store)
    apply(ws, State())
    listed = CliRunner().invoke(app, ["state", "list", str(folder), "--state", str(store.path)]).output
    assert 'domain.web        host a\n' in listed and 'network.lab["b"]  host b\n' in listed
    only_b = CliRunner().invoke(app, ["state", "list", str(folder), "--state", str(store.path), "--host", "b"])
    assert only_b.output.split() == ['network.lab["b"]', "host", "b", 'pool.images["b"]', "host", "b"]
    (folder / "main.hcl").write_text('host "x" {\n  uri = "test:///default"\n}\nhost "y" {\n  uri = "test:///default"\n}\n')
    doctor = CliRunner().invoke(app, ["doctor", str(folder)]).output
    assert "host x (test:///default):" in doctor and "host y (test:///default):" in doctor
    assert "host default" not in doctor


def test_a_whole_host_is_targeted_as_host_dot_name(env, tmp_path: Path) -> None:
    provider, registry, store = env
    ws = workspace(write(tmp_path / "c"), registry, store)
    state = State()
    apply(ws, state)
    write(tmp_path / "c", vm_host=None)          # domain and volume leave host a
    provider.down = {"a"}
    plan = ws.plan(ws.load(), state, Options(targets=["host.b"]))
    assert {c.address for c in plan.resource_changes} == {'network.lab["b"]', 'pool.images["b"]'}
    assert not plan.has_changes
    with pytest.raises(DiagnosticError) as exc:
        ws.plan(ws.load(), state, Options(targets=["host.nowhere"]))
    assert errors(exc) == ["Unknown host: --target host.nowhere: no resource is on the host 'nowhere' in the "
                           "configuration or the state. Hosts with resources: a, b."]
