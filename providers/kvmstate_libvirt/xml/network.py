"""The `<network>` document.

Vocabulary: mode (nat/route/open/isolated/bridge), bridge, mtu, domain, dns
{hosts}, ipv4 (CIDR; the host takes its first address), dhcp {start, end, ranges,
hosts}; active and autostart are kept outside it. The `*_xml` helpers give the
single elements libvirt's network update takes.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.provider import Owner, ProviderError

from ..schema import Dhcp, DhcpHost, DhcpRange, DnsHost, Network
from . import ownership, patches
from .util import parse, render, sub


def to_xml(spec: Network, name: str, *, owner: Owner | None = None, uuid: str | None = None) -> str:
    """The `<network>` document for a desired network."""
    root = ET.Element("network")
    sub(root, "name", name)
    if uuid:
        sub(root, "uuid", uuid)
    if owner:
        ownership.add_owner(sub(root, "metadata"), owner)
    if spec.mode != "isolated":
        sub(root, "forward", mode=spec.mode)
    if spec.mode == "bridge":
        sub(root, "bridge", name=spec.bridge)
    elif spec.bridge:
        sub(root, "bridge", name=spec.bridge, stp="on", delay="0")
    _settings(root, spec)
    if spec.ipv4:
        net = ipaddress.IPv4Network(spec.ipv4)
        ip = sub(root, "ip", address=str(next(net.hosts())), prefix=str(net.prefixlen))
        if spec.dhcp:
            _dhcp(ip, spec.dhcp)
    patches.apply(root, spec.xml_patches or [])
    return render(root)


def _settings(root: ET.Element, spec: Network) -> None:
    """`<mtu>`, `<domain>` and `<dns>`, in libvirt's order, before the first `<ip>`."""
    elements = []
    if spec.mtu is not None:
        elements.append(ET.Element("mtu", size=str(spec.mtu)))
    if spec.domain is not None:
        elements.append(ET.Element("domain", name=spec.domain, localOnly="yes"))
    if spec.dns is not None and spec.dns.hosts:
        dns = ET.Element("dns")
        dns.extend(dns_host_element(host) for host in spec.dns.hosts)
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
    bridge = root.find("bridge")
    if bridge is not None and bridge.get("name"):
        attrs["bridge"] = bridge.get("name")
    if root.find("mtu") is not None and root.find("mtu").get("size"):
        attrs["mtu"] = int(root.find("mtu").get("size"))
    if root.find("domain") is not None and root.find("domain").get("name"):
        attrs["domain"] = root.find("domain").get("name")
    dns_hosts = [parse_dns_host(h) for h in root.findall("dns/host")]
    if dns_hosts:
        attrs["dns"] = {"hosts": dns_hosts}
    ip = _ipv4_element(root)
    if ip is not None:
        mask = ip.get("prefix") or ip.get("netmask") or "24"
        attrs["ipv4"] = str(ipaddress.IPv4Network(f"{ip.get('address')}/{mask}", strict=False))
        dhcp = ip.find("dhcp")
        if dhcp is not None and (dhcp.find("range") is not None or dhcp.find("host") is not None):
            ranges = [{"start": r.get("start"), "end": r.get("end")} for r in dhcp.findall("range")]
            attrs["dhcp"] = {**(ranges[0] if ranges else {}), "ranges": ranges[1:],
                             "hosts": [parse_dhcp_host(h) for h in dhcp.findall("host")]}
    attrs["active"] = active
    attrs["autostart"] = autostart
    return attrs


def parse_dhcp_host(el: ET.Element) -> dict[str, Any]:
    out = {"mac": (el.get("mac") or "").lower(), "ip": el.get("ip")}
    if el.get("name"):
        out["name"] = el.get("name")
    return out


def parse_dns_host(el: ET.Element) -> dict[str, Any]:
    return {"ip": el.get("ip"), "hostnames": [h.text or "" for h in el.findall("hostname")]}


# ---- single elements, as libvirt's network update takes them --------------------

def dhcp_host_element(host: DhcpHost) -> ET.Element:
    attrs = {"mac": host.mac, "ip": str(host.ip)}
    if host.name:
        attrs["name"] = host.name
    return ET.Element("host", attrs)


def dns_host_element(host: DnsHost) -> ET.Element:
    el = ET.Element("host", ip=str(host.ip))
    for name in host.hostnames:
        sub(el, "hostname", name)
    return el


def range_xml(dhcp: DhcpRange) -> str:
    """A DHCP `<range>` alone."""
    return ET.tostring(ET.Element("range", _range_attrs(dhcp)), encoding="unicode")


def dhcp_host_xml(host: DhcpHost) -> str:
    return ET.tostring(dhcp_host_element(host), encoding="unicode")


def dns_host_xml(host: DnsHost) -> str:
    return ET.tostring(dns_host_element(host), encoding="unicode")


def with_settings(xml: str, spec: Network) -> str:
    """A network's XML with its DHCP, DNS hosts, domain and MTU replaced by the desired ones and the XML patches
    applied; everything else (UUID, bridge and its MAC, the ownership mark) kept."""
    root = ET.fromstring(xml)
    ip = _ipv4_element(root)
    if spec.dhcp is not None and ip is None:
        raise ProviderError("the network has no IPv4 address to serve DHCP on")
    if ip is not None:
        for old in ip.findall("dhcp"):
            ip.remove(old)
        if spec.dhcp:
            _dhcp(ip, spec.dhcp)
    for tag in ("mtu", "domain", "dns"):
        for old in root.findall(tag):
            root.remove(old)
    _settings(root, spec)
    patches.apply(root, spec.xml_patches or [])
    return render(root)


def _range_attrs(dhcp: DhcpRange) -> dict[str, str]:
    return {"start": str(dhcp.start), "end": str(dhcp.end)}


def _ipv4_element(root: ET.Element) -> ET.Element | None:
    for ip in root.findall("ip"):
        if ip.get("family", "ipv4") == "ipv4" and ip.get("address"):
            return ip
    return None
