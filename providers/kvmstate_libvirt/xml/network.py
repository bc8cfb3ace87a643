"""The `<network>` document.

Vocabulary: mode (nat/route/open/isolated/bridge/macvtap/hostdev), bridge,
host_interfaces and macvtap_mode (macvtap), pf (hostdev), mtu, isolate_ports,
domain, dns (see network_dns), ipv4 and ipv6 (CIDR; the host takes the first
address), dhcp and dhcp6 {start, end, ranges, hosts}, one `<ip>` element each;
active and autostart are kept outside it. The `*_xml` helpers give the single
elements libvirt's network update takes.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.provider import Owner, ProviderError

from ..schema import Dhcp, Dhcp6Host, DhcpHost, DhcpRange, Network
from . import network_dns, ownership, patches
from .util import parse, render, sub

FAMILIES = (("ipv4", "dhcp"), ("ipv6", "dhcp6"))     # (address attribute, its DHCP attribute), in document order


def to_xml(spec: Network, name: str, *, owner: Owner | None = None, uuid: str | None = None) -> str:
    """The `<network>` document for a desired network."""
    root = ET.Element("network")
    sub(root, "name", name)
    if uuid:
        sub(root, "uuid", uuid)
    if owner:
        ownership.add_owner(sub(root, "metadata"), owner)
    if spec.mode in ("macvtap", "hostdev"):
        _device_forward(root, spec)
    elif spec.mode != "isolated":
        sub(root, "forward", mode=spec.mode)
    if spec.mode == "bridge":
        sub(root, "bridge", name=spec.bridge)
    elif spec.bridge:
        sub(root, "bridge", name=spec.bridge, stp="on", delay="0")
    _settings(root, spec)
    for family, dhcp_key in FAMILIES:
        cidr = getattr(spec, family)
        if cidr:
            net = ipaddress.ip_network(cidr)
            attrs = {"family": "ipv6"} if net.version == 6 else {}
            ip = sub(root, "ip", **attrs, address=str(next(net.hosts())), prefix=str(net.prefixlen))
            if getattr(spec, dhcp_key):
                _dhcp(ip, getattr(spec, dhcp_key))
    patches.apply(root, spec.xml_patches or [])
    return render(root)


def _device_forward(root: ET.Element, spec: Network) -> None:
    """`<forward>` with a pool of host interfaces (macvtap) or an SR-IOV physical function (hostdev)."""
    if spec.mode == "hostdev":
        sub(sub(root, "forward", mode="hostdev", managed="yes"), "pf", dev=spec.pf)
        return
    forward = sub(root, "forward", mode=spec.macvtap_mode or "bridge")
    for dev in spec.host_interfaces:
        sub(forward, "interface", dev=dev)


def _settings(root: ET.Element, spec: Network) -> None:
    """`<mtu>`, `<port>`, `<domain>` and `<dns>`, in libvirt's order, before the first `<ip>`."""
    elements = []
    if spec.mtu is not None:
        elements.append(ET.Element("mtu", size=str(spec.mtu)))
    if spec.isolate_ports is not None:
        elements.append(ET.Element("port", isolated="yes" if spec.isolate_ports else "no"))
    if spec.domain is not None:
        elements.append(ET.Element("domain", name=spec.domain, localOnly="yes"))
    dns = network_dns.dns_element(spec.dns)
    if dns is not None:
        elements.append(dns)
    at = next((i for i, child in enumerate(root) if child.tag == "ip"), len(root))
    for offset, el in enumerate(elements):
        root.insert(at + offset, el)


def _dhcp(ip: ET.Element, dhcp: Dhcp) -> None:
    el = sub(ip, "dhcp")
    for rng in dhcp.all_ranges():
        sub(el, "range", **_range_attrs(rng))
    for host in dhcp.hosts:
        el.append(dhcp_host_element(host))


def from_xml(xml: str | ET.Element, *, active: bool, autostart: bool) -> dict[str, Any]:
    """Attributes of a network in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    forward = root.find("forward")
    attrs: dict[str, Any] = {"mode": forward.get("mode", "nat") if forward is not None else "isolated"}
    attrs.update(_from_device_forward(root))
    bridge = root.find("bridge")
    if bridge is not None and bridge.get("name"):
        attrs["bridge"] = bridge.get("name")
    if root.find("mtu") is not None and root.find("mtu").get("size"):
        attrs["mtu"] = int(root.find("mtu").get("size"))
    port = root.find("port[@isolated]")
    if port is not None:
        attrs["isolate_ports"] = port.get("isolated") == "yes"
    if root.find("domain") is not None and root.find("domain").get("name"):
        attrs["domain"] = root.find("domain").get("name")
    dns = network_dns.from_dns(root)
    if dns:
        attrs["dns"] = dns
    for family, dhcp_key in FAMILIES:
        ip = ip_element(root, family)
        if ip is None:
            continue
        mask = ip.get("prefix") or ip.get("netmask") or ("24" if family == "ipv4" else "64")
        attrs[family] = str(ipaddress.ip_network(f"{ip.get('address')}/{mask}", strict=False))
        dhcp = ip.find("dhcp")
        if dhcp is not None and (dhcp.find("range") is not None or dhcp.find("host") is not None):
            ranges = [{"start": r.get("start"), "end": r.get("end")} for r in dhcp.findall("range")]
            attrs[dhcp_key] = {**(ranges[0] if ranges else {}), "ranges": ranges[1:],
                               "hosts": [parse_dhcp_host(h) for h in dhcp.findall("host")]}
    attrs["active"] = active
    attrs["autostart"] = autostart
    return attrs


def _from_device_forward(root: ET.Element) -> dict[str, Any]:
    """mode, host_interfaces and macvtap_mode of a macvtap network, or mode and pf of a hostdev one; {} for others."""
    forward = root.find("forward")
    mode = forward.get("mode") if forward is not None else None
    if mode == "hostdev" and forward.find("pf") is not None:
        return {"mode": "hostdev", "pf": forward.find("pf").get("dev")}
    devices = [el.get("dev") for el in forward.findall("interface")] if forward is not None else []
    if mode in ("private", "vepa", "passthrough") or (mode == "bridge" and devices and root.find("bridge") is None):
        return {"mode": "macvtap", "macvtap_mode": mode, "host_interfaces": devices}
    return {}


def parse_dhcp_host(el: ET.Element) -> dict[str, Any]:
    """A static host of either family: IPv4 ones by MAC, IPv6 ones by DUID (`id`) or name."""
    out = {"mac": el.get("mac").lower()} if el.get("mac") else {"id": el.get("id")} if el.get("id") else {}
    out["ip"] = el.get("ip")
    if el.get("name"):
        out["name"] = el.get("name")
    return out


# ---- single elements, as libvirt's network update takes them --------------------

def dhcp_host_element(host: DhcpHost | Dhcp6Host) -> ET.Element:
    attrs = {"mac": host.mac} if isinstance(host, DhcpHost) else {"id": host.id} if host.id else {}
    attrs["ip"] = str(host.ip)
    if host.name:
        attrs["name"] = host.name
    return ET.Element("host", attrs)


def range_xml(dhcp: DhcpRange) -> str:
    """A DHCP `<range>` alone."""
    return ET.tostring(ET.Element("range", _range_attrs(dhcp)), encoding="unicode")


def dhcp_host_xml(host: DhcpHost | Dhcp6Host) -> str:
    return ET.tostring(dhcp_host_element(host), encoding="unicode")


def with_settings(xml: str, spec: Network) -> str:
    """A network's XML with its DHCP of both families, DNS, port isolation, domain and MTU replaced by the
    desired ones and the XML patches applied; everything else (UUID, bridge and its MAC, the ownership mark)
    kept."""
    root = ET.fromstring(xml)
    for family, dhcp_key in FAMILIES:
        ip, dhcp = ip_element(root, family), getattr(spec, dhcp_key)
        if dhcp is not None and ip is None:
            raise ProviderError(f"the network has no {family} address to serve {dhcp_key} on")
        if ip is not None:
            for old in ip.findall("dhcp"):
                ip.remove(old)
            if dhcp:
                _dhcp(ip, dhcp)
    for tag in ("mtu", "port", "domain", "dns"):
        for old in root.findall(tag):
            root.remove(old)
    _settings(root, spec)
    patches.apply(root, spec.xml_patches or [])
    return render(root)


def ip_index(root: ET.Element, family: str) -> int:
    """The position of the family's `<ip>` among all of them: libvirt's network update names it so."""
    ips = [ip for ip in root.findall("ip") if ip.get("address")]
    return next((i for i, ip in enumerate(ips) if ip.get("family", "ipv4") == family), -1)


def ip_element(root: ET.Element, family: str) -> ET.Element | None:
    """The first `<ip>` of `family` ("ipv4" or "ipv6") that has an address."""
    for ip in root.findall("ip"):
        if ip.get("family", "ipv4") == family and ip.get("address"):
            return ip
    return None


def _range_attrs(dhcp: DhcpRange) -> dict[str, str]:
    return {"start": str(dhcp.start), "end": str(dhcp.end)}
