"""Topologies a new admin would write, across areas, on a real libvirtd: a dual-stack network whose static
hosts come from `cidrhost` and `format`, guests on clones and overlays waiting for their address; snapshots of a
domain with XML patches, reverted and following a rename; TPM, virtiofs, shared memory, pinning and a shared
raw file disk, changed live and by a restart. Each: apply, plan again (empty), change with the update class the
documentation promises, and destroy (nothing left: libvirt's lists, the pool folder, dnsmasq's files).
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd
DNSMASQ = Path("/var/lib/libvirt/dnsmasq")


@pytest.fixture
def trial(tmp_path: Path, guest: Path, conn):
    """A configuration folder; `kvmstate CMD` runs there with the guest's kernel folder, the pool path and the
    test's own `extra` arguments. Destroyed afterwards, and nothing may be left."""
    folder = tmp_path / "trial"
    folder.mkdir()
    run = Cli(folder)
    pool = tmp_path / "pool"
    variables = ["--var", f"guest_dir={guest}", "--var", f"pool_path={pool}"]
    cli = lambda cmd, *args, check=0: run(cmd, *args, *variables, *cli.extra, check=check)      # noqa: E731
    cli.folder, cli.pool, cli.tmp, cli.extra, cli.run = folder, pool, tmp_path, [], run
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "2")
    assert conn.listAllDomains() == [] and conn.listAllNetworks() == [] and conn.listAllStoragePools() == []
    assert not pool.exists() and not [f for f in DNSMASQ.glob("tr-*")]


def no_changes(cli) -> None:
    result = cli("plan", "--detailed-exitcode", check=None)
    assert result.returncode == 0, result.stdout + result.stderr


def dumpxml(conn, name: str) -> ET.Element:
    return ET.fromstring(conn.lookupByName(name).XMLDesc(0))


DUAL_STACK = """
variable "guest_dir" { type = string }
variable "pool_path" { type = string }
variable "guests" {
  type    = map(number)
  default = { alpha = 10, beta = 11 }
}
variable "ldap_port" {
  type    = number
  default = 389
}
locals {
  subnet = "192.168.181.0/24"
  macs   = { for k, n in var.guests : k => format("52:54:00:81:00:%02x", n) }
}

network "lab" {
  name   = "tr-dual"
  ipv4   = local.subnet
  domain = "tr.test"
  dhcp {
    start = cidrhost(local.subnet, 100)
    end   = cidrhost(local.subnet, 150)
    hosts = [for k, n in var.guests : { mac = local.macs[k], ip = cidrhost(local.subnet, n), name = k }]
  }
  ipv6 = "fd00:181::/64"
  dhcp6 {
    start = "fd00:181::100"
    end   = "fd00:181::1ff"
    host {
      name = "alpha"
      ip   = cidrhost("fd00:181::/64", 16)
    }
  }
  dns {
    srv {
      service  = "ldap"
      protocol = "tcp"
      target   = "alpha.tr.test"
      port     = var.ldap_port
    }
  }
  xml_patch {
    xpath = "/network/forward"
    add   = "<nat><port start='20000' end='40000'/></nat>"
  }
}

pool "store" {
  name = "tr-store"
  path = var.pool_path
}

volume "base" {
  name     = "tr-base.qcow2"
  pool     = pool.store
  capacity = "64MiB"
}

volume "clone" {
  for_each = var.guests
  name     = "tr-${each.key}-clone.qcow2"
  pool     = pool.store
  clone_of = volume.base
}

volume "overlay" {
  for_each      = var.guests
  name          = "tr-${each.key}-overlay.qcow2"
  pool          = pool.store
  backing_store = volume.base
}

domain "vm" {
  for_each = var.guests
  name     = "tr-${each.key}"
  type     = "qemu"
  machine  = "pc"
  memory   = "160MiB"
  kernel   = "${var.guest_dir}/vmlinuz"
  initrd   = "${var.guest_dir}/initrd.img"
  cmdline  = "console=ttyS0"
  disk {
    volume = volume.clone[each.key]
  }
  disk {
    volume = volume.overlay[each.key]
  }
  interface {
    network      = network.lab
    mac          = local.macs[each.key]
    wait_for_ip  = true
    wait_timeout = 120
  }
}

output "ips" {
  value = { for k, d in domain.vm : k => d.interfaces[0].ipv4 }
}
"""


def test_dual_stack_network_with_computed_static_hosts_and_guests_on_clones_and_overlays(trial, conn) -> None:
    (trial.folder / "main.hcl").write_text(DUAL_STACK)
    trial("apply", "--auto-approve")
    ips = json.loads(trial.run("output", "--json", "ips").stdout)
    assert ips == {"alpha": "192.168.181.10", "beta": "192.168.181.11"}              # the static hosts
    net = ET.fromstring(conn.networkLookupByName("tr-dual").XMLDesc(0))
    assert net.find("forward/nat/port").attrib == {"start": "20000", "end": "40000"}
    assert {h.get("mac") for h in net.findall("ip/dhcp/host[@mac]")} == {"52:54:00:81:00:0a", "52:54:00:81:00:0b"}
    assert net.find("ip[@family='ipv6']/dhcp/host").attrib == {"name": "alpha", "ip": "fd00:181::10"}
    assert "srv-host=_ldap._tcp,alpha.tr.test,389" in (DNSMASQ / "tr-dual.conf").read_text()
    pool = conn.storagePoolLookupByName("tr-store")
    clone = ET.fromstring(pool.storageVolLookupByName("tr-alpha-clone.qcow2").XMLDesc(0))
    overlay = ET.fromstring(pool.storageVolLookupByName("tr-alpha-overlay.qcow2").XMLDesc(0))
    assert clone.find("backingStore") is None and overlay.findtext("backingStore/path") == f"{trial.pool}/tr-base.qcow2"
    no_changes(trial)

    # beta leaves and gamma comes (its own static host, clone and overlay); the SRV port changes live.
    alpha, net_uuid = conn.lookupByName("tr-alpha").UUIDString(), conn.networkLookupByName("tr-dual").UUIDString()
    (trial.folder / "main.hcl").write_text(DUAL_STACK.replace("beta = 11", "gamma = 12").replace("= 389", "= 636"))
    plan = trial("plan").stdout
    assert "network.lab will be updated in place" in plan and "requires restart" not in plan, plan
    assert "Plan: 3 to add, 1 to change, 0 to replace, 3 to destroy." in plan, plan
    trial("apply", "--auto-approve")
    no_changes(trial)
    assert conn.lookupByName("tr-alpha").UUIDString() == alpha and conn.lookupByName("tr-alpha").isActive()
    assert conn.networkLookupByName("tr-dual").UUIDString() == net_uuid
    assert sorted(d.name() for d in conn.listAllDomains()) == ["tr-alpha", "tr-gamma"]
    assert "52:54:00:81:00:0c,192.168.181.12,gamma" in (DNSMASQ / "tr-dual.hostsfile").read_text()
    assert "alpha.tr.test,636" in (DNSMASQ / "tr-dual.conf").read_text()

    # A new IPv6 prefix replaces the network; libvirt would leave the running guests' devices outside the new
    # bridge, so the plan restarts them after it, and they are on the new bridge, with their addresses, after.
    (trial.folder / "main.hcl").write_text(DUAL_STACK.replace("beta = 11", "gamma = 12").replace("= 389", "= 636")
                                           .replace("fd00:181::", "fd00:182::"))
    plan = trial("plan").stdout
    assert "network.lab must be replaced" in plan and 'domain.vm["alpha"] will be restarted' in plan, plan
    assert "which is replaced, and restarts to join it again" in plan, plan
    trial("apply", "--auto-approve")
    no_changes(trial)
    bridge = ET.fromstring(conn.networkLookupByName("tr-dual").XMLDesc(0)).find("bridge").get("name")
    for name in ("tr-alpha", "tr-gamma"):
        tap = dumpxml(conn, name).find("devices/interface/target").get("dev")
        link = subprocess.run(["ip", "-o", "link", "show", "dev", tap], capture_output=True, text=True, check=True)
        assert f"master {bridge} " in link.stdout, link.stdout
    assert json.loads(trial.run("output", "--json", "ips").stdout) == {"alpha": "192.168.181.10",
                                                                       "gamma": "192.168.181.12"}


SNAPSHOTS = """
variable "guest_dir" { type = string }
variable "pool_path" { type = string }
variable "vm_name" {
  type    = string
  default = "tr-app"
}

pool "p" {
  name = "tr-snap-pool"
  path = var.pool_path
}

volume "disk" {
  count    = 2
  name     = "tr-disk${count.index}.qcow2"
  pool     = pool.p
  capacity = "32MiB"
}

domain "app" {
  name    = var.vm_name
  type    = "qemu"
  machine = "pc"
  memory  = "160MiB"
  kernel  = "${var.guest_dir}/vmlinuz"
  disks   = [for v in volume.disk : { volume = v }]
  power   = "stopped"
  xml_patch {
    xpath = "/domain/devices"
    add   = "<panic model='isa'/>"
  }
  xml_patch {
    xpath = "/domain/devices/memballoon/@model"
    set   = "none"
  }
}

snapshot "point" {
  for_each    = { base = "clean", later = "tuned" }
  name        = each.value
  domain      = domain.app
  description = "taken ${each.key}"
}
"""


def test_snapshots_of_a_patched_domain_revert_and_follow_its_rename(trial, conn) -> None:
    (trial.folder / "main.hcl").write_text(SNAPSHOTS)
    trial("apply", "--auto-approve")
    live = dumpxml(conn, "tr-app")
    assert live.find("devices/memballoon").get("model") == "none" and live.find("devices/panic") is not None
    assert sorted(conn.lookupByName("tr-app").snapshotListNames()) == ["clean", "tuned"]
    no_changes(trial)
    plan = trial("plan", "--revert", 'snapshot.point["base"]').stdout
    assert "domain.app will be reverted to snapshot clean" in plan, plan
    trial("apply", "--auto-approve", "--revert", 'snapshot.point["base"]')
    no_changes(trial)

    # A new libvirt name for the same address: the domain is replaced and its snapshots taken again of it.
    trial.extra = ["--var", "vm_name=tr-app2"]
    plan = trial("plan").stdout
    assert "domain.app must be replaced" in plan and plan.count("must be replaced") == 3, plan
    trial("apply", "--auto-approve")
    assert [d.name() for d in conn.listAllDomains()] == ["tr-app2"]
    assert sorted(conn.lookupByName("tr-app2").snapshotListNames()) == ["clean", "tuned"]
    no_changes(trial)


DEVICES = """
variables:
  guest_dir: {type: string}
  pool_path: {type: string}
  shared_file: {type: string}
  share: {type: string}
networks:
  iso:
    name: tr-iso
    mode: isolated
    ipv4: 192.168.182.0/24
pools:
  p:
    name: tr-dev-pool
    path: ${var.pool_path}
volumes:
  root:
    count: 2
    name: tr-root-${count.index}.qcow2
    pool: ${pool.p}
    capacity: 32MiB
domains:
  box:
    count: 2
    name: tr-box-${count.index}
    type: qemu
    machine: pc
    memory: 160MiB
    max_memory: 256MiB
    vcpu: 1
    max_vcpu: 2
    kernel: ${var.guest_dir}/vmlinuz
    initrd: ${var.guest_dir}/initrd.img
    cmdline: console=ttyS0
    tpm: {model: tpm-tis}
    filesystems: [{source: "${var.share}", target: share}]
    memory_backing: {shared: true}
    cputune: {vcpu_pins: ["0"], emulator_pin: "0-1"}
    iothreads: 1
    disks:
      - {volume: "${volume.root[count.index]}", iothread: 1}
      - {file: "${var.shared_file}", shareable: true}
    interfaces: [{network: "${network.iso}"}]
"""


def test_tpm_virtiofs_pinning_and_a_shared_disk_change_live_and_by_restart(trial, conn) -> None:
    shared, share = trial.tmp / "shared.img", trial.tmp / "share"
    shared.write_bytes(b"\0" * 1024 * 1024)
    share.mkdir()
    (trial.folder / "main.yaml").write_text(DEVICES)
    trial.extra = ["--var", f"shared_file={shared}", "--var", f"share={share}"]
    trial("apply", "--auto-approve")
    assert trial("plan", "--detailed-exitcode", check=None).returncode == 0
    uuids = {n: conn.lookupByName(n).UUIDString() for n in ("tr-box-0", "tr-box-1")}
    live = dumpxml(conn, "tr-box-1")
    assert live.find("devices/tpm").get("model") == "tpm-tis" and live.find("memoryBacking/access").get("mode") == "shared"
    assert live.find("devices/filesystem/driver").get("type") == "virtiofs"
    assert live.find("devices/disk[@type='file']/shareable") is not None

    # Live: vCPUs, memory and pinning on the running guests.
    (trial.folder / "main.yaml").write_text(DEVICES.replace("vcpu: 1", "vcpu: 2").replace("memory: 160MiB", "memory: 200MiB")
                                            .replace('vcpu_pins: ["0"]', 'vcpu_pins: ["1", "0"]'))
    plan = trial("plan").stdout
    assert "will be updated in place" in plan and "requires restart" not in plan, plan
    trial("apply", "--auto-approve")
    dom = conn.lookupByName("tr-box-0")
    defined = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert dom.info()[3] == 2 and dom.vcpuPinInfo(0)[0][:2] == (False, True)   # the running guest's
    assert defined.findtext("currentMemory") == str(200 * 1024) and defined.find("vcpu").get("current") is None
    assert {n: conn.lookupByName(n).UUIDString() for n in uuids} == uuids
    no_changes(trial)

    # Restart: another TPM interface; the guests come back running, the same domains.
    (trial.folder / "main.yaml").write_text(DEVICES.replace("vcpu: 1", "vcpu: 2").replace("memory: 160MiB", "memory: 200MiB")
                                            .replace('vcpu_pins: ["0"]', 'vcpu_pins: ["1", "0"]')
                                            .replace("tpm-tis", "tpm-crb"))
    plan = trial("plan").stdout
    assert plan.count("# requires restart") == 2 and "will be updated and restarted" in plan, plan
    trial("apply", "--auto-approve", "--shutdown-timeout", "5")
    assert trial("plan", "--detailed-exitcode", check=None).returncode == 0
    for name, uuid in uuids.items():
        dom = conn.lookupByName(name)
        assert dom.UUIDString() == uuid and dom.isActive()
        assert dumpxml(conn, name).find("devices/tpm").get("model") == "tpm-crb"
