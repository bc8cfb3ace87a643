"""The `<dns>` element of a `<network>`: forwarders, host entries, SRV and TXT records.

`dns_element` builds it, `from_dns` reads it in the model's vocabulary, and the
`*_xml` helpers give the single elements libvirt's network update takes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..schema import Dns, DnsForwarder, DnsHost, DnsSrv, DnsTxt
from .util import sub

SRV_NUMBERS = ("port", "priority", "weight")


def dns_element(dns: Dns | None) -> ET.Element | None:
    """`<dns>` with forwarders, TXT records, hosts and SRV records in libvirt's order; None when there is
    nothing to serve."""
    if dns is None or not (dns.forwarders or dns.hosts or dns.srv or dns.txt):
        return None
    el = ET.Element("dns")
    el.extend(forwarder_element(forwarder) for forwarder in dns.forwarders)
    el.extend(txt_element(txt) for txt in dns.txt)
    el.extend(host_element(host) for host in dns.hosts)
    el.extend(srv_element(srv) for srv in dns.srv)
    return el


def from_dns(root: ET.Element) -> dict[str, Any] | None:
    """The `dns` attribute of a network's document, or None when it serves no entries."""
    out = {key: [read(el) for el in root.findall(path)]
           for key, path, read in (("forwarders", "dns/forwarder", _forwarder), ("hosts", "dns/host", _host),
                                   ("srv", "dns/srv", _srv), ("txt", "dns/txt", _txt))}
    return out if any(out.values()) else None


def forwarder_element(forwarder: DnsForwarder) -> ET.Element:
    attrs = {"domain": forwarder.domain, "addr": str(forwarder.addr) if forwarder.addr else None}
    return ET.Element("forwarder", {key: value for key, value in attrs.items() if value})


def host_element(host: DnsHost) -> ET.Element:
    el = ET.Element("host", ip=str(host.ip))
    for name in host.hostnames:
        sub(el, "hostname", name)
    return el


def srv_element(srv: DnsSrv) -> ET.Element:
    attrs = {key: getattr(srv, key) for key in ("service", "protocol", "domain", "target", *SRV_NUMBERS)}
    return ET.Element("srv", {key: str(value) for key, value in attrs.items() if value is not None})


def txt_element(txt: DnsTxt) -> ET.Element:
    return ET.Element("txt", name=txt.name, value=txt.value)


def host_xml(host: DnsHost) -> str:
    return ET.tostring(host_element(host), encoding="unicode")


def srv_xml(srv: DnsSrv) -> str:
    return ET.tostring(srv_element(srv), encoding="unicode")


def txt_xml(txt: DnsTxt) -> str:
    return ET.tostring(txt_element(txt), encoding="unicode")


def _forwarder(el: ET.Element) -> dict[str, Any]:
    return {key: el.get(key) for key in ("addr", "domain") if el.get(key)}


def _host(el: ET.Element) -> dict[str, Any]:
    return {"ip": el.get("ip"), "hostnames": [h.text or "" for h in el.findall("hostname")]}


def _srv(el: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {key: el.get(key) for key in ("service", "protocol", "domain", "target") if el.get(key)}
    out.update({key: int(el.get(key)) for key in SRV_NUMBERS if el.get(key)})
    return out


def _txt(el: ET.Element) -> dict[str, Any]:
    return {"name": el.get("name"), "value": el.get("value")}
