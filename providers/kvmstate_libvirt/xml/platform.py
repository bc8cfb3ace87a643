"""A domain's platform: boot order and menu, Secure Boot, lifecycle actions, and the devices beyond disks and
NICs (guest agent channel, TPM, RNG, video, watchdog, virtiofs shares).

`build` adds them to a `<domain>` that `domain.to_xml` has started; `parse` reads
them back in the model's vocabulary. Each reads only its own elements, so the
rest of the document module does not change when a device is added here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..schema import Domain
from .util import sub

AGENT = "org.qemu.guest_agent.0"
EVENTS = ("on_poweroff", "on_reboot", "on_crash")
BOOT_DEV = {"hd": "disk", "cdrom": "cdrom", "network": "network"}


def boot_orders(spec: Domain) -> dict[tuple[str, int], int]:
    """(kind, index) -> boot order for every bootable disk, CD-ROM and interface; kinds in `boot_order`'s order
    (disks then CD-ROMs when unset), devices in list order."""
    kinds = spec.boot_order if spec.boot_order is not None else ["disk", "cdrom"]
    counts = {"disk": len(spec.disks), "cdrom": len(spec.cdroms), "network": len(spec.interfaces)}
    orders: dict[tuple[str, int], int] = {}
    for kind in kinds:
        for index in range(counts[kind]):
            orders[(kind, index)] = len(orders) + 1
    return orders


def build_os(os_el: ET.Element, spec: Domain) -> None:
    """The boot menu inside `<os>`."""
    if spec.boot_menu is not None:
        sub(os_el, "bootmenu", enable="yes" if spec.boot_menu else "no")


def build_features(features: ET.Element, spec: Domain) -> None:
    """SMM, which OVMF's Secure Boot build needs."""
    if spec.secure_boot:
        sub(features, "smm", state="on")


def build_events(root: ET.Element, spec: Domain) -> None:
    for event in EVENTS:
        if getattr(spec, event) is not None:
            sub(root, event, getattr(spec, event))


def build_devices(devices: ET.Element, spec: Domain) -> None:
    for fs in spec.filesystems or []:
        el = sub(devices, "filesystem", type="mount", accessmode="passthrough")
        sub(el, "driver", type="virtiofs")
        sub(el, "source", dir=fs.source)
        sub(el, "target", dir=fs.target)
    if spec.guest_agent:
        el = sub(devices, "channel", type="unix")
        sub(el, "target", type="virtio", name=AGENT)
    if spec.video is not None:
        sub(sub(devices, "video"), "model", type=spec.video)
    if spec.watchdog is not None:
        sub(devices, "watchdog", model=spec.watchdog.model, action=spec.watchdog.action)
    if spec.rng:
        el = sub(devices, "rng", model="virtio")
        sub(el, "backend", "/dev/urandom", model="random")
    if spec.tpm is not None:
        el = sub(devices, "tpm", model=spec.tpm.model)
        sub(el, "backend", type="emulator", version=spec.tpm.version)


def parse(root: ET.Element) -> dict[str, Any]:
    """The platform attributes of a domain, from libvirt's XML (every one; the planner compares those set)."""
    devices = root.find("devices")
    devices = devices if devices is not None else ET.Element("devices")
    out: dict[str, Any] = {
        "guest_agent": any(t.get("name") == AGENT for t in devices.findall("channel/target")),
        "rng": any(r.get("model") == "virtio" for r in devices.findall("rng")),
        "boot_menu": root.find("os/bootmenu") is not None and root.find("os/bootmenu").get("enable") == "yes",
        "boot_order": _parse_boot(root),
    }
    video = devices.find("video/model")
    out["video"] = video.get("type") if video is not None else "none"
    tpm = devices.find("tpm")
    if tpm is not None:
        backend = tpm.find("backend")
        out["tpm"] = {"model": tpm.get("model", "tpm-tis"),
                      "version": backend.get("version", "2.0") if backend is not None else "2.0"}
    dogs = devices.findall("watchdog")
    if dogs:
        # libvirt adds an itco watchdog to q35 machines on its own (9.1+): the user's is the other one.
        dog = next((d for d in dogs if d.get("model") != "itco"), dogs[0]) if len(dogs) > 1 else dogs[0]
        out["watchdog"] = {"model": dog.get("model"), "action": dog.get("action", "reset")}
    out["filesystems"] = [{"source": fs.find("source").get("dir"), "target": fs.find("target").get("dir")}
                          for fs in devices.findall("filesystem")
                          if fs.find("source") is not None and fs.find("target") is not None]
    features = root.find("os/firmware")
    if features is not None or root.find("os/loader") is not None:
        enabled = {f.get("name"): f.get("enabled") == "yes" for f in root.findall("os/firmware/feature")}
        loader = root.find("os/loader")
        out["secure_boot"] = enabled.get("secure-boot", loader is not None and loader.get("secure") == "yes")
    for event in EVENTS:
        if root.find(event) is not None:
            out[event] = root.findtext(event)
    return out


def _parse_boot(root: ET.Element) -> list[str]:
    """The kinds of devices that boot, in order of their first boot order (or of `<os><boot dev>`)."""
    first: dict[str, int] = {}
    for el in root.findall("devices/*"):
        boot = el.find("boot")
        if boot is None or not boot.get("order", "").isdigit():
            continue
        kind = "network" if el.tag == "interface" else el.get("device", "disk") if el.tag == "disk" else None
        if kind in ("disk", "cdrom", "network"):
            first[kind] = min(first.get(kind, 1 << 30), int(boot.get("order")))
    if first:
        return sorted(first, key=first.__getitem__)
    return [BOOT_DEV[b.get("dev")] for b in root.findall("os/boot") if b.get("dev") in BOOT_DEV]
