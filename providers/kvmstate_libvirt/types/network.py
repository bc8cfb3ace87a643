"""Networks: read, create, update (DHCP ranges and hosts, DNS hosts live; domain and MTU by a restart;
active, autostart), adopt and delete. Identity: the UUID.

Live changes go through libvirt's network update (`virsh net-update`), which changes
dnsmasq's configuration without stopping the network; the pieces libvirt cannot
update that way are written into the definition, and the network is restarted.
"""

from __future__ import annotations

from typing import Any

import libvirt

from kvmstate.provider import LiveObject, Owner, Problem, Request

from ..connection import Host
from ..declarations import NETWORK
from ..errors import doing, find
from ..schema import Dhcp, DnsHost, Network
from ..xml import network as document
from ..xml import ownership, patches, validate
from ..xml.util import parse
from .base import ResourceOperations, changed, listed


class Networks(ResourceOperations):
    declaration = NETWORK

    def live(self, host: Host, net: libvirt.virNetwork, active: bool | None = None,
             autostart: bool | None = None) -> LiveObject:
        """One network; `active` and `autostart` are asked for when the caller does not know them."""
        name = net.name()
        with doing(f"reading network {name}"):
            root = parse(net.XMLDesc(0))
            active = bool(net.isActive()) if active is None else active
            autostart = bool(net.autostart()) if autostart is None else autostart
        attrs = document.from_xml(root, active=active, autostart=autostart)
        # A running network adopted by `import` has its mark only in the persistent definition until it restarts;
        # the state's identity, not the mark, is what makes it kvmstate's.
        return LiveObject(NETWORK.name, name, host.name, net.UUIDString(), attrs, ownership.parse_owner(root))

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Three list calls (all, active, autostart) and one XML read per network."""
        with doing("listing networks"):
            nets, active, autostart = listed(host.conn.listAllNetworks, libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE,
                                             libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART)
        return [self.live(host, net, net.name() in active, net.name() in autostart) for net in nets]

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Network.model_validate(request.attributes)
        name = request.name
        with doing(f"defining network {name}"):
            net = host.conn.networkDefineXML(document.to_xml(spec, name, owner=request.owner))
        if spec.active:
            with doing(f"starting network {name}"):
                net.create()
        with doing(f"setting autostart of network {name}"):
            net.setAutostart(int(spec.autostart))
        return self.live(host, net)

    def update(self, host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        spec = Network.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up network {name}"):
            net = host.conn.networkLookupByUUIDString(current.identity)
        top = changed(paths)
        if restart:
            _redefine(net, name, spec)
        else:
            if "dhcp" in top:
                _update_dhcp(net, name, spec, current.attributes.get("dhcp"), spec.dhcp)
            if "dns" in top:
                _update_dns(net, name, spec, (current.attributes.get("dns") or {}).get("hosts", []),
                            spec.dns.hosts if spec.dns else [])
        if "active" in top:
            with doing(f"{'starting' if spec.active else 'stopping'} network {name}"):
                net.create() if spec.active else net.destroy()
        if "autostart" in top:
            with doing(f"setting autostart of network {name}"):
                net.setAutostart(int(spec.autostart))
        return self.live(host, net)

    def check(self, host: Host, request: Request, live: LiveObject | None) -> list[Problem]:
        """XML patches libvirt's schema refuses, before any change."""
        spec = Network.model_validate(request.attributes)
        if not spec.xml_patches:
            return []
        bare = spec.model_copy(update={"xml_patches": None})
        return validate.check_patches(document.to_xml(bare, request.name, owner=request.owner), spec.xml_patches)

    def normalize(self, host: Host, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        """DHCP ranges and hosts and DNS hosts in the desired order: libvirt keeps them in the order they were
        added, and their order means nothing; and what the document has at the paths of the desired XML
        patches (one more XML read, only then)."""
        attrs = dict(live.attributes)
        want, have = desired.get("dhcp"), attrs.get("dhcp")
        if isinstance(want, dict) and isinstance(have, dict):
            ranges = in_order(_all_ranges(have), _all_ranges(want))
            have = {**have, "hosts": in_order(have.get("hosts", []), want.get("hosts", []))}
            if ranges:
                have.update(start=ranges[0]["start"], end=ranges[0]["end"], ranges=ranges[1:])
            attrs["dhcp"] = have
        want, have = desired.get("dns"), attrs.get("dns")
        if isinstance(want, dict) and isinstance(have, dict):
            attrs["dns"] = {**have, "hosts": in_order(have.get("hosts", []), want.get("hosts", []))}
        if desired.get("xml_patches"):
            net = find(f"looking up network {live.name}", host.conn.networkLookupByUUIDString, live.identity)
            if net is not None:
                with doing(f"reading network {live.name}"):
                    root = parse(net.XMLDesc(0))
                attrs["xml_patches"] = patches.read_back(root, desired["xml_patches"])
        return attrs

    def adopt(self, host: Host, current: LiveObject, owner: Owner) -> LiveObject:
        """Redefine the network with the ownership mark; a running network keeps running."""
        with doing(f"marking network {current.name} as managed by kvmstate"):
            net = host.conn.networkLookupByUUIDString(current.identity)
            net = host.conn.networkDefineXML(ownership.with_owner(_defined_xml(net), owner))
        return self.live(host, net)

    def delete(self, host: Host, name: str, identity: str) -> None:
        net = find(f"looking up network {name}", host.conn.networkLookupByUUIDString, identity)
        if net is None:
            return
        with doing(f"deleting network {name}"):
            if net.isActive():
                net.destroy()
            net.undefine()


def _defined_xml(net: libvirt.virNetwork) -> str:
    """The persistent definition (libvirt's test driver keeps only one definition and refuses the flag)."""
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError:
        return net.XMLDesc(0)


def in_order(have: list[dict], want: list[dict]) -> list[dict]:
    """`have`'s items with those equal to an item of `want` first, in `want`'s order, then the others."""
    rest = list(have)
    first = []
    for item in want:
        if item in rest:
            rest.remove(item)
            first.append(item)
    return first + rest


def _all_ranges(dhcp: dict) -> list[dict]:
    head = [{"start": dhcp["start"], "end": dhcp["end"]}] if dhcp.get("start") else []
    return head + list(dhcp.get("ranges", []))


def _flags(net: libvirt.virNetwork) -> int:
    return libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG | (libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE if net.isActive() else 0)


def _sync(net: libvirt.virNetwork, section: int, old: list[str], new: list[str]) -> None:
    """Delete the elements of `old` not in `new`, then add those of `new` not in `old` (deletions first, so an
    address or MAC can move from one entry to another)."""
    flags = _flags(net)
    for xml in old:
        if xml not in new:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1, xml, flags)
    for xml in new:
        if xml not in old:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, -1, xml, flags)


def _update_dhcp(net: libvirt.virNetwork, name: str, spec: Network, old: dict | None, new: Dhcp | None) -> None:
    """Swap DHCP ranges and static hosts in place (no restart); redefine and restart the network if libvirt
    refuses (the first range added or the last removed on an older libvirt)."""
    old_dhcp = Dhcp.model_validate(old) if old else Dhcp()
    new_dhcp = new or Dhcp()
    try:
        # Documented (command, section) order: right on libvirt 9.0 (the old swap was fixed long ago).
        # libvirt signals dnsmasq itself; a host entry needs no restart.
        with doing(f"updating the DHCP hosts of network {name}"):
            _sync(net, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  [document.dhcp_host_xml(h) for h in old_dhcp.hosts], [document.dhcp_host_xml(h) for h in new_dhcp.hosts])
        _sync(net, libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE,
              [document.range_xml(r) for r in old_dhcp.all_ranges()], [document.range_xml(r) for r in new_dhcp.all_ranges()])
        return
    except libvirt.libvirtError:
        pass
    _redefine(net, name, spec)


def _update_dns(net: libvirt.virNetwork, name: str, spec: Network, old: list[dict], new: list[DnsHost]) -> None:
    """Swap DNS host entries in place (libvirt cannot modify one: the old is deleted, the new added)."""
    try:
        _sync(net, libvirt.VIR_NETWORK_SECTION_DNS_HOST,
              [document.dns_host_xml(DnsHost.model_validate(h)) for h in old], [document.dns_host_xml(h) for h in new])
        return
    except libvirt.libvirtError:
        pass
    _redefine(net, name, spec)


def _redefine(net: libvirt.virNetwork, name: str, spec: Network) -> None:
    """Write DHCP, DNS, domain and MTU into the persistent definition and restart a running network."""
    with doing(f"redefining network {name}"):
        xml = document.with_settings(_defined_xml(net), spec)
        active = net.isActive()
        if active:
            net.destroy()  # before the define: the test driver keeps the old definition of a running network
        net.connect().networkDefineXML(xml)
        if active:
            net.create()
