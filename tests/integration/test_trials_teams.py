"""kvmstate used as a team would, on real daemons: three private libvirtds (one through qemu+ssh), the state
in a private PostgreSQL, a module per host with `for_each` over a hosts variable, preview workspaces, saved
plans handed from one pipeline step to the next, state surgery on module instances and hosts.

Each test is a whole life: apply, plan again (empty), change, destroy (nothing left on any host).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tests.integration import hosts as fixtures
from tests.integration.test_hosts import CONFIG as FLAT
from tests.integration.test_hosts import Run, lab, names  # noqa: F401  (lab: the three daemons and the sshd)

pytestmark = pytest.mark.libvirtd

ROOT = Path(__file__).resolve().parents[2]

SITE = """
variable "host" { type = string }
variable "vms"  { type = map(string) }       # VM -> memory
variable "net"  { type = string }
variable "prefix" {
  type    = string
  default = ""                               # the preview workspaces' names start with their workspace's
}

network "lab" {
  host = var.host
  name = "${var.prefix}lab"
  mode = "isolated"
  ipv4 = var.net
}

pool "images" {
  host = var.host
  name = "${var.prefix}images"
  path = "/var/lib/libvirt/${var.prefix}kvmstate-hosts"
}

volume "root" {
  for_each = var.vms
  host     = var.host
  name     = "${var.prefix}${each.key}-root"
  pool     = pool.images
  capacity = "16MiB"
  format   = "qcow2"
}

domain "vm" {
  for_each = var.vms
  host     = var.host
  name     = "${var.prefix}${each.key}"
  type     = "qemu"
  memory   = each.value
  power    = "stopped"
  disk { volume = volume.root[each.key] }
  interface { network = network.lab }
}
"""

ROOT_CONFIG = """
variable "hosts" { type = map(string) }
variable "sites" { type = map(map(string)) }   # host -> VM -> memory
variable "net" {
  type    = string
  default = "10.78.0.0/24"
}

host "each" {
  for_each = var.hosts
  uri      = each.value
}

backend "pg" {
  project = "teams"
}

module "site" {
  source   = "./site"
  for_each = var.sites
  host     = each.key
  vms      = each.value
  net      = var.net
  prefix   = "${kvmstate.workspace}-"
}
"""


@pytest.fixture
def team(lab, pg, tmp_path: Path):
    """The configuration folder and a runner; every host is checked empty of this test's objects at the end."""
    _, daemons, sshd = lab
    folder = tmp_path / "infra"
    (folder / "site").mkdir(parents=True)
    (folder / "main.hcl").write_text(ROOT_CONFIG)
    (folder / "site" / "main.hcl").write_text(SITE)
    uris = {"a": daemons["a"].uri, "b": daemons["b"].uri, "c": f"qemu+ssh://{fixtures.SSH_ALIAS}/system"}
    yield folder, Run(folder, sshd), uris
    for uri in (daemons["a"].uri, daemons["b"].uri):
        assert names(uri) == {"domains": set(), "networks": set(), "pools": set()}, uri


def write(folder: Path, file: str, **values) -> list[str]:
    (folder / file).write_text(json.dumps(values))
    return ["--var-file", file]


def test_two_preview_workspaces_in_one_postgresql_across_hosts(team) -> None:
    folder, run, uris = team
    pr1 = write(folder, "pr1.json", hosts=uris, sites={"a": {"web": "128MiB"}, "b": {"db": "128MiB"},
                                                        "c": {"api": "64MiB"}})
    run("workspace", "new", "pr1")
    applied = run("apply", "--auto-approve", *pr1).stdout
    assert "Apply complete! Resources: 12 added" in applied and "host c: 4 to add" in applied
    run("plan", *pr1, "--detailed-exitcode")
    assert names(uris["b"])["domains"] == {"pr1-db"}

    # a second preview on the same hosts with the same subnet: refused by the plan, not by libvirt at apply
    run("workspace", "new", "pr2")
    clash = write(folder, "pr2.json", hosts=uris, sites={"a": {"web": "96MiB"}, "b": {"x": "64MiB"}})
    refused = run("plan", *clash, check=1).stderr
    assert "site/main.hcl line 14" in refused
    assert "10.78.0.0/24 overlaps 10.78.0.0/24 of network pr1-lab, running on host a" in refused
    pr2 = [*clash, "--var", "net=10.79.0.0/24"]
    run("apply", "--auto-approve", *pr2)
    run("plan", *pr2, "--detailed-exitcode")
    assert names(uris["a"])["domains"] == {"pr1-web", "pr2-web"}

    # a saved plan of pr2 goes stale when someone applies pr2 in between, and when the variables differ
    bigger = [*write(folder, "pr2b.json", hosts=uris, sites={"a": {"web": "112MiB"}, "b": {"x": "64MiB"}}),
              "--var", "net=10.79.0.0/24"]
    run("plan", *bigger, "--out", "pr2.plan")
    stale = run("apply", "pr2.plan", *pr2, check=1).stderr
    assert "Stale plan" in stale and "the variables have other values" in stale and "files" not in stale
    run("apply", "--auto-approve", *bigger)
    stale = run("apply", "pr2.plan", *bigger, check=1).stderr
    assert "Stale plan" in stale and "something was applied since" in stale

    # state surgery on module instances and hosts, in PostgreSQL, costs no object
    moved = run("--workspace", "pr1", "state", "mv", 'module.site["c"]', 'module.site["cc"]').stdout
    assert 'Moved module.site["c"].domain.vm["api"] to module.site["cc"].domain.vm["api"].' in moved
    assert "kvmstate state pull --serial" in moved
    run("--workspace", "pr1", "state", "mv", 'module.site["cc"]', 'module.site["c"]')
    # host b leaves pr1 for good: its records are forgotten in one command, and the plan is empty without it
    removed = run("--workspace", "pr1", "state", "rm", "host.b").stdout
    assert removed.count("Removed ") == 4
    assert "host b" not in run("--workspace", "pr1", "state", "list").stdout
    pr1 = write(folder, "pr1.json", hosts={k: v for k, v in uris.items() if k != "b"},
                sites={"a": {"web": "128MiB"}, "c": {"api": "64MiB"}})
    run("--workspace", "pr1", "plan", *pr1, "--detailed-exitcode")
    assert "pr1-db" in names(uris["b"])["domains"]               # forgotten, not deleted: the admin's to clear
    _clear(uris["b"], "pr1-")

    # each preview is destroyed on its own; the other keeps everything
    run("--workspace", "pr2", "destroy", "--auto-approve", *bigger)
    assert names(uris["a"])["domains"] == {"pr1-web"} and names(uris["a"])["networks"] == {"pr1-lab"}
    run("--workspace", "pr1", "destroy", "--auto-approve", *pr1)
    assert run("--workspace", "pr1", "state", "list").stdout == ""
    run("workspace", "select", "default")
    run("workspace", "delete", "pr1")
    run("workspace", "delete", "pr2")


def _clear(uri: str, prefix: str) -> None:
    """Delete what a test left on a host on purpose, as an administrator would with virsh."""
    import libvirt
    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains():
            if dom.name().startswith(prefix):
                dom.undefine()
        for pool in conn.listAllStoragePools():
            if pool.name().startswith(prefix):
                for vol in pool.listAllVolumes():
                    vol.delete()
                pool.destroy()
                pool.undefine()
        for net in conn.listAllNetworks():
            if net.name().startswith(prefix):
                net.destroy()
                net.undefine()
    finally:
        conn.close()


MODULAR = """
variable "hosts" { type = map(string) }
variable "placement" { type = map(string) }  # VM -> host

host "each" {
  for_each = var.hosts
  uri      = each.value
}

module "site" {
  source   = "./site"
  for_each = var.hosts
  host     = each.key
  vms      = { for vm, at in var.placement : vm => "128MiB" if at == each.key }
  net      = "10.77.0.0/24"
}

network "hand" {
  host = "a"
  name = "hand-net"
  mode = "isolated"
  ipv4 = "10.82.0.0/24"
}

import {
  to = network.hand
  id = "hand-net"
}
"""


def test_a_refactoring_into_a_module_per_host_reviewed_as_a_saved_plan(lab, tmp_path: Path) -> None:
    """The topology of test_hosts.py (root resources with for_each over the hosts) becomes a module per host (moved blocks), a VM moves to
    another host, a network made by hand is imported; the saved plan is reviewed as Markdown and JSON, applied,
    then an apply is interrupted with Ctrl-C and resumed, and everything is destroyed."""
    import libvirt
    from tests.integration.conftest import Paused
    _, daemons, sshd = lab
    uris = {"a": daemons["a"].uri, "b": daemons["b"].uri}
    folder = tmp_path / "infra"
    (folder / "site").mkdir(parents=True)
    (folder / "main.hcl").write_text(FLAT)          # test_hosts.py's
    (folder / "site" / "main.hcl").write_text(SITE)
    run = Run(folder, sshd)
    flat = write(folder, "vars.json", hosts=uris, placement={"web": "a", "db": "a", "api": "b"})
    run("apply", "--auto-approve", *flat)
    moving = write(folder, "vars.json", hosts=uris, placement={"web": "a", "db": "b", "api": "b"})
    out = run("apply", "--auto-approve", *moving).stdout
    assert '# domain.vm["db"] on host b must be replaced' in out and "it moves from host a to host b" in out
    run("plan", *moving, "--detailed-exitcode")
    web = libvirt.open(uris["a"]).lookupByName("web").UUIDString()
    conn = libvirt.open(uris["a"])
    conn.networkDefineXML("<network><name>hand-net</name><ip address='10.82.0.1' prefix='24'/></network>").create()
    conn.close()

    moves = [(f'{t}["{h}"]', f'module.site["{h}"].{t}') for t in ("network.lab", "pool.images") for h in uris]
    moves += [(f'{t}["{vm}"]', f'module.site["{h}"].{t}["{vm}"]') for t in ("volume.root", "domain.vm")
              for vm, h in (("web", "a"), ("db", "b"), ("api", "b"))]
    (folder / "main.hcl").write_text(MODULAR + "".join(f"moved {{\n  from = {a}\n  to   = {b}\n}}\n"
                                                       for a, b in moves))
    comment = run("plan", *moving, "--out", "review.plan", "--format", "markdown").stdout
    assert "### kvmstate plan: 1 to import, 0 to add, 0 to change, 0 to replace, 0 to destroy" in comment
    assert f"<summary>{len(moves)} moved, 0 forgotten: only the state changes</summary>" in comment
    assert '# domain.vm["db"] has moved to module.site["b"].domain.vm["db"]' in comment
    assert "will be imported on host a" in comment
    document = json.loads(run("show", "--json", "review.plan").stdout)
    jsonschema.validate(document, json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    assert len(document["moved"]) == len(moves) and document["by_host"]["a"]["imports"] == 1
    run("apply", "review.plan", *moving)
    run("plan", *moving, "--detailed-exitcode")
    assert libvirt.open(uris["a"]).lookupByName("web").UUIDString() == web

    # Ctrl-C in the middle of an apply: what runs is finished and recorded, the rest is left for the next one
    more = write(folder, "vars.json", hosts=uris, placement={"web": "a", "db": "b", "api": "b", "x1": "b", "x2": "b"})
    with Paused(folder, 2, *more) as paused:
        paused.paused_at()
        paused.process.send_signal(2)
        out, err = paused.resume()
    assert paused.process.returncode == 130 and "Interrupt received" in out + err
    assert "actions completed and recorded" in out + err and "not started" in out + err
    resumed = run("apply", "--auto-approve", *more).stdout
    assert "Apply complete!" in resumed and "0 destroyed" in resumed
    run("plan", *more, "--detailed-exitcode")
    assert names(uris["b"])["domains"] == {"db", "api", "x1", "x2"}

    run("destroy", "--auto-approve", *more)
    assert run("state", "list").stdout == ""
    for uri in uris.values():
        assert names(uri) == {"domains": set(), "networks": set(), "pools": set()}, uri
