"""A domain's peripherals: sound card, input devices, the USB controller, SPICE USB redirection and host
devices passed through (`<hostdev>`, PCI by address, USB by id or by bus and device).

`build` appends them to `<devices>`; `parse` reads them back in the model's
vocabulary. libvirt's own PS/2 mouse and keyboard are not the user's inputs and
are not read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..schema import Domain, Hostdev
from .util import sub


def build(devices: ET.Element, spec: Domain) -> None:
    if spec.usb_controller is not None:
        sub(devices, "controller", type="usb", index="0", model=spec.usb_controller)
    for device in spec.inputs or []:
        sub(devices, "input", type=device.type, bus=device.bus)
    if spec.sound is not None:
        sub(devices, "sound", model=spec.sound)
    for _ in range(spec.usb_redirects or 0):
        devices.append(redirect())
    for dev in spec.hostdevs or []:
        devices.append(hostdev(dev))


def redirect() -> ET.Element:
    """One USB redirection channel through SPICE (also attached on its own to a running guest)."""
    return ET.Element("redirdev", bus="usb", type="spicevmc")


def hostdev(spec: Hostdev) -> ET.Element:
    """A PCI or USB device of the host, detached from its host driver by libvirt while the guest runs."""
    el = ET.Element("hostdev", mode="subsystem", type=spec.kind, managed="yes")
    source = sub(el, "source")
    if spec.pci is not None:
        domain, bus, rest = spec.pci.split(":")
        slot, function = rest.split(".")
        sub(source, "address", domain=f"0x{domain}", bus=f"0x{bus}", slot=f"0x{slot}", function=f"0x{function}")
    elif spec.vendor is not None:
        sub(source, "vendor", id=spec.vendor)
        sub(source, "product", id=spec.product)
    else:
        sub(source, "address", bus=str(spec.usb_bus), device=str(spec.usb_device))
    return el


def parse(root: ET.Element) -> dict[str, Any]:
    """The peripherals of a domain (inputs and host devices always; they may be none)."""
    devices = root.find("devices")
    devices = devices if devices is not None else ET.Element("devices")
    out: dict[str, Any] = {
        "inputs": [{"type": i.get("type"), "bus": i.get("bus", "usb")} for i in devices.findall("input")
                   if i.get("bus") in ("usb", "virtio")],
        "hostdevs": [parse_hostdev(h) for h in devices.findall("hostdev") if h.get("mode") == "subsystem"],
    }
    if redirects(devices):
        out["usb_redirects"] = len(redirects(devices))
    usb = [c for c in devices.findall("controller") if c.get("type") == "usb" and c.get("index", "0") == "0"]
    if usb and usb[0].get("model"):
        out["usb_controller"] = usb[0].get("model")
    sound = devices.find("sound")
    if sound is not None:
        out["sound"] = sound.get("model")
    return out


def redirects(devices: ET.Element) -> list[ET.Element]:
    return [r for r in devices.findall("redirdev") if r.get("type") == "spicevmc"]


def parse_hostdev(el: ET.Element) -> dict[str, Any]:
    address = el.find("source/address")
    if el.get("type") == "pci" and address is not None:
        parts = [int(address.get(k, "0"), 0) for k in ("domain", "bus", "slot", "function")]
        return {"pci": "{:04x}:{:02x}:{:02x}.{:x}".format(*parts)}
    vendor, product = el.find("source/vendor"), el.find("source/product")
    if vendor is not None and product is not None:
        return {"vendor": vendor.get("id", "").lower(), "product": product.get("id", "").lower()}
    if address is not None:
        return {"usb_bus": int(address.get("bus", "0")), "usb_device": int(address.get("device", "0"))}
    return {}
