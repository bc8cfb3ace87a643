"""Networks: read, create, update (DHCP and DHCPv6 ranges and hosts, DNS hosts, SRV and TXT records live;
domain, MTU and port isolation by a restart; active, autostart), adopt and delete. Identity: the UUID.

Live changes go through libvirt's network update (`virsh net-update`), which changes
dnsmasq's configuration without stopping the network; the pieces libvirt cannot
update that way are written into the definition, and the network is restarted.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import libvirt

from kvmstate.provider import LiveObject, Owner, Problem, Request

from .. import host_interfaces
from ..connection import Host
from ..declarations import NETWORK
from ..errors import doing, find
from ..schema import Dhcp, Dhcp6, Dns, Network
from ..xml import network as document
from ..xml import network_dns, ownership, patches, validate
from ..xml.util import parse
from .base import ResourceOperations, changed, deferred, fingerprint, listed


class Networks(ResourceOperations):
    declaration = NETWORK

    def live(self, host: Host, net: libvirt.virNetwork, active: bool | None = None,
             autostart: bool | None = None, lazy: bool = False) -> LiveObject:
        """One network; `active` and `autostart` are asked for when the caller does not know them."""
        name, identity = net.name(), net.UUIDString()
        with doing(f"reading network {name}"):
            xml = net.XMLDesc(0)
            active = bool(net.isActive()) if active is None else active
            autostart = bool(net.autostart()) if autostart is None else autostart
        stamp = fingerprint(xml, active, autostart)

        def whole() -> LiveObject:
            root = parse(xml)
            attrs = document.from_xml(root, active=active, autostart=autostart)
            return LiveObject(NETWORK.name, name, host.name, identity, attrs, _owner(net, root, active),
                              fingerprint=stamp)
        return deferred(NETWORK, host, name, identity, stamp, whole, lazy)

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Three list calls (all, active, autostart) and one XML read per network."""
        with doing("listing networks"):
            nets, active, autostart = listed(host.conn.listAllNetworks, libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE,
                                             libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART)
        return [self.live(host, net, net.name() in active, net.name() in autostart, lazy=True) for net in nets]

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
            for family, key in document.FAMILIES:
                if key in top:
                    _update_dhcp(net, name, spec, family, current.attributes.get(key), getattr(spec, key))
            if "dns" in top:
                _update_dns(net, name, spec, current.attributes.get("dns"), spec.dns)
        if "active" in top:
            with doing(f"{'starting' if spec.active else 'stopping'} network {name}"):
                net.create() if spec.active else net.destroy()
        if "autostart" in top:
            with doing(f"setting autostart of network {name}"):
                net.setAutostart(int(spec.autostart))
        return self.live(host, net)

    def check(self, host: Host, request: Request, live: LiveObject | None) -> list[Problem]:
        """The host interfaces a macvtap or hostdev network names exist (libvirt would start it regardless), no
        running network of another state or of no state uses an overlapping subnet (libvirt refuses to start it),
        and no XML patch makes a document libvirt's schema refuses, before any change."""
        spec = Network.model_validate(request.attributes)
        problems = host_interfaces.check(host, spec) + _subnet_clashes(host, request, spec, live)
        if spec.xml_patches:
            bare = spec.model_copy(update={"xml_patches": None})
            problems += validate.check_patches(document.to_xml(bare, request.name, owner=request.owner),
                                               spec.xml_patches)
        return problems

    def normalize(self, host: Host, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        """DHCP ranges and hosts of both families and DNS entries in the desired order: libvirt keeps them in
        the order they were added, and their order means nothing; and what the document has at the paths of
        the desired XML patches (one more XML read, only then)."""
        attrs = dict(live.attributes)
        for _, key in document.FAMILIES:
            want, have = desired.get(key), attrs.get(key)
            if isinstance(want, dict) and isinstance(have, dict):
                ranges = in_order(_all_ranges(have), _all_ranges(want))
                have = {**have, "hosts": in_order(have.get("hosts", []), want.get("hosts", []))}
                if ranges:
                    have.update(start=ranges[0]["start"], end=ranges[0]["end"], ranges=ranges[1:])
                attrs[key] = have
        want, have = desired.get("dns"), attrs.get("dns")
        if isinstance(want, dict) and isinstance(have, dict):
            attrs["dns"] = {**have, **{key: in_order(have.get(key, []), want.get(key, []))
                                       for key in DNS_SECTIONS if key in have}}
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


def _owner(net: libvirt.virNetwork, root: Any, active: bool) -> Owner | None:
    """The mark of the persistent definition. libvirt 9.0 cannot change a running network's metadata, so `adopt`
    writes a new mark (after a `moved` block or `state mv`) into the definition only, and the running document
    keeps the old one until the network restarts; reading the running one would report the move again at every
    plan. One more XML read, only for a running network that carries a mark (an unmarked one adopted by
    `import` is kvmstate's through the state's identity)."""
    owner = ownership.parse_owner(root)
    if owner is None or not active:
        return owner
    try:
        return ownership.parse_owner(parse(net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)))
    except libvirt.libvirtError:
        return owner            # libvirt's test driver keeps one definition and refuses the flag


def _subnet_clashes(host: Host, request: Request, spec: Network, live: LiveObject | None) -> list[Problem]:
    """A subnet of `spec` overlapping one of a running network on the host that this state does not own: another
    workspace's, another project's, or one made by hand. The networks of this state are left out, since the
    same plan may delete or change them first."""
    if not spec.active:
        return []
    wanted = {key: ipaddress.ip_network(getattr(spec, key), strict=False)
              for key in ("ipv4", "ipv6") if getattr(spec, key)}
    if not wanted:
        return []
    with doing("listing running networks"):
        running = host.conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)
    problems = []
    for net in running:
        if net.name() == request.name or live is not None and net.UUIDString() == live.identity:
            continue        # the object itself (one of that name that is not ours is the planner's error)
        root = parse(net.XMLDesc(0))
        owner = ownership.parse_owner(root)
        if owner is not None and owner.lineage == request.owner.lineage:
            continue
        theirs = document.from_xml(root, active=True, autostart=False)
        for key, subnet in wanted.items():
            if theirs.get(key) and subnet.overlaps(ipaddress.ip_network(theirs[key], strict=False)):
                whose = f"state {owner.lineage} ({owner.address})" if owner else "no kvmstate state"
                problems.append(Problem(key, f"{key} {subnet} overlaps {theirs[key]} of network {net.name()}, "
                                        f"running on host {host.name} and owned by {whose}; libvirt would refuse to "
                                        "start this one. Choose another subnet (a variable per workspace), or stop "
                                        "the other network."))
    return problems


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


def _sync(net: libvirt.virNetwork, section: int, old: list[str], new: list[str], index: int = -1) -> None:
    """Delete the elements of `old` not in `new`, then add those of `new` not in `old` (deletions first, so an
    address or MAC can move from one entry to another); `index` names the `<ip>` element of DHCP sections."""
    flags = _flags(net)
    for xml in old:
        if xml not in new:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, index, xml, flags)
    for xml in new:
        if xml not in old:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, index, xml, flags)


def _update_dhcp(net: libvirt.virNetwork, name: str, spec: Network, family: str, old: dict | None,
                 new: Dhcp | None) -> None:
    """Swap the DHCP ranges and static hosts of one family in place (no restart); redefine and restart the
    network if libvirt refuses (the first range added or the last removed on an older libvirt)."""
    model = Dhcp6 if family == "ipv6" else Dhcp
    old_dhcp = model.model_validate(old) if old else model()
    new_dhcp = new or model()
    try:
        # Documented (command, section) order: right on libvirt 9.0 (the old swap was fixed long ago).
        # libvirt signals dnsmasq itself; a host entry needs no restart. With two <ip> elements, libvirt
        # needs the index of the one meant.
        index = document.ip_index(parse(net.XMLDesc(0)), family)
        with doing(f"updating the DHCP hosts of network {name}"):
            _sync(net, libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, [document.dhcp_host_xml(h) for h in old_dhcp.hosts],
                  [document.dhcp_host_xml(h) for h in new_dhcp.hosts], index)
        _sync(net, libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE, [document.range_xml(r) for r in old_dhcp.all_ranges()],
              [document.range_xml(r) for r in new_dhcp.all_ranges()], index)
        return
    except libvirt.libvirtError:
        pass
    _redefine(net, name, spec)


DNS_SECTIONS = {"hosts": (libvirt.VIR_NETWORK_SECTION_DNS_HOST, network_dns.host_xml),
                "srv": (libvirt.VIR_NETWORK_SECTION_DNS_SRV, network_dns.srv_xml),
                "txt": (libvirt.VIR_NETWORK_SECTION_DNS_TXT, network_dns.txt_xml)}


def _update_dns(net: libvirt.virNetwork, name: str, spec: Network, old: dict | None, new: Dns | None) -> None:
    """Swap DNS hosts, SRV and TXT records in place (libvirt cannot modify one: the old is deleted, the new
    added); redefine and restart the network if libvirt refuses."""
    old_dns, new_dns = Dns.model_validate(old or {}), new or Dns()
    try:
        for key, (section, to_xml) in DNS_SECTIONS.items():
            _sync(net, section, [to_xml(e) for e in getattr(old_dns, key)], [to_xml(e) for e in getattr(new_dns, key)])
        return
    except libvirt.libvirtError:
        pass
    _redefine(net, name, spec)


def _redefine(net: libvirt.virNetwork, name: str, spec: Network) -> None:
    """Write DHCP, DNS, port isolation, domain and MTU into the persistent definition and restart a running
    network."""
    with doing(f"redefining network {name}"):
        xml = document.with_settings(_defined_xml(net), spec)
        active = net.isActive()
        if active:
            net.destroy()  # before the define: the test driver keeps the old definition of a running network
        net.connect().networkDefineXML(xml)
        if active:
            net.create()
