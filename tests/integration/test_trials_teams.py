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
from tests.integration.test_hosts import Run, lab, names  # noqa: F401  (lab: the three daemons and the sshd)

pytestmark = pytest.mark.libvirtd

ROOT = Path(__file__).resolve().parents[2]

SITE = """
variable "host" { type = string }
variable "vms"  { type = map(string) }       # VM -> memory
variable "net"  { type = string }

network "lab" {
  host = var.host
  name = "${kvmstate.workspace}-lab"
  mode = "isolated"
  ipv4 = var.net
}

pool "images" {
  host = var.host
  name = "${kvmstate.workspace}-images"
  path = "/var/lib/libvirt/teams-${kvmstate.workspace}"
}

volume "root" {
  for_each = var.vms
  host     = var.host
  name     = "${kvmstate.workspace}-${each.key}-root"
  pool     = pool.images
  capacity = "16MiB"
  format   = "qcow2"
}

domain "vm" {
  for_each = var.vms
  host     = var.host
  name     = "${kvmstate.workspace}-${each.key}"
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
    assert "site/main.hcl line 10" in refused
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
