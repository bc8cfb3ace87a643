"""Modules on a real libvirtd: one local module (a volume and a stopped guest on it) called with `for_each`
and once more, every object named unlike its address. A volume made at the root is moved into a module call
(the plan moves it; nothing is destroyed, its key stays), the second plan is empty, a module argument changed
updates in place as the docs promise (`capacity`: live), `--target module.X` covers one call, and destroy
leaves nothing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd

MODULE = r'''variable "name" {
  type = string
}

variable "pool" {
  description = "The pool, as a reference."
}

variable "size" {
  type    = string
  default = "8MiB"
}

volume "disk" {
  name     = "${var.name}-disk"
  pool     = var.pool
  capacity = var.size
}

domain "this" {
  name   = var.name
  type   = "qemu"
  memory = "64MiB"
  power  = "stopped"
  disk {
    volume = volume.disk
  }
}

output "disk" {
  value = volume.disk.name
}
'''

ROOT = r'''pool "store" {
  name = "ksmod-pool"
  path = "/var/lib/libvirt/ksmod-pool"
}
'''

BEFORE = ROOT + r'''
volume "solo" {
  name     = "ksmod-solo-disk"
  pool     = pool.store
  capacity = "8MiB"
}
'''

AFTER = ROOT + r'''
variable "sizes" {
  type    = map(string)
  default = { red = "8MiB", blue = "16MiB" }
}

module "guests" {
  source   = "./guest"
  for_each = var.sizes
  name     = "ksmod-${each.key}"
  pool     = pool.store
  size     = each.value
}

module "solo" {
  source = "./guest"
  name   = "ksmod-solo"
  pool   = pool.store
}

moved {
  from = volume.solo
  to   = module.solo.volume.disk
}

output "disks" {
  value = [for key, guest in module.guests : guest.disk]
}
'''


def leftovers(conn) -> list[str]:
    names = [d.name() for d in conn.listAllDomains()] + [p.name() for p in conn.listAllStoragePools()]
    return [n for n in names if n.startswith("ksmod")]


@pytest.fixture
def cli(tmp_path: Path, conn):
    (tmp_path / "guest").mkdir()
    (tmp_path / "guest" / "main.hcl").write_text(MODULE)
    (tmp_path / "main.hcl").write_text(BEFORE)
    run = Cli(tmp_path)
    yield run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert leftovers(conn) == []


def plan_json(cli: Cli, *args: str) -> dict:
    result = cli("plan", "--json", *args, check=None)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_module_instances_move_in_plan_empty_and_destroy(cli, conn, tmp_path: Path) -> None:
    cli("apply", "--auto-approve")
    pool = conn.storagePoolLookupByName("ksmod-pool")
    solo_key = pool.storageVolLookupByName("ksmod-solo-disk").key()

    (tmp_path / "main.hcl").write_text(AFTER)
    plan = plan_json(cli)
    actions = {c["address"]: c["action"] for c in plan["resource_changes"]}
    assert plan["moved"] == [{"from": "volume.solo", "to": "module.solo.volume.disk"}]
    assert actions['module.solo.volume.disk'] == "no-op"
    assert "delete" not in actions.values() and "volume.solo" not in actions
    assert {a for a, act in actions.items() if act == "create"} == {
        'module.guests["blue"].volume.disk', 'module.guests["blue"].domain.this',
        'module.guests["red"].volume.disk', 'module.guests["red"].domain.this', "module.solo.domain.this"}

    out = cli("apply", "--auto-approve").stdout
    assert "Resources: 5 added, 0 changed, 0 replaced, 0 destroyed" in out
    assert cli("plan", "--detailed-exitcode").returncode == 0
    pool.refresh(0)
    assert pool.storageVolLookupByName("ksmod-solo-disk").key() == solo_key       # moved, not made anew
    for key, size in (("red", 8), ("blue", 16)):
        assert pool.storageVolLookupByName(f"ksmod-{key}-disk").info()[1] == size * 1024 * 1024
        disk = ET.fromstring(conn.lookupByName(f"ksmod-{key}").XMLDesc(0)).find("devices/disk/source")
        assert (disk.get("pool"), disk.get("volume")) == ("ksmod-pool", f"ksmod-{key}-disk")
        assert not conn.lookupByName(f"ksmod-{key}").isActive()
    listed = cli("state", "list").stdout.split()
    assert 'module.guests["red"].domain.this' in listed and "module.solo.volume.disk" in listed
    assert '"ksmod-red"' in cli("state", "show", 'module.guests["red"].domain.this').stdout
    assert json.loads(cli("output", "disks", "--json").stdout) == ["ksmod-blue-disk", "ksmod-red-disk"]

    # A module argument changed: the volume inside grows in place (capacity is `live`), nothing else changes.
    (tmp_path / "main.hcl").write_text(AFTER.replace('blue = "16MiB"', 'blue = "24MiB"'))
    plan = plan_json(cli)
    changed = {c["address"]: c["action"] for c in plan["resource_changes"] if c["action"] != "no-op"}
    assert changed == {'module.guests["blue"].volume.disk': "update"}
    # --target a whole module call: only its resources (and what they depend on) are planned.
    targeted = plan_json(cli, "--target", "module.solo")
    assert {c["address"] for c in targeted["resource_changes"]} == {
        "module.solo.volume.disk", "module.solo.domain.this", "pool.store"}
    cli("apply", "--auto-approve")
    pool.refresh(0)
    assert pool.storageVolLookupByName("ksmod-blue-disk").info()[1] == 24 * 1024 * 1024
    assert cli("plan", "--detailed-exitcode").returncode == 0

    out = cli("destroy", "--auto-approve", "--shutdown-timeout", "1").stdout
    assert "7 destroyed" in out
    assert leftovers(conn) == []
