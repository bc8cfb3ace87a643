"""Networks on the test driver: create, read back, live updates, delete."""

import xml.etree.ElementTree as ET

import libvirt
import pytest

from kvmstate.provider import Owner

from provider_helpers import LINEAGE, compared, desired, request


def test_create_reads_back_as_desired(provider, conn):
    want = desired("network", mode="nat", bridge="kvs0", ipv4="192.168.150.0/24",
                   dhcp={"start": "192.168.150.10", "end": "192.168.150.99"}, autostart=True)
    created = provider.create(request("network", "lab", want))

    (live,) = provider.read("h1", ["network"])
    assert live.name == "lab" and live.identity == created.identity
    assert compared(provider, live, want) == want
    assert live.owner == Owner(LINEAGE, "network.lab")
    net = conn.networkLookupByName("lab")
    assert net.isActive() and net.autostart()
    ip = ET.fromstring(net.XMLDesc()).find("ip")
    assert (ip.get("address"), ip.get("prefix")) == ("192.168.150.1", "24")


def test_isolated_network_has_no_forward(provider, conn):
    want = desired("network", mode="isolated", ipv4="10.9.0.0/16")
    provider.create(request("network", "iso", want))
    root = ET.fromstring(conn.networkLookupByName("iso").XMLDesc())
    assert root.find("forward") is None
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want) == want


def test_netmask_is_read_as_cidr(provider, conn):
    conn.networkDefineXML("<network><name>old</name>"
                          "<ip address='172.16.4.1' netmask='255.255.252.0'/></network>")
    (live,) = provider.read("h1", ["network"])
    assert live.attributes["ipv4"] == "172.16.4.0/22"
    assert live.owner is None


@pytest.mark.parametrize("before, after", [
    ({"start": "10.1.0.10", "end": "10.1.0.20"}, {"start": "10.1.0.30", "end": "10.1.0.40"}),  # in place
    ({"start": "10.1.0.10", "end": "10.1.0.20"}, None),                                         # removed
    (None, {"start": "10.1.0.50", "end": "10.1.0.60"}),                                         # added
])
def test_dhcp_update(provider, conn, before, after):
    old = desired("network", ipv4="10.1.0.0/24", **({"dhcp": before} if before else {}))
    created = provider.create(request("network", "n", old))
    new = desired("network", ipv4="10.1.0.0/24", **({"dhcp": after} if after else {}))

    updated = provider.update(request("network", "n", new), created, ["dhcp"], restart=False)

    assert updated.identity == created.identity
    assert updated.attributes.get("dhcp") == after
    net = conn.networkLookupByUUIDString(created.identity)
    assert net.isActive()
    ranges = ET.fromstring(net.XMLDesc()).findall("ip/dhcp/range")  # the test driver has no INACTIVE flag
    assert [r.attrib for r in ranges] == ([after] if after else [])


@pytest.mark.parametrize("before, after", [
    ({"start": "10.1.0.10", "end": "10.1.0.20"}, {"start": "10.1.0.30", "end": "10.1.0.40"}),
    ({"start": "10.1.0.10", "end": "10.1.0.20"}, None),
    (None, {"start": "10.1.0.50", "end": "10.1.0.60"}),
])
def test_dhcp_update_falls_back_to_redefining(provider, conn, monkeypatch, before, after):
    old = desired("network", ipv4="10.1.0.0/24", **({"dhcp": before} if before else {}))
    created = provider.create(request("network", "n", old))

    def refuse(*args):
        raise libvirt.libvirtError("virNetworkUpdate() failed")
    monkeypatch.setattr(libvirt.virNetwork, "update", refuse)
    new = desired("network", ipv4="10.1.0.0/24", **({"dhcp": after} if after else {}))
    updated = provider.update(request("network", "n", new), created, ["dhcp"], restart=False)

    assert updated.identity == created.identity and updated.owner == created.owner
    assert updated.attributes.get("dhcp") == after
    net = conn.networkLookupByUUIDString(created.identity)
    assert net.isActive()
    ranges = ET.fromstring(net.XMLDesc()).findall("ip/dhcp/range")
    assert [r.attrib for r in ranges] == ([after] if after else [])


def test_autostart_update(provider, conn):
    created = provider.create(request("network", "n", desired("network", ipv4="10.2.0.0/24")))
    assert not conn.networkLookupByName("n").autostart()
    updated = provider.update(request("network", "n", desired("network", ipv4="10.2.0.0/24", autostart=True)),
                              created, ["autostart"], restart=False)
    assert updated.attributes["autostart"] is True
    assert conn.networkLookupByName("n").autostart()


def test_delete_leaves_nothing_and_is_idempotent(provider, conn):
    created = provider.create(request("network", "n", desired("network", ipv4="10.3.0.0/24")))
    provider.delete("network", "h1", "n", created.identity)
    assert conn.listAllNetworks() == []
    provider.delete("network", "h1", "n", created.identity)  # already gone: quiet
    assert provider.read("h1", ["network"]) == []


def test_active_false_defines_without_starting_and_update_starts(provider, conn):
    want = desired("network", ipv4="10.3.0.0/24", active=False)
    created = provider.create(request("network", "n", want))
    assert not conn.networkLookupByName("n").isActive() and created.attributes["active"] is False
    updated = provider.update(request("network", "n", {**want, "active": True}), created, ["active"], restart=False)
    assert conn.networkLookupByName("n").isActive() and updated.attributes["active"] is True
