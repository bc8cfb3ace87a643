"""The host's network interfaces, as libvirt lists them: what a macvtap or hostdev network may name.

`check` refuses a plan whose network names an interface the host does not have
(libvirt itself starts such a network and fails only when a guest joins it), or a
hostdev physical function without SR-IOV virtual functions. Asked through libvirt,
so a remote host is asked, not this machine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from kvmstate.provider import Problem

from .connection import Host
from .schema import Network


def names(host: Host) -> set[str] | None:
    """Names of the host's interfaces, active or not; None when the host's libvirt cannot list them."""
    try:
        return {iface.name() for iface in host.conn.listAllInterfaces(0)}
    except libvirt.libvirtError:
        return None


def virtual_functions(host: Host, pf: str) -> int | None:
    """How many SR-IOV virtual functions the PCI device behind interface `pf` can have; None when libvirt's
    node devices do not say."""
    try:
        devices = host.conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET)
        for dev in devices:
            root = ET.fromstring(dev.XMLDesc(0))
            if root.findtext("capability/interface") == pf and root.findtext("parent"):
                return max_virtual_functions(host.conn.nodeDeviceLookupByName(root.findtext("parent")).XMLDesc(0))
    except libvirt.libvirtError:
        pass
    return None


def max_virtual_functions(pci_xml: str) -> int:
    """The `maxCount` of a PCI node device's `virt_functions` capability (0 when it has none)."""
    caps = ET.fromstring(pci_xml).find("capability[@type='pci']/capability[@type='virt_functions']")
    return int(caps.get("maxCount") or len(caps.findall("address"))) if caps is not None else 0


def check(host: Host, spec: Network) -> list[Problem]:
    """Problems with the host interfaces a macvtap or hostdev network names."""
    wanted = [(f"host_interfaces[{i}]", name) for i, name in enumerate(spec.host_interfaces or [])]
    wanted += [("pf", spec.pf)] if spec.pf else []
    have = names(host) if wanted else None
    if have is None:
        return []
    problems = [Problem(path, f"host {host.name} has no network interface {name}; it has "
                              f"{', '.join(sorted(have)) or 'none'}.")
                for path, name in wanted if name not in have]
    if spec.pf and spec.pf in have and virtual_functions(host, spec.pf) == 0:
        problems.append(Problem("pf", f"interface {spec.pf} of host {host.name} has no SR-IOV virtual functions; "
                                      "name a physical function of an SR-IOV network card (and enable its VFs)."))
    return problems
