"""A macvtap network on a real libvirtd: a veth pair made in the private daemon's namespace stands in for the
host's NIC. The network is applied with a guest on it (libvirt plugs the guest into a macvtap device on the veth),
the second plan is empty, a missing host interface is refused at plan time with the file, line and those there
are, a new macvtap mode forces a replacement, and destroy leaves nothing. hostdev (SR-IOV) needs a NIC with
virtual functions, which this machine has not: its XML is tested on the test driver and in golden files.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd

NIC = "kvs-nic0"
CONFIG = """
network "direct" {
  name            = "lan-direct"
  mode            = "macvtap"
  macvtap_mode    = "MODE"
  host_interfaces = ["DEVICES"]
}

domain "probe" {
  name    = "mv-guest"
  type    = "qemu"
  machine = "pc"
  memory  = "128MiB"
  kernel  = "GUEST/vmlinuz"
  initrd  = "GUEST/initrd.img"
  cmdline = "console=ttyS0"
  interface {
    network = network.direct
  }
}
"""


@pytest.fixture
def nic():
    """A veth pair in this namespace (the private libvirtd's): NIC is the host interface guests go out on."""
    subprocess.run(["ip", "link", "add", NIC, "type", "veth", "peer", "name", "kvs-nic1"], check=True)
    subprocess.run(["ip", "link", "set", NIC, "up"], check=True)
    yield NIC
    subprocess.run(["ip", "link", "del", NIC], check=False)


@pytest.fixture
def direct(tmp_path: Path, guest: Path, conn, nic):
    folder = tmp_path / "direct"
    folder.mkdir()
    cli = Cli(folder)

    def write(mode: str = "bridge", devices: str = NIC) -> None:
        text = CONFIG.replace("MODE", mode).replace("DEVICES", devices).replace("GUEST", str(guest))
        (folder / "main.hcl").write_text(text)

    cli.write = write
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert conn.listAllDomains() == [] and conn.listAllNetworks() == []
    assert "macvtap" not in subprocess.run(["ip", "-d", "link"], capture_output=True, text=True).stdout


def macvtaps() -> str:
    """The macvtap devices of this namespace, as `ip -d link` shows them."""
    out = subprocess.run(["ip", "-d", "link", "show", "type", "macvtap"], capture_output=True, text=True, check=True)
    return out.stdout


def test_macvtap_network_plugs_a_guest_into_the_host_interface(direct, conn) -> None:
    direct.write()
    direct("apply", "--auto-approve")
    forward = ET.fromstring(conn.networkLookupByName("lan-direct").XMLDesc(0)).find("forward")
    assert forward.get("mode") == "bridge" and [i.get("dev") for i in forward.findall("interface")] == [NIC]
    iface = ET.fromstring(conn.lookupByName("mv-guest").XMLDesc(0)).find("devices/interface")
    assert iface.get("type") == "direct" and iface.find("source").get("dev") == NIC     # libvirt's macvtap
    assert f"@{NIC}" in macvtaps() and re.search(r"macvtap\s+mode bridge", macvtaps()), macvtaps()
    assert direct("plan", "--detailed-exitcode", check=None).returncode == 0

    # A host interface that is not there: refused by plan, naming the file, the line and what the host has.
    direct.write(devices=f'{NIC}", "kvs-gone0')
    result = direct("plan", check=None)
    assert result.returncode == 1, result.stdout
    assert "main.hcl line 6" in result.stderr and "no network interface kvs-gone0" in result.stderr
    assert NIC in result.stderr.split("it has")[1]

    # Another macvtap mode replaces the network.
    uuid = conn.networkLookupByName("lan-direct").UUIDString()
    direct.write(mode="vepa")
    assert "forces replacement" in direct("plan").stdout
    direct("apply", "--auto-approve", "--shutdown-timeout", "1")
    net = conn.networkLookupByName("lan-direct")
    assert net.UUIDString() != uuid and ET.fromstring(net.XMLDesc(0)).find("forward").get("mode") == "vepa"
    assert direct("plan", "--detailed-exitcode", check=None).returncode == 0
