"""Host devices a domain may pass through: the host's PCI and USB node devices as libvirt lists them (read
once per host and cached on its `Host`), the plan-time check of `hostdevs`, and the IOMMU doctor check.

A PCI device is passed through with VFIO, which needs the host's IOMMU: libvirt
shows a PCI node device's IOMMU group only when the IOMMU is on, so a remote host
is asked, not this machine.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from kvmstate.provider import HostCheck, Problem

from .connection import Host
from .errors import doing
from .schema import Domain

IOMMU_FIX = "turn the IOMMU on: enable VT-d (Intel) or AMD-Vi in the firmware setup, add intel_iommu=on " \
            "(or amd_iommu=on) iommu=pt to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, " \
            "then update-grub) and reboot; /sys/kernel/iommu_groups then lists groups"


@dataclass(frozen=True)
class NodeDevice:
    """A PCI or USB device of the host: `address` is 0000:01:00.0 (PCI) or BUS:DEVICE (USB)."""

    kind: str                   # "pci" or "usb"
    address: str
    vendor: str                 # 0x8086
    product: str
    label: str                  # vendor and product names, as libvirt knows them
    iommu_group: int | None     # PCI only; None without an IOMMU

    def __str__(self) -> str:
        ids = f"{self.vendor}:{self.product}".replace("0x", "")
        return f"{self.address} [{ids}]" + (f" {self.label}" if self.label else "")


def node_devices(host: Host) -> list[NodeDevice]:
    """The host's PCI and USB devices: one list call and one XML read per device, once per host."""
    if "node_devices" not in host.cache:
        flags = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV | libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV
        with doing(f"listing the devices of host {host.name}"):
            found = [_parse(ET.fromstring(dev.XMLDesc(0))) for dev in host.conn.listAllDevices(flags)]
        host.cache["node_devices"] = sorted((dev for dev in found if dev is not None), key=lambda d: d.address)
    return host.cache["node_devices"]


def _parse(root: ET.Element) -> NodeDevice | None:
    cap = root.find("capability")
    if cap is None or cap.get("type") not in ("pci", "usb_device"):
        return None
    vendor, product = cap.find("vendor"), cap.find("product")
    ids = [(el.get("id") or "").lower() if el is not None else "" for el in (vendor, product)]
    label = " ".join(el.text.strip() for el in (vendor, product) if el is not None and (el.text or "").strip())
    if cap.get("type") == "pci":
        parts = [int(cap.findtext(k) or "0", 0) for k in ("domain", "bus", "slot", "function")]
        group = cap.find("iommuGroup")
        return NodeDevice("pci", "{:04x}:{:02x}:{:02x}.{:x}".format(*parts), *ids, label,
                          int(group.get("number")) if group is not None else None)
    return NodeDevice("usb", f"{int(cap.findtext('bus') or 0)}:{int(cap.findtext('device') or 0)}", *ids, label, None)


def check(host: Host, spec: Domain) -> list[Problem]:
    """Each `hostdevs` entry names a device the host has; a PCI one needs the host's IOMMU."""
    if not spec.hostdevs:
        return []
    devices = node_devices(host)
    problems = []
    for i, want in enumerate(spec.hostdevs):
        offered = [d for d in devices if d.kind == want.kind]
        listing = "; ".join(map(str, offered[:12])) or "none"
        if want.kind == "pci":
            match = next((d for d in offered if d.address == want.pci), None)
            path, what = f"hostdevs[{i}].pci", f"PCI device {want.pci}"
        elif want.vendor is not None:
            match = next((d for d in offered if (d.vendor, d.product) == (want.vendor, want.product)), None)
            path, what = f"hostdevs[{i}].vendor", f"USB device {want.vendor}:{want.product}"
        else:
            match = next((d for d in offered if d.address == f"{want.usb_bus}:{want.usb_device}"), None)
            path, what = f"hostdevs[{i}].usb_bus", f"USB device {want.usb_bus}:{want.usb_device} (bus:device)"
        if match is None:
            problems.append(Problem(path, f"host {host.name} has no {what}; its {want.kind.upper()} devices: "
                                          f"{listing}. Use one of those (lspci -Dnn, lsusb on the host)."))
        elif want.kind == "pci" and match.iommu_group is None:
            problems.append(Problem(path, f"host {host.name} has {what} ({match.label or 'unnamed'}), but no IOMMU "
                                          f"group for it, so it cannot be passed through with VFIO; {IOMMU_FIX}."))
    return problems


def doctor_check() -> HostCheck:
    """Whether this machine's IOMMU is on (PCI passthrough needs it)."""
    groups = os.listdir("/sys/kernel/iommu_groups") if os.path.isdir("/sys/kernel/iommu_groups") else []
    if groups:
        return HostCheck("IOMMU", True, f"{len(groups)} IOMMU groups: PCI devices can be passed through (`hostdevs`)")
    return HostCheck("IOMMU", True, "/sys/kernel/iommu_groups is empty: PCI passthrough (`hostdevs` with `pci`) "
                                     "cannot be used; USB passthrough and everything else work", IOMMU_FIX, warn=True)
