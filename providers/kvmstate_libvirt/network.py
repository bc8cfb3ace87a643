"""libvirt networks: the `<network>` document and its operations.

Vocabulary: mode (nat/route/open/isolated), bridge, ipv4 (CIDR; the host takes its
first address), dhcp {start, end}, active, autostart. Identity: the network's UUID.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from kvmstate.provider import LiveObject, Owner, ProviderError, Request

from . import ownership
from .connection import Host, doing, find
from .schema import DhcpRange, Network
from .xmlutil import names, parse, render, sub

TYPE = "network"
_UPDATE_FLAGS_CONFIG = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
_UPDATE_FLAGS_LIVE = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE


# ---- document ---------------------------------------------------------------

def to_xml(name: str, spec: Network, owner: Owner | None = None, uuid: str | None = None) -> str:
    """The `<network>` document for a desired network."""
    root = ET.Element("network")
    sub(root, "name", name)
    if uuid:
        sub(root, "uuid", uuid)
    if owner:
        ownership.add_owner(sub(root, "metadata"), owner)
    if spec.mode != "isolated":
        sub(root, "forward", mode=spec.mode)
    if spec.bridge:
        sub(root, "bridge", name=spec.bridge, stp="on", delay="0")
    if spec.ipv4:
        net = ipaddress.IPv4Network(spec.ipv4)
        ip = sub(root, "ip", address=str(next(net.hosts())), prefix=str(net.prefixlen))
        if spec.dhcp:
            sub(sub(ip, "dhcp"), "range", **_range_attrs(spec.dhcp))
    return render(root)


def _range_attrs(dhcp: DhcpRange) -> dict[str, str]:
    return {"start": str(dhcp.start), "end": str(dhcp.end)}


def _range_xml(dhcp: DhcpRange) -> str:
    return ET.tostring(ET.Element("range", _range_attrs(dhcp)), encoding="unicode")


def _ipv4_element(root: ET.Element) -> ET.Element | None:
    for ip in root.findall("ip"):
        if ip.get("family", "ipv4") == "ipv4" and ip.get("address"):
            return ip
    return None


def from_xml(xml: str | ET.Element, *, active: bool, autostart: bool) -> dict[str, Any]:
    """Attributes of a network in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    forward = root.find("forward")
    attrs: dict[str, Any] = {"mode": forward.get("mode", "nat") if forward is not None else "isolated"}
    bridge = root.find("bridge")
    if bridge is not None and bridge.get("name"):
        attrs["bridge"] = bridge.get("name")
    ip = _ipv4_element(root)
    if ip is not None:
        mask = ip.get("prefix") or ip.get("netmask") or "24"
        attrs["ipv4"] = str(ipaddress.IPv4Network(f"{ip.get('address')}/{mask}", strict=False))
        rng = ip.find("dhcp/range")
        if rng is not None:
            attrs["dhcp"] = {"start": rng.get("start"), "end": rng.get("end")}
    attrs["active"] = active
    attrs["autostart"] = autostart
    return attrs


def with_dhcp(xml: str, dhcp: DhcpRange | None) -> str:
    """A network's XML with its IPv4 DHCP ranges replaced by `dhcp` (or removed)."""
    root = ET.fromstring(xml)
    ip = _ipv4_element(root)
    if ip is None:
        raise ProviderError("the network has no IPv4 address to serve DHCP on")
    for old in ip.findall("dhcp"):
        ip.remove(old)
    if dhcp:
        sub(sub(ip, "dhcp"), "range", **_range_attrs(dhcp))
    return render(root)


# ---- operations -------------------------------------------------------------

def live(host: Host, net: libvirt.virNetwork, active: bool | None = None, autostart: bool | None = None) -> LiveObject:
    """One network; `active` and `autostart` are asked for when the caller does not know them."""
    name = net.name()
    with doing(f"reading network {name}"):
        root = ET.fromstring(net.XMLDesc(0))
        active = bool(net.isActive()) if active is None else active
        autostart = bool(net.autostart()) if autostart is None else autostart
    attrs = from_xml(root, active=active, autostart=autostart)
    # A running network adopted by `import` has its mark only in the persistent definition until it restarts;
    # the state's identity, not the mark, is what makes it kvmstate's.
    return LiveObject(TYPE, name, host.name, net.UUIDString(), attrs, ownership.parse_owner(root))


def _defined_xml(net: libvirt.virNetwork) -> str:
    """The persistent definition (libvirt's test driver keeps only one definition and refuses the flag)."""
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError:
        return net.XMLDesc(0)


def read_all(host: Host) -> list[LiveObject]:
    """Three list calls (all, active, autostart) and one XML read per network."""
    with doing("listing networks"):
        nets = host.conn.listAllNetworks()
        active = names(host.conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE))
        autostart = names(host.conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART))
    return [live(host, net, net.name() in active, net.name() in autostart) for net in nets]


def create(host: Host, request: Request) -> LiveObject:
    spec = Network.model_validate(request.attributes)
    name = request.name
    with doing(f"defining network {name}"):
        net = host.conn.networkDefineXML(to_xml(name, spec, request.owner))
    if spec.active:
        with doing(f"starting network {name}"):
            net.create()
    with doing(f"setting autostart of network {name}"):
        net.setAutostart(int(spec.autostart))
    return live(host, net)


def update(host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
    spec = Network.model_validate(request.attributes)
    name = request.name
    with doing(f"looking up network {name}"):
        net = host.conn.networkLookupByUUIDString(current.identity)
    changed = {p.split(".")[0] for p in paths}
    if "dhcp" in changed:
        _update_dhcp(net, name, current.attributes.get("dhcp"), spec.dhcp)
    if "active" in changed:
        with doing(f"{'starting' if spec.active else 'stopping'} network {name}"):
            net.create() if spec.active else net.destroy()
    if "autostart" in changed:
        with doing(f"setting autostart of network {name}"):
            net.setAutostart(int(spec.autostart))
    return live(host, net)


def _update_dhcp(net: libvirt.virNetwork, name: str, old: dict | None, new: DhcpRange | None) -> None:
    """Swap the DHCP range in place (no restart); redefine and restart the network if libvirt refuses."""
    flags = _UPDATE_FLAGS_CONFIG | (_UPDATE_FLAGS_LIVE if net.isActive() else 0)
    section = libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE
    try:
        # Documented (command, section) order: right on libvirt 9.0 (the old swap was fixed long ago).
        # libvirt restarts dnsmasq itself, also when the first range is added or the last removed.
        if old:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1, _range_xml(DhcpRange(**old)), flags)
        if new:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, -1, _range_xml(new), flags)
        return
    except libvirt.libvirtError:
        pass
    with doing(f"redefining network {name} with new DHCP settings"):
        xml = with_dhcp(net.XMLDesc(0), new)
        active = net.isActive()
        if active:
            net.destroy()  # before the define: the test driver keeps the old definition of a running network
        net.connect().networkDefineXML(xml)
        if active:
            net.create()


def adopt(host: Host, current: LiveObject, owner: Owner) -> LiveObject:
    """Redefine the network with the ownership mark; a running network keeps running."""
    with doing(f"marking network {current.name} as managed by kvmstate"):
        net = host.conn.networkLookupByUUIDString(current.identity)
        net = host.conn.networkDefineXML(ownership.with_owner(_defined_xml(net), owner))
    return live(host, net)


def delete(host: Host, name: str, identity: str) -> None:
    net = find(f"looking up network {name}", host.conn.networkLookupByUUIDString, identity)
    if net is None:
        return
    with doing(f"deleting network {name}"):
        if net.isActive():
            net.destroy()
        net.undefine()
