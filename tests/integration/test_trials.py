"""Topologies a new user writes with the language, on a real libvirtd: modules called with count and for_each,
a module inside a module, module outputs read by root resources and outputs, `cidrhost` static DHCP hosts,
`templatefile` cloud-init, conditions reading `self` and `host`, and the refactorings a user then makes
(`count` to `for_each` on a module call, a network moved into a module, `state mv` of a module instance).
Every object is named unlike its address; each run ends with a second plan that is empty and a destroy that
leaves nothing. The defects these trials found are each pinned by the cheapest test that catches them (see
CHANGELOG.md); these keep the whole walk honest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd

OWNER = "{https://kvmstate.dev/xmlns/owner/1}owner"

SITE = r'''variable "name" {
  type = string
}

variable "pool" {}

variable "network" {}

volume "disk" {
  name     = "${var.name}-disk"
  pool     = var.pool
  capacity = "8MiB"
}

domain "this" {
  name   = var.name
  type   = "qemu"
  memory = "64MiB"
  power  = "stopped"
  disk {
    volume = volume.disk
  }
  interface {
    network = var.network
  }
  lifecycle {
    postcondition {
      condition     = self.power == "stopped" && length(self.interfaces) == 1
      error_message = "${self.name} should be stopped, with one interface."
    }
  }
}

output "vm" {
  value = domain.this.name
}
'''

NET = r'''network "this" {
  name = "kstrial-lan"
  mode = "isolated"
  ipv4 = "192.168.188.0/24"
}

output "net" {
  value = network.this
}
'''

POOL = r'''pool "store" {
  name = "kstrial-pool"
  path = "/var/lib/libvirt/kstrial-pool"
}
'''

COUNTED = POOL + r'''
variable "sites" {
  default = 1
}

network "lan" {
  count = 1
  name  = "kstrial-lan"
  mode  = "isolated"
  ipv4  = "192.168.188.0/24"
}

module "site" {
  source  = "./site"
  count   = var.sites
  name    = format("kstrial-%02d", count.index)
  pool    = pool.store
  network = network.lan[0]
}
'''

KEYED = POOL + r'''
locals {
  sites = { a = 0, b = 1 }
}

module "net" {
  source = "./net"
}

module "site" {
  source   = "./site"
  for_each = local.sites
  name     = format("kstrial-%02d", each.value)
  pool     = pool.store
  network  = module.net.net
}

moved {
  from = module.site[0]
  to   = module.site["a"]
}

moved {
  from = module.site[1]
  to   = module.site["b"]
}

moved {
  from = network.lan[0]
  to   = module.net.network.this
}

output "vms" {
  value = { for key, site in module.site : key => site.vm }
}
'''


def leftovers(conn, prefix: str = "kstrial") -> list[str]:
    names = [d.name() for d in conn.listAllDomains()] + [n.name() for n in conn.listAllNetworks()] + \
        [p.name() for p in conn.listAllStoragePools()]
    return [n for n in names if n.startswith(prefix)]


def marked(xml: str) -> str:
    """The address in a document's ownership mark."""
    return ET.fromstring(xml).find(f"metadata/{OWNER}").get("address")


@pytest.fixture
def refactor(tmp_path: Path, conn):
    for folder, text in (("site", SITE), ("net", NET)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "main.hcl").write_text(text)
    (tmp_path / "main.hcl").write_text(COUNTED)
    run = Cli(tmp_path)
    yield run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert leftovers(conn) == []


def test_a_module_topology_refactored_keeps_every_object(refactor: Cli, conn, tmp_path: Path) -> None:
    import libvirt

    # An untyped variable set on the command line is the string "2"; count takes it.
    refactor("apply", "--auto-approve", "--var", "sites=2")
    assert refactor("plan", "--detailed-exitcode", "--var", "sites=2").returncode == 0
    before = {name: conn.lookupByName(name).UUIDString() for name in ("kstrial-00", "kstrial-01")}
    net_uuid = conn.networkLookupByName("kstrial-lan").UUIDString()

    # count -> for_each on the module call, and the network moved into a module: moves only, nothing replaced.
    (tmp_path / "main.hcl").write_text(KEYED)
    plan = json.loads(refactor("plan", "--json").stdout)
    assert {(m["from"], m["to"]) for m in plan["moved"]} == {
        ("module.site[0].domain.this", 'module.site["a"].domain.this'),
        ("module.site[0].volume.disk", 'module.site["a"].volume.disk'),
        ("module.site[1].domain.this", 'module.site["b"].domain.this'),
        ("module.site[1].volume.disk", 'module.site["b"].volume.disk'),
        ("network.lan[0]", "module.net.network.this")}
    assert {c["action"] for c in plan["resource_changes"]} == {"no-op"}
    refactor("apply", "--auto-approve")
    # The second plan is empty: the marks were rewritten (the running network's in its definition).
    second = refactor("plan", "--detailed-exitcode")
    assert "ownership mark" not in second.stdout and "No changes" in second.stdout
    net = conn.networkLookupByName("kstrial-lan")
    assert net.UUIDString() == net_uuid and net.isActive()
    assert marked(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)) == "module.net.network.this"
    assert {name: conn.lookupByName(name).UUIDString() for name in before} == before
    assert marked(conn.lookupByName("kstrial-01").XMLDesc(0)) == 'module.site["b"].domain.this'
    assert json.loads(refactor("output", "vms", "--json").stdout) == {"a": "kstrial-00", "b": "kstrial-01"}

    # state mv of a whole module instance, then the configuration renamed to match: the marks follow.
    moved = refactor("state", "mv", 'module.site["b"]', 'module.site["c"]').stdout
    assert 'Moved module.site["b"].domain.this to module.site["c"].domain.this.' in moved
    (tmp_path / "main.hcl").write_text(KEYED.replace("b = 1", "c = 1").replace('module.site["b"]',
                                                                               'module.site["c"]'))
    assert refactor("plan", "--detailed-exitcode").returncode == 0
    refactor("apply", "--auto-approve")
    assert "ownership mark" not in refactor("plan").stdout
    assert marked(conn.lookupByName("kstrial-01").XMLDesc(0)) == 'module.site["c"].domain.this'
    assert conn.lookupByName("kstrial-01").UUIDString() == before["kstrial-01"]

    out = refactor("destroy", "--auto-approve", "--shutdown-timeout", "1").stdout
    assert "6 destroyed" in out
    assert leftovers(conn) == []


VM = r'''variable "name" {
  type = string
}

variable "mac" {
  type = string
}

variable "ip" {
  type = string
}

variable "pool" {}

variable "network" {}

variable "guest" {
  type = string
}

variable "data_size" {
  type = string
}

module "data" {
  source = "../disk"
  name   = "${var.name}-data"
  pool   = var.pool
  size   = var.data_size
}

volume "root" {
  name     = "${var.name}-root"
  pool     = var.pool
  capacity = "8MiB"
}

cloudinit "seed" {
  name      = "${var.name}-seed"
  pool      = var.pool
  user_data = templatefile("${path.module}/user-data.tftpl", { hostname = var.name, ip = var.ip })
}

domain "this" {
  name      = var.name
  type      = "qemu"
  memory    = "64MiB"
  kernel    = "${var.guest}/vmlinuz"
  initrd    = "${var.guest}/initrd.img"
  cmdline   = "console=ttyS0"
  cloudinit = cloudinit.seed
  disk {
    volume = volume.root
  }
  disk {
    volume = module.data.volume
  }
  interface {
    network = var.network
    mac     = var.mac
  }
  lifecycle {
    precondition {
      condition     = parsesize(self.memory) <= host.free_memory && host.cpus >= 1
      error_message = "${self.name} needs ${self.memory}; ${host.name} has ${host.free_memory} bytes free."
    }
    postcondition {
      condition     = self.power == "running"
      error_message = "${self.name} did not start."
    }
  }
}

output "ip" {
  value = var.ip
}

output "data" {
  value = module.data.volume
}
'''

DISK = r'''variable "name" {
  type = string
}

variable "pool" {}

variable "size" {
  type = string
}

volume "this" {
  name     = var.name
  pool     = var.pool
  capacity = var.size
}

output "volume" {
  value = volume.this
}
'''

LAB = r'''variable "guest" {
  type = string
}

variable "data_size" {
  type    = string
  default = "4MiB"
}

locals {
  cidr  = "192.168.189.0/24"
  names = [for i in range(2) : format("kslang-%02d", i)]
  nodes = { for i, n in local.names : n => { ip = cidrhost(local.cidr, 10 + i), mac = format("52:54:00:18:09:%02x", i) } }
}

network "lan" {
  name = "kslang-net"
  ipv4 = local.cidr
  dhcp {
    start = cidrhost(local.cidr, 100)
    end   = cidrhost(local.cidr, 150)
    hosts = [for n, v in local.nodes : { mac = v.mac, ip = v.ip, name = n }]
  }
}

pool "store" {
  name = "kslang-pool"
  path = "/var/lib/libvirt/kslang-pool"
}

module "vm" {
  source    = "./modules/vm"
  for_each  = local.nodes
  name      = each.key
  mac       = each.value.mac
  ip        = each.value.ip
  pool      = pool.store
  network   = network.lan
  guest     = var.guest
  data_size = var.data_size
}

volume "shared" {
  name       = "kslang-shared"
  pool       = pool.store
  capacity   = "4MiB"
  depends_on = [module.vm]
}

domain "monitor" {
  name   = "kslang-monitor"
  type   = "qemu"
  memory = "64MiB"
  power  = "stopped"
  disk {
    volume = module.vm["kslang-00"].data
  }
  disk {
    volume = volume.shared
  }
}

output "ips" {
  value = { for name, vm in module.vm : name => vm.ip }
}
'''


@pytest.fixture
def lab(tmp_path: Path, guest: Path, conn):
    files = {"main.hcl": LAB, "modules/vm/main.hcl": VM, "modules/disk/main.hcl": DISK,
             "modules/vm/user-data.tftpl": "#cloud-config\nhostname: {{ hostname }}\n# {{ ip }}\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "lab.tfvars").write_text(f'guest = "{guest}"\n')
    run = Cli(tmp_path)
    yield run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert leftovers(conn, "kslang") == []


def test_nested_modules_with_static_dhcp_and_templated_seeds(lab: Cli, conn) -> None:
    files = ("--var-file", "lab.tfvars")
    out = lab("apply", "--auto-approve", *files).stdout
    assert "Resources: 12 added" in out
    assert lab("plan", "--detailed-exitcode", *files).returncode == 0
    hosts = ET.fromstring(conn.networkLookupByName("kslang-net").XMLDesc(0)).findall("ip/dhcp/host")
    assert {(h.get("mac"), h.get("ip"), h.get("name")) for h in hosts} == {
        ("52:54:00:18:09:00", "192.168.189.10", "kslang-00"), ("52:54:00:18:09:01", "192.168.189.11", "kslang-01")}
    for i in (0, 1):
        dom = conn.lookupByName(f"kslang-{i:02d}")
        devices = ET.fromstring(dom.XMLDesc(0)).find("devices")
        assert dom.isActive()
        assert [d.find("source").get("volume") for d in devices.findall("disk")] == [
            f"kslang-{i:02d}-root", f"kslang-{i:02d}-data", f"kslang-{i:02d}-seed.iso"]
        assert devices.find("interface/mac").get("address") == f"52:54:00:18:09:{i:02x}"
    monitor = ET.fromstring(conn.lookupByName("kslang-monitor").XMLDesc(0))
    assert [d.find("source").get("volume") for d in monitor.findall("devices/disk")] == [
        "kslang-00-data", "kslang-shared"]
    assert json.loads(lab("output", "ips", "--json").stdout) == {"kslang-00": "192.168.189.10",
                                                                 "kslang-01": "192.168.189.11"}
    state = json.loads((lab.workdir / "kvmstate.state.json").read_text())
    seed = next(r for r in state["resources"] if r["address"] == 'module.vm["kslang-01"].cloudinit.seed')
    assert seed["attributes"]["user_data"] == "#cloud-config\nhostname: kslang-01\n# 192.168.189.11\n"

    # A root variable reaches a volume two modules down: a live update of each instance's volume, and
    # --target one module instance plans only its own.
    grown = (*files, "--var", "data_size=8MiB")
    plan = json.loads(lab("plan", "--json", *grown).stdout)
    assert {c["address"]: c["action"] for c in plan["resource_changes"] if c["action"] != "no-op"} == {
        'module.vm["kslang-00"].module.data.volume.this': "update",
        'module.vm["kslang-01"].module.data.volume.this': "update"}
    targeted = json.loads(lab("plan", "--json", *grown, "--target", 'module.vm["kslang-01"]').stdout)
    assert [c["address"] for c in targeted["resource_changes"] if c["action"] != "no-op"] == [
        'module.vm["kslang-01"].module.data.volume.this']
    lab("apply", "--auto-approve", *grown)
    assert lab("plan", "--detailed-exitcode", *grown).returncode == 0
    pool = conn.storagePoolLookupByName("kslang-pool")
    assert pool.storageVolLookupByName("kslang-01-data").info()[1] == 8 * 1024 * 1024
    assert conn.lookupByName("kslang-00").isActive()

    out = lab("destroy", "--auto-approve", "--shutdown-timeout", "1", *files).stdout
    assert "12 destroyed" in out
    assert leftovers(conn, "kslang") == []
