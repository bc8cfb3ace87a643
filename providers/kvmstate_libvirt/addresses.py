"""The guest's addresses: what `wait_for_ip` waits for and what the state records.

An interface on a libvirt network gets its IPv4 address from the network's DHCP
leases (matched by MAC); any interface can get it from the QEMU guest agent. The
wait is bounded by the interface's `wait_timeout`.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from kvmstate.provider import ProviderError

from .connection import Host
from .errors import doing
from .schema import Domain, Interface
from .xml import devices as devs

_POLL = 1.0   # seconds between two looks at the leases


def leases(host: Host, dom: libvirt.virDomain, spec: Domain) -> dict[str, float]:
    """MAC -> expiry of the DHCP leases the domain's awaited interfaces hold now: taken before a restart, so
    that the wait afterwards does not take the lease of the guest's previous boot for a fresh one."""
    with doing(f"reading domain {dom.name()}"):
        macs = [devs.parse_interface(el).get("mac") for el in ET.fromstring(dom.XMLDesc(0)).findall("devices/interface")]
    held = {}
    for iface, mac in zip(spec.interfaces, macs):
        if iface.wait_for_ip and iface.network and mac:
            lease = _lease(host, iface.network, mac)
            if lease:
                held[mac] = lease.get("expirytime", 0)
    return held


def computed(host: Host, dom: libvirt.virDomain, spec: Domain, stale: dict[str, float] | None = None) -> dict[str, Any]:
    """`{"interfaces": [{"mac": ..., "ipv4": ...}, ...]}`, in the order of the configuration; an address only
    for interfaces with `wait_for_ip` on a running domain. `stale`: leases (see `leases`) not to accept."""
    if not spec.interfaces:
        return {}
    with doing(f"reading domain {dom.name()}"):
        macs = [devs.parse_interface(el).get("mac") for el in ET.fromstring(dom.XMLDesc(0)).findall("devices/interface")]
        running = bool(dom.isActive())
    found: list[dict[str, Any]] = []
    for index, iface in enumerate(spec.interfaces):
        mac = macs[index] if index < len(macs) else None
        entry: dict[str, Any] = {"mac": mac} if mac else {}
        if iface.wait_for_ip and running and mac:
            entry["ipv4"] = wait_for_ipv4(host, dom, index, iface, mac, (stale or {}).get(mac))
        found.append(entry)
    return {"interfaces": found}


def wait_for_ipv4(host: Host, dom: libvirt.virDomain, index: int, iface: Interface, mac: str,
                  stale_expiry: float | None = None) -> str:
    """The IPv4 address of the interface with this MAC, polled until `iface.wait_timeout` runs out."""
    deadline = time.monotonic() + iface.wait_timeout
    while True:
        lease = _lease(host, iface.network, mac) if iface.network else None
        fresh = lease if lease and lease.get("expirytime", 0) != stale_expiry else None
        address = (fresh["ipaddr"] if fresh else None) or _from_agent(dom, mac)
        if address:
            return address
        if time.monotonic() >= deadline or not dom.isActive():
            break
        time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
    source = f"the DHCP leases of network {iface.network} or " if iface.network else ""
    raise ProviderError(f"domain {dom.name()}: interface {index} (MAC {mac}) had no IPv4 address in {source}the guest "
                        f"agent after {iface.wait_timeout}s; check that the guest asks for DHCP (or runs "
                        "qemu-guest-agent), or raise `wait_timeout`")


def _lease(host: Host, network: str, mac: str) -> dict[str, Any] | None:
    """The newest IPv4 lease of this MAC on the network."""
    with doing(f"reading the DHCP leases of network {network}"):
        found = host.conn.networkLookupByName(network).DHCPLeases(mac)
    ipv4 = [lease for lease in found if lease.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4]
    return max(ipv4, key=lambda lease: lease.get("expirytime", 0)) if ipv4 else None


def _from_agent(dom: libvirt.virDomain, mac: str) -> str | None:
    try:
        nics = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
    except libvirt.libvirtError:
        return None        # no agent, or not answering yet
    for nic in nics.values():
        if (nic.get("hwaddr") or "").lower() == mac.lower():
            for addr in nic.get("addrs") or []:
                if addr.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV4:
                    return addr["addr"]
    return None
