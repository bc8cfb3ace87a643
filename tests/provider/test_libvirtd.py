"""The provider against a real libvirtd: run through `scripts/private-libvirtd` (make test does).

Skipped elsewhere, so that no test ever touches the host's own libvirt objects.
"""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from kvmstate.provider import Owner
from kvmstate_libvirt import LibvirtProvider

from provider_helpers import LINEAGE, compared, desired, request, shown

pytestmark = [
    pytest.mark.libvirtd,
    pytest.mark.skipif(os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD") != "1",
                       reason="needs the private libvirtd of scripts/private-libvirtd"),
]


@pytest.fixture
def provider():
    p = LibvirtProvider()
    p.configure({"local": "qemu:///system"}, {"shutdown_timeout": 2})
    yield p
    p.close()


def on(host, req):
    req.host = host
    return req


def test_full_lifecycle(provider, tmp_path):
    conn = provider.connections.get("local").conn
    net_want = desired("network", ipv4="192.168.157.0/24", dhcp={"start": "192.168.157.10", "end": "192.168.157.20"})
    pool_want = desired("pool", path=str(tmp_path / "pool"))
    vol_want = desired("volume", pool="kvst-pool", capacity="64MiB")
    dom_want = desired("domain", type="qemu", machine="pc", memory="128MiB", disks=[{"volume": "kvst-root"}],
                       interfaces=[{"network": "kvst-net"}], description="a <b> & c")

    net = provider.create(on("local", request("network", "kvst-net", net_want)))
    pool = provider.create(on("local", request("pool", "kvst-pool", pool_want)))
    vol = provider.create(on("local", request("volume", "kvst-root", vol_want)))
    dom = provider.create(on("local", request("domain", "kvst-web", dom_want, {"volume.kvst-root": vol_want})))

    # Everything reads back as desired; the owner mark survives on networks and domains.
    live = {o.name: o for o in provider.read("local", ["network", "pool", "volume", "domain"])}
    for obj, want in ((net, net_want), (pool, pool_want), (vol, vol_want), (dom, dom_want)):
        assert compared(provider, live[obj.name], want) == shown(obj.type, want)
    assert live["kvst-net"].owner == Owner(LINEAGE, "network.kvst-net")
    assert live["kvst-web"].owner == Owner(LINEAGE, "domain.kvst-web")
    assert live["kvst-web"].attributes["machine"].startswith("pc-i440fx-")   # libvirt expands the alias
    assert (tmp_path / "pool" / "kvst-root").is_file()
    n = conn.networkLookupByName("kvst-net")
    inactive = ET.fromstring(n.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE))
    assert inactive.find("metadata/{https://kvmstate.dev/xmlns/owner/1}owner").get("address") == "network.kvst-net"

    # DHCP range changed in place on the running network (dnsmasq gets the new range).
    net_new = {**net_want, "dhcp": {"start": "192.168.157.30", "end": "192.168.157.40"}}
    net = provider.update(on("local", request("network", "kvst-net", net_new)), net, ["dhcp"], False)
    assert net.attributes["dhcp"] == {**net_new["dhcp"], "ranges": [], "hosts": []}     # read back whole
    assert "192.168.157.30,192.168.157.40" in Path("/var/lib/libvirt/dnsmasq/kvst-net.conf").read_text()

    # Volumes grow in place.
    vol = provider.update(on("local", request("volume", "kvst-root", {**vol_want, "capacity": "128MiB"})),
                          vol, ["capacity"], False)
    assert conn.storageVolLookupByKey(vol.identity).info()[1] == 128 * 1024**2

    # A restart-class change redefines and restarts the running domain (no guest OS: forced off).
    mac = dom.attributes["interfaces"][0]["mac"]
    dom_new = {**dom_want, "memory": "256MiB", "max_memory": "256MiB"}
    dom = provider.update(on("local", request("domain", "kvst-web", dom_new, {"volume.kvst-root": vol_want})),
                          dom, ["max_memory", "memory"], True)
    d = conn.lookupByName("kvst-web")
    assert d.isActive() and d.info()[1] == 256 * 1024
    assert dom.attributes["interfaces"][0]["mac"] == mac

    # Live description change shows in both the running and the persistent definition.
    dom = provider.update(on("local", request("domain", "kvst-web", {**dom_new, "description": "new"},
                                              {"volume.kvst-root": vol_want})),
                          dom, ["description"], False)
    for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE):
        assert ET.fromstring(d.XMLDesc(flags)).findtext("description") == "new"

    for obj in (dom, vol, pool, net):
        provider.delete(obj.type, "local", obj.name, obj.identity)
    assert provider.read("local", ["network", "pool", "volume", "domain"]) == []
    assert not (tmp_path / "pool").exists()
