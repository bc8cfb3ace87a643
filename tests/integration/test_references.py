"""References on a real libvirtd where every object's `name` differs from its address: an overlay on a named
base volume, disks on volumes made with `count` and `for_each`, and cloud-init seeds made with `count` (default
names, `seed-0`) and `for_each` (custom names). The provider must reach each one through the reference."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd

CONFIG = r'''variable "colours" {
  type    = map(string)
  default = { red = "4MiB", blue = "8MiB" }
}

pool "store" {
  name = "ksref-pool"
  path = "/var/lib/libvirt/ksref-pool"
}

volume "base" {
  name     = "ksref-base-image"
  pool     = pool.store
  capacity = "16MiB"
  format   = "qcow2"
}

volume "overlay" {
  name          = "ksref-overlay"
  pool          = pool.store
  backing_store = volume.base
}

volume "data" {
  count    = 2
  name     = "ksref-data-${count.index}"
  pool     = pool.store
  capacity = "8MiB"
}

volume "extra" {
  for_each = var.colours
  name     = "ksref-extra-${each.key}"
  pool     = pool.store
  capacity = each.value
}

cloudinit "seed" {
  count     = 2
  pool      = pool.store
  user_data = "#cloud-config\nhostname: vm-${count.index}\n"
}

cloudinit "custom" {
  for_each  = var.colours
  name      = "ksref-seed-${each.key}"
  pool      = pool.store
  user_data = "#cloud-config\nhostname: ${each.key}\n"
}

domain "vm" {
  count     = 2
  name      = "ksref-vm-${count.index}"
  type      = "qemu"
  memory    = "64MiB"
  power     = "stopped"
  cloudinit = cloudinit.seed[count.index]
  disk {
    volume = volume.data[count.index]
  }
}

domain "pet" {
  for_each  = var.colours
  name      = "ksref-pet-${each.key}"
  type      = "qemu"
  memory    = "64MiB"
  power     = "stopped"
  cloudinit = cloudinit.custom[each.key]
  disk {
    volume = volume.extra[each.key]
  }
}

domain "solo" {
  name   = "ksref-solo"
  type   = "qemu"
  memory = "64MiB"
  power  = "stopped"
  disk {
    volume = volume.overlay
  }
}
'''


def sources(conn, domain: str) -> dict[str, tuple[str, str]]:
    """device ("disk" or "cdrom") -> (pool, volume) of a domain's persistent definition."""
    root = ET.fromstring(conn.lookupByName(domain).XMLDesc(0))
    return {d.get("device"): (d.find("source").get("pool"), d.find("source").get("volume"))
            for d in root.findall("devices/disk")}


def leftovers(conn) -> list[str]:
    names = [d.name() for d in conn.listAllDomains()] + [p.name() for p in conn.listAllStoragePools()]
    return [n for n in names if n.startswith("ksref")]


@pytest.fixture
def cli(tmp_path: Path, conn):
    (tmp_path / "main.hcl").write_text(CONFIG)
    run = Cli(tmp_path)
    yield run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert leftovers(conn) == []


def test_references_by_address_reach_objects_of_other_names(cli, conn) -> None:
    out = cli("apply", "--auto-approve").stdout
    assert "Apply complete! Resources: 16 added" in out
    assert cli("plan", "--detailed-exitcode").returncode == 0

    pool = conn.storagePoolLookupByName("ksref-pool")
    pool.refresh(0)
    base = pool.storageVolLookupByName("ksref-base-image")
    overlay = ET.fromstring(pool.storageVolLookupByName("ksref-overlay").XMLDesc(0))
    assert overlay.findtext("backingStore/path") == base.path()
    assert overlay.findtext("capacity") == str(16 * 1024 * 1024)       # the base's capacity, taken over

    for i in range(2):
        assert sources(conn, f"ksref-vm-{i}") == {"disk": ("ksref-pool", f"ksref-data-{i}"),
                                                  "cdrom": ("ksref-pool", f"seed-{i}.iso")}
    for key in ("red", "blue"):
        assert sources(conn, f"ksref-pet-{key}") == {"disk": ("ksref-pool", f"ksref-extra-{key}"),
                                                     "cdrom": ("ksref-pool", f"ksref-seed-{key}.iso")}
    assert sources(conn, "ksref-solo") == {"disk": ("ksref-pool", "ksref-overlay")}
    volumes = {v.name() for v in pool.listAllVolumes(0)}
    assert {"seed-0.iso", "seed-1.iso", "ksref-seed-red.iso", "ksref-seed-blue.iso"} <= volumes

    out = cli("destroy", "--auto-approve", "--shutdown-timeout", "1").stdout
    assert "16 destroyed" in out
    assert leftovers(conn) == []
