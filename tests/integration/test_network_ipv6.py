"""IPv6, DNS records and port isolation on a real libvirtd: two dual-stack NAT networks made with `for_each`
are applied, dnsmasq is configured for DHCPv6, SRV and TXT records, the second plan is empty, a DHCPv6 range and
host and an SRV record change live (same network, no restart), port isolation and a DNS forwarder by a restart,
a new IPv6 prefix
forces a replacement, and destroy leaves nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd

DUID = "0:3:0:1:52:54:0:5e:0:20"
CONFIG = """
network "lab" {
  for_each = { red = "157", blue = "158" }
  name     = "v6-${each.key}"
  ipv4     = "192.168.${each.value}.0/24"
  ipv6     = "V6/64"
  dhcp {
    start = "192.168.${each.value}.100"
    end   = "192.168.${each.value}.150"
  }
  dhcp6 {
    range {
      start = "V6FIRST"
      end   = "V6LAST"
    }
    host {
      id   = "DUID"
      ip   = "V610"
      name = "web"
    }
    EXTRA_HOST
  }
  dns {
    FORWARDER
    srv {
      service  = "ldap"
      protocol = "tcp"
      target   = "web"
      port     = LDAP_PORT
    }
    txt {
      name  = "lab"
      value = "dual stack"
    }
  }
  ISOLATION
}
"""
FORWARDER = """forwarder {
      domain = "corp.test"
      addr   = "192.168.${each.value}.53"
    }"""
DB_HOST = """host {
      name = "db"
      ip   = "V611"
    }"""


def write(folder: Path, *, first="100", last="1ff", db_host=False, ldap_port=389, isolation="", forwarder=False,
          v6="fd00:${each.value}::") -> None:
    """The lab's file; `v6` is the IPv6 prefix the addresses start with."""
    text = (CONFIG.replace("EXTRA_HOST", DB_HOST if db_host else "").replace("FORWARDER", FORWARDER if forwarder else "").replace("FIRST", first).replace("LAST", last)
            .replace("DUID", DUID).replace("LDAP_PORT", str(ldap_port))
            .replace("ISOLATION", isolation).replace("V6", v6))
    (folder / "main.hcl").write_text(text)


@pytest.fixture
def lab(tmp_path: Path, conn):
    folder = tmp_path / "v6"
    folder.mkdir()
    cli = Cli(folder)
    cli.folder = folder
    yield cli
    cli("destroy", "--auto-approve", check=None)
    assert [n.name() for n in conn.listAllNetworks()] == []
    assert not any(Path("/var/lib/libvirt/dnsmasq").glob("v6-*.conf"))


def no_changes(cli: Cli) -> None:
    result = cli("plan", "--detailed-exitcode", check=None)
    assert result.returncode == 0, result.stdout + result.stderr


def dnsmasq(name: str, suffix: str = "conf") -> str:
    return Path(f"/var/lib/libvirt/dnsmasq/{name}.{suffix}").read_text()


def ipv6_element(conn, name: str, flags: int = 0) -> ET.Element:
    root = ET.fromstring(conn.networkLookupByName(name).XMLDesc(flags))
    (ip,) = root.findall("ip[@family='ipv6']")
    return ip


def test_dual_stack_network_applies_changes_live_and_is_destroyed(lab, conn) -> None:
    write(lab.folder)
    lab("apply", "--auto-approve")
    for key, octet in (("red", "157"), ("blue", "158")):
        ip = ipv6_element(conn, f"v6-{key}")
        assert (ip.get("address"), ip.get("prefix")) == (f"fd00:{octet}::1", "64")
        conf = dnsmasq(f"v6-{key}")
        assert f"dhcp-range=fd00:{octet}::100,fd00:{octet}::1ff,64" in conf
        assert f"dhcp-range=192.168.{octet}.100,192.168.{octet}.150" in conf
        assert "srv-host=_ldap._tcp,web,389" in conf and "txt-record=lab,dual stack" in conf
        assert f"id:{DUID},web,[fd00:{octet}::10]" in dnsmasq(f"v6-{key}", "hostsfile")
    assert conn.networkLookupByName("v6-red").isActive()
    no_changes(lab)

    # Live: a new DHCPv6 range, a second DHCPv6 host (by name) and an SRV record's port; the same networks.
    uuid = conn.networkLookupByName("v6-blue").UUIDString()
    write(lab.folder, first="200", last="2ff", db_host=True, ldap_port=636)
    plan = lab("plan").stdout
    assert "will be updated in place" in plan and "requires restart" not in plan and "forces" not in plan, plan
    lab("apply", "--auto-approve")
    assert conn.networkLookupByName("v6-blue").UUIDString() == uuid
    for flags in (0, libvirt.VIR_NETWORK_XML_INACTIVE):
        ip = ipv6_element(conn, "v6-blue", flags)
        assert [r.attrib for r in ip.findall("dhcp/range")] == [{"start": "fd00:158::200", "end": "fd00:158::2ff"}]
        assert sorted(h.get("ip") for h in ip.findall("dhcp/host")) == ["fd00:158::10", "fd00:158::11"]
    conf = dnsmasq("v6-blue")
    assert "dhcp-range=fd00:158::200,fd00:158::2ff,64" in conf and "fd00:158::100" not in conf
    assert "srv-host=_ldap._tcp,web,636" in conf
    assert "db,[fd00:158::11]" in dnsmasq("v6-blue", "hostsfile")
    no_changes(lab)

    # Restart class: port isolation and a DNS forwarder; the same network, started again.
    write(lab.folder, first="200", last="2ff", db_host=True, ldap_port=636, isolation="isolate_ports = true",
          forwarder=True)
    plan = lab("plan").stdout
    assert "# requires restart" in plan and "forces" not in plan, plan
    lab("apply", "--auto-approve")
    net = conn.networkLookupByName("v6-blue")
    assert net.UUIDString() == uuid and net.isActive()
    assert ET.fromstring(net.XMLDesc(0)).find("port").get("isolated") == "yes"
    assert "server=/corp.test/192.168.158.53" in dnsmasq("v6-blue")
    no_changes(lab)

    # A new IPv6 prefix replaces the network.
    write(lab.folder, first="200", last="2ff", db_host=True, ldap_port=636, isolation="isolate_ports = true",
          forwarder=True, v6="fd00:${each.value}:1::")
    assert "forces replacement" in lab("plan").stdout
    lab("apply", "--auto-approve")
    assert conn.networkLookupByName("v6-blue").UUIDString() != uuid
    assert ipv6_element(conn, "v6-blue").get("address") == "fd00:158:1::1"
    no_changes(lab)
