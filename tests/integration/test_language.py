"""for_each and outputs on a real libvirtd: instance names as libvirt sees them, then `kvmstate output --json`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd

CONFIG = '''variable "labs" {
  type    = map(string)
  default = { red = "10", blue = "20" }
}

network "lab" {
  for_each = var.labs
  name     = "kslang-${each.key}"
  mode     = "isolated"
  ipv4     = "192.168.${each.value}.0/24"
}

pool "store" {
  for_each = var.labs
  path     = "/var/lib/libvirt/kslang-${each.key}"
}

output "networks" {
  value = join(",", network.lab[*].name)
}

output "blue" {
  value = { name = network.lab["blue"].name, bridge_ip = cidrhost(network.lab["blue"].ipv4, 1) }
}
'''
OUTPUTS = "outputs:\n  pools:\n    value: ${pool.store[*].name}\n    description: every pool\n"


@pytest.fixture
def lang(tmp_path: Path, conn):
    (tmp_path / "main.hcl").write_text(CONFIG)
    (tmp_path / "outputs.yaml").write_text(OUTPUTS)
    run = Cli(tmp_path)
    yield run
    run("destroy", "--auto-approve", check=None)
    left = [n.name() for n in conn.listAllNetworks()] + [p.name() for p in conn.listAllStoragePools()]
    assert not [n for n in left if n.startswith("kslang") or n.startswith("store")], left


def test_for_each_topology_and_outputs(lang, conn) -> None:
    out = lang("apply", "--auto-approve").stdout
    assert "Apply complete! Resources: 4 added" in out
    for key, octet in (("red", "10"), ("blue", "20")):
        net = conn.networkLookupByName(f"kslang-{key}")
        assert net.isActive()
        assert ET.fromstring(net.XMLDesc(0)).find("ip").get("address") == f"192.168.{octet}.1"
        pool = conn.storagePoolLookupByName(f"store-{key}")
        assert ET.fromstring(pool.XMLDesc(0)).findtext("target/path") == f"/var/lib/libvirt/kslang-{key}"
    listed = lang("state", "list").stdout.split()
    assert listed == ['network.lab["blue"]', 'network.lab["red"]', 'pool.store["blue"]', 'pool.store["red"]']
    doc = json.loads(lang("output", "--json").stdout)
    assert doc == {"blue": {"sensitive": False, "value": {"name": "kslang-blue", "bridge_ip": "192.168.20.1"}},
                   "networks": {"sensitive": False, "value": "kslang-blue,kslang-red"},
                   "pools": {"sensitive": False, "value": ["store-blue", "store-red"]}}
    assert "No changes." in lang("plan").stdout

    # one key less: exactly that instance goes
    out = lang("apply", "--auto-approve", "--var", 'labs={ blue = "20" }').stdout
    assert "Resources: 0 added, 0 changed, 0 replaced, 2 destroyed." in out
    names = [n.name() for n in conn.listAllNetworks()]
    assert "kslang-blue" in names and "kslang-red" not in names
    assert json.loads(lang("output", "pools", "--json").stdout) == ["store-blue"]
