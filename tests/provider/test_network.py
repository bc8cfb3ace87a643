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
    assert updated.attributes.get("dhcp") == new.get("dhcp")
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
    assert updated.attributes.get("dhcp") == new.get("dhcp")
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


LAB = {"ipv4": "10.4.0.0/24", "dhcp": {"start": "10.4.0.100", "end": "10.4.0.150",
                                       "hosts": [{"mac": "52:54:00:00:00:10", "ip": "10.4.0.10", "name": "web"},
                                                 {"mac": "52:54:00:00:00:11", "ip": "10.4.0.11"}]},
       "dns": {"hosts": [{"ip": "10.4.0.5", "hostnames": ["nas"]}]}}


def test_static_hosts_and_dns_hosts_read_back(provider, conn):
    want = desired("network", **LAB)
    provider.create(request("network", "lab", want))
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want) == want


def recorded_updates(monkeypatch) -> list[tuple]:
    """The (command, section, index) of every network update from now on; stopping a network fails the test."""
    calls = []
    real = libvirt.virNetwork.update
    monkeypatch.setattr(libvirt.virNetwork, "update", lambda self, *a: calls.append(a[:3]) or real(self, *a))
    monkeypatch.setattr(libvirt.virNetwork, "destroy", lambda self: pytest.fail("the network was stopped"))
    return calls


def test_static_hosts_change_in_place_in_any_order(provider, conn, monkeypatch):
    created = provider.create(request("network", "lab", desired("network", **LAB)))
    calls = recorded_updates(monkeypatch)
    hosts = [{"mac": "52:54:00:00:00:12", "ip": "10.4.0.12", "name": "db"},           # added
             {"mac": "52:54:00:00:00:10", "ip": "10.4.0.20", "name": "web"}]          # address changed
    new = desired("network", **{**LAB, "dhcp": {**LAB["dhcp"], "hosts": hosts},
                                "dns": {"hosts": [{"ip": "10.4.0.6", "hostnames": ["nas", "files"]}]}})

    updated = provider.update(request("network", "lab", new), created, ["dhcp.hosts", "dns.hosts"], restart=False)

    assert compared(provider, updated, new) == new          # libvirt appends; the order is not compared
    host, dns = libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, libvirt.VIR_NETWORK_SECTION_DNS_HOST
    delete, add = libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
    assert [call[:2] for call in calls] == [(delete, host), (delete, host), (add, host), (add, host),
                                            (delete, dns), (add, dns)]


def test_several_ranges_change_in_place(provider, conn):
    created = provider.create(request("network", "lab", desired("network", **LAB)))
    ranges = [{"start": "10.4.0.100", "end": "10.4.0.150"}, {"start": "10.4.0.200", "end": "10.4.0.210"}]
    new = desired("network", **{**LAB, "dhcp": {"ranges": ranges}})
    assert new["dhcp"]["start"] == "10.4.0.100" and len(new["dhcp"]["ranges"]) == 1   # the first is start-end
    updated = provider.update(request("network", "lab", new), created, ["dhcp.ranges", "dhcp.hosts"], restart=False)
    assert compared(provider, updated, new) == new


def test_domain_and_mtu_restart_the_network_keeping_its_identity(provider, conn):
    created = provider.create(request("network", "lab", desired("network", **LAB)))
    new = desired("network", **LAB, domain="lab.test", mtu=9000)
    updated = provider.update(request("network", "lab", new), created, ["domain", "mtu"], restart=True)
    assert updated.identity == created.identity and updated.owner == created.owner
    assert compared(provider, updated, new) == new
    assert conn.networkLookupByName("lab").isActive()


@pytest.mark.parametrize("attrs, message", [
    ({"mode": "bridge"}, "needs `bridge`"),
    ({"mode": "bridge", "bridge": "br0", "ipv4": "10.0.0.0/24"}, "only joins the host bridge"),
    ({"ipv4": "10.0.0.0/24", "dhcp": {"start": "10.0.0.10"}}, "both `start` and `end`"),
    ({"ipv4": "10.0.0.0/24", "dhcp": {"ranges": [{"start": "10.0.0.10", "end": "10.0.0.20"},
                                                 {"start": "10.0.0.15", "end": "10.0.0.30"}]}}, "overlap"),
    ({"ipv4": "10.0.0.0/24", "dhcp": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "10.0.1.1"}]}}, "inside"),
    ({"ipv4": "10.0.0.0/24", "dhcp": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "10.0.0.9"},
                                                {"mac": "52:54:00:00:00:01", "ip": "10.0.0.8"}]}}, "the mac"),
    ({"ipv4": "10.0.0.0/24", "dns": {"hosts": [{"ip": "10.0.0.5", "hostnames": ["bad name"]}]}}, "host name"),
])
def test_bad_network_settings_are_refused(attrs, message):
    with pytest.raises(ValueError, match=message):
        desired("network", **attrs)


DUAL = {"ipv4": "10.5.0.0/24", "ipv6": "fd00:5::/64", "dhcp": {"start": "10.5.0.100", "end": "10.5.0.150"},
        "dhcp6": {"start": "fd00:5::100", "end": "fd00:5::1ff",
                  "hosts": [{"id": "0:3:0:1:52:54:0:0:0:10", "ip": "fd00:5::10", "name": "web"}]},
        "dns": {"srv": [{"service": "ldap", "protocol": "tcp", "target": "web", "port": 389}],
                "txt": [{"name": "lab", "value": "hello"}]}}


def test_dual_stack_network_reads_back(provider, conn):
    want = desired("network", **DUAL, isolate_ports=True)
    provider.create(request("network", "lab", want))
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want) == want
    ips = ET.fromstring(conn.networkLookupByName("lab").XMLDesc()).findall("ip")
    assert [(ip.get("family"), ip.get("address")) for ip in ips] == [(None, "10.5.0.1"), ("ipv6", "fd00:5::1")]


def test_dhcp6_and_dns_records_change_in_place(provider, conn, monkeypatch):
    created = provider.create(request("network", "lab", desired("network", **DUAL)))
    calls = recorded_updates(monkeypatch)
    new = desired("network", **{**DUAL, "dhcp6": {"start": "fd00:5::200", "end": "fd00:5::2ff",
                                                  "hosts": [{"name": "db", "ip": "fd00:5::11"}]},
                                "dns": {"srv": [{"service": "ldap", "protocol": "tcp", "target": "web", "port": 636}],
                                        "txt": []}})

    updated = provider.update(request("network", "lab", new), created, ["dhcp6", "dns.srv", "dns.txt"], restart=False)

    assert compared(provider, updated, new) == new
    host, rng = libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE
    srv, txt = libvirt.VIR_NETWORK_SECTION_DNS_SRV, libvirt.VIR_NETWORK_SECTION_DNS_TXT
    delete, add = libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
    assert calls == [(delete, host, 1), (add, host, 1), (delete, rng, 1), (add, rng, 1),   # the second <ip>
                     (delete, srv, -1), (add, srv, -1), (delete, txt, -1)]


def test_port_isolation_and_forwarders_restart_the_network_keeping_its_identity(provider, conn):
    created = provider.create(request("network", "lab", desired("network", **DUAL)))
    new = desired("network", **{**DUAL, "dns": {**DUAL["dns"], "forwarders": [{"addr": "10.5.0.53"}]}},
                  isolate_ports=True)
    updated = provider.update(request("network", "lab", new), created, ["isolate_ports", "dns.forwarders"],
                              restart=True)
    assert updated.identity == created.identity and compared(provider, updated, new) == new
    assert ET.fromstring(conn.networkLookupByName("lab").XMLDesc()).find("port").get("isolated") == "yes"


@pytest.mark.parametrize("attrs, message", [
    ({"ipv6": "fd00:5::1/64"}, "not an IPv6 network"),                                  # host bits set
    ({"ipv6": "10.0.0.0/24"}, "not an IPv6 network"),
    ({"ipv6": "fd00:5::/127"}, "too small"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00::/48", "dhcp6": {"start": "fd00::10", "end": "fd00::20"}}, "/64 or longer"),
    ({"ipv4": "10.0.0.0/24", "dhcp6": {"start": "fd00::10", "end": "fd00::20"}}, "`dhcp6` needs `ipv6`"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00:5::/64", "dhcp6": {"start": "fd00:6::10", "end": "fd00:6::20"}},
     "inside fd00:5::/64"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00:5::/64", "dhcp6": {"start": "fd00:5::1", "end": "fd00:5::20"}}, "the host's"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00:5::/64", "dhcp6": {"start": "10.0.0.10", "end": "10.0.0.20"}}, "IPv6"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00:5::/64", "dhcp6": {"hosts": [{"ip": "fd00:5::10"}]}}, "DUID"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00:5::/64",
      "dhcp6": {"hosts": [{"mac": "52:54:00:00:00:01", "ip": "fd00:5::10"}]}}, "mac"),
    ({"ipv4": "10.0.0.0/24", "ipv6": "fd00:5::/64", "dhcp6": {"hosts": [{"name": "a", "ip": "fd00:5::10"},
                                                                        {"name": "a", "ip": "fd00:5::11"}]}}, "the name"),
    ({"mode": "bridge", "bridge": "br0", "ipv6": "fd00:5::/64"}, "only joins the host bridge"),
    ({"ipv4": "10.0.0.0/24", "dns": {"srv": [{"service": "ldap", "protocol": "tcp", "port": 389}]}}, "no `target`"),
    ({"ipv4": "10.0.0.0/24", "dns": {"srv": [{"service": "_ldap", "protocol": "tcp"}]}}, "pattern"),
    ({"ipv4": "10.0.0.0/24", "dns": {"forwarders": [{}]}}, "`addr`, `domain` or both"),
])
def test_bad_ipv6_and_dns_settings_are_refused(attrs, message):
    with pytest.raises(ValueError, match=message):
        desired("network", **attrs)


@pytest.fixture
def host_nic(conn):
    """A host interface eth1 on the test driver's host (its node file has none)."""
    conn.interfaceDefineXML("<interface type='ethernet' name='eth1'><start mode='onboot'/>"
                            "<mac address='aa:bb:cc:dd:ee:ff'/></interface>")


@pytest.mark.parametrize("attrs", [{"mode": "macvtap", "host_interfaces": ["eth1"]},
                                   {"mode": "macvtap", "host_interfaces": ["eth1"], "macvtap_mode": "passthrough"},
                                   {"mode": "hostdev", "pf": "eth1"}])
def test_device_networks_read_back_and_pass_the_check(provider, conn, host_nic, attrs):
    want = desired("network", **attrs)
    assert provider.check(request("network", "direct", want), None) == []
    provider.create(request("network", "direct", want))
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want) == want


def test_missing_host_interfaces_are_named_with_those_available(provider, host_nic):
    want = desired("network", mode="macvtap", host_interfaces=["eth1", "eth9"])
    (problem,) = provider.check(request("network", "direct", want), None)
    assert problem.path == "host_interfaces[1]" and "no network interface eth9; it has eth1" in problem.message
    (problem,) = provider.check(request("network", "sriov", desired("network", mode="hostdev", pf="ens9")), None)
    assert problem.path == "pf" and "ens9" in problem.message


def test_virtual_functions_are_read_from_the_pci_node_device():
    from kvmstate_libvirt.host_interfaces import max_virtual_functions
    pci = ("<device><name>pci_0000_03_00_0</name><capability type='pci'><domain>0</domain>"
           "<capability type='virt_functions' maxCount='{}'/></capability></device>")
    assert max_virtual_functions(pci.format(7)) == 7
    assert max_virtual_functions("<device><capability type='pci'><domain>0</domain></capability></device>") == 0


@pytest.mark.parametrize("attrs, message", [
    ({"mode": "macvtap"}, "needs `host_interfaces`"),
    ({"mode": "hostdev"}, "needs `pf`"),
    ({"mode": "macvtap", "host_interfaces": ["eth0", "eth0"]}, "listed twice"),
    ({"mode": "macvtap", "host_interfaces": ["eth0"], "ipv4": "10.0.0.0/24"}, "host devices; ipv4"),
    ({"mode": "hostdev", "pf": "eth0", "bridge": "br0"}, "host devices; bridge"),
    ({"ipv4": "10.0.0.0/24", "macvtap_mode": "vepa"}, "only go with mode macvtap"),
    ({"mode": "macvtap", "host_interfaces": ["eth0"], "pf": "eth1"}, "only go with mode hostdev"),
])
def test_bad_device_networks_are_refused(attrs, message):
    with pytest.raises(ValueError, match=message):
        desired("network", **attrs)


def test_a_subnet_running_in_another_state_or_by_hand_is_refused_at_plan_time(provider, conn):
    """Two workspaces on one host with the same subnet: libvirt refuses to start the second network."""
    hand = conn.networkDefineXML("<network><name>by-hand</name><ip address='10.60.0.1' prefix='24'/></network>")
    hand.create()
    (problem,) = provider.check(request("network", "pr2-lab", desired("network", ipv4="10.60.0.128/25")), None)
    assert problem.path == "ipv4"
    assert "overlaps 10.60.0.0/24 of network by-hand" in problem.message and "no kvmstate state" in problem.message
    assert provider.check(request("network", "pr2-lab", desired("network", ipv4="10.61.0.0/24")), None) == []
    assert provider.check(request("network", "by-hand", desired("network", ipv4="10.60.0.0/24")), None) == []
    assert provider.check(request("network", "pr2-lab", desired("network", ipv4="10.60.0.0/24", active=False)),
                          None) == []
    hand.destroy()
    mine = provider.create(request("network", "pr1-lab", desired("network", ipv4="10.60.0.0/24")))
    assert provider.check(request("network", "pr1-lab", desired("network", ipv4="10.60.0.0/24")), mine) == []
    assert provider.check(request("network", "other", desired("network", ipv4="10.60.0.0/24")), None) == []
