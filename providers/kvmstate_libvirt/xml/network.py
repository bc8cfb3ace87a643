"""The `<network>` document.

Vocabulary: mode (nat/route/open/isolated), bridge, ipv4 (CIDR; the host takes its
first address), dhcp {start, end}; active and autostart are kept outside it.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.provider import Owner, ProviderError

from ..schema import DhcpRange, Network
from . import ownership
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
    if spec.bridge:
        sub(root, "bridge", name=spec.bridge, stp="on", delay="0")
    if spec.ipv4:
        net = ipaddress.IPv4Network(spec.ipv4)
        ip = sub(root, "ip", address=str(next(net.hosts())), prefix=str(net.prefixlen))
        if spec.dhcp:
            sub(sub(ip, "dhcp"), "range", **_range_attrs(spec.dhcp))
    return render(root)


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


def range_xml(dhcp: DhcpRange) -> str:
    """A DHCP `<range>` alone, as libvirt's network update takes it."""
    return ET.tostring(ET.Element("range", _range_attrs(dhcp)), encoding="unicode")


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


def _range_attrs(dhcp: DhcpRange) -> dict[str, str]:
    return {"start": str(dhcp.start), "end": str(dhcp.end)}


def _ipv4_element(root: ET.Element) -> ET.Element | None:
    for ip in root.findall("ip"):
        if ip.get("family", "ipv4") == "ipv4" and ip.get("address"):
            return ip
    return None
