"""The devices of a `<domain>`: one builder and one parser per kind, the virtinst way.

Builders take a desired model and return an element (also used on its own for a
live attach); parsers take libvirt's element and return the model's vocabulary.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.provider import ProviderError

from ..schema import Cdrom, Disk, Graphics, Interface, Serial, Volume
from .util import sub

PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd"}
_IFACE_TYPE = {"network": "network", "bridge": "bridge", "macvtap": "direct"}


def dev_name(prefix: str, index: int) -> str:
    """vda, vdb, ... vdz, vdaa, ...: the kernel's disk naming."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return prefix + letters


def free_dev(bus: str, used: set[str]) -> str:
    """The first target name for a bus that no device in `used` has; the name is recorded in `used`."""
    index = 0
    while dev_name(PREFIX[bus], index) in used:
        index += 1
    used.add(dev_name(PREFIX[bus], index))
    return dev_name(PREFIX[bus], index)


def volume_of(domain: str, volumes: dict[str, Volume], name: str | None) -> Volume | None:
    """The desired attributes of an attached volume (its pool and format), which the engine passes along;
    None for a disk attached by path."""
    if name is None:
        return None
    if name not in volumes:
        raise ProviderError(f"domain {domain}: the attributes of volume {name} were not given")
    return volumes[name]


# ---- builders -----------------------------------------------------------------

def disk(spec: Disk | Cdrom, vol: Volume | None, dev: str, order: int | None) -> ET.Element:
    """A volume (or a host file or block device: `vol` None) as a disk, or a volume read-only as a CD-ROM;
    `order` is its boot order (none: not bootable)."""
    cdrom = isinstance(spec, Cdrom)
    kind = "volume" if vol is not None else "file" if spec.file else "block"
    el = ET.Element("disk", {"type": kind, "device": "cdrom" if cdrom else "disk"})
    driver = sub(el, "driver", name="qemu", type="raw" if cdrom or vol is None else vol.format)
    if not cdrom:
        for key in ("cache", "io", "discard", "iothread"):
            if getattr(spec, key) is not None:
                driver.set(key, str(getattr(spec, key)))
    if vol is not None:
        sub(el, "source", pool=vol.pool, volume=spec.volume)
    else:
        sub(el, "source", **{"file" if spec.file else "dev": spec.host_path})
    sub(el, "target", dev=dev, bus=spec.bus)
    if cdrom or spec.readonly:
        sub(el, "readonly")
    if not cdrom and spec.shareable:
        sub(el, "shareable")
    if not cdrom and spec.serial is not None:
        sub(el, "serial", spec.serial)
    if order is not None:
        sub(el, "boot", order=str(order))
    return el


def interface(spec: Interface, mac: str | None) -> ET.Element:
    """A NIC on a libvirt network, a host bridge, or a host device through macvtap."""
    el = ET.Element("interface", type=_IFACE_TYPE[spec.kind])
    if mac:
        sub(el, "mac", address=mac.lower())
    if spec.kind == "macvtap":
        sub(el, "source", dev=spec.macvtap, mode="bridge")
    else:
        sub(el, "source", **{spec.kind: getattr(spec, spec.kind)})
    sub(el, "model", type=spec.model)
    return el


def graphics(parent: ET.Element, spec: Graphics) -> None:
    if spec.type == "none":
        return
    el = sub(parent, "graphics", type=spec.type, autoport="yes")
    if spec.listen is not None:
        el.set("listen", str(spec.listen))
        sub(el, "listen", type="address", address=str(spec.listen))


def serial(parent: ET.Element, spec: Serial) -> None:
    """The first serial port, and the console on it."""
    for tag, target in (("serial", {"port": "0"}), ("console", {"type": "serial", "port": "0"})):
        el = sub(parent, tag, type=spec.type)
        if spec.path:
            sub(el, "source", path=spec.path)
        sub(el, "target", **target)


# ---- parsers ------------------------------------------------------------------

def parse_disk(el: ET.Element) -> dict[str, Any]:
    source = el.find("source")
    out: dict[str, Any] = {}
    if source is not None:
        # A file disk is named by its file's basename too: a dir pool names its volumes so.
        volume = source.get("volume") or os.path.basename(source.get("file") or source.get("dev") or "")
        if volume:
            out["volume"] = volume
        for key, attr in (("file", "file"), ("block", "dev")):
            if source.get(attr):
                out[key] = source.get(attr)
    target = el.find("target")
    if target is not None and target.get("bus"):
        out["bus"] = target.get("bus")
    if el.get("device", "disk") == "disk":
        driver = el.find("driver")
        for key in ("cache", "io", "discard"):
            if driver is not None and driver.get(key):
                out[key] = driver.get(key)
        if driver is not None and driver.get("iothread", "").isdigit():
            out["iothread"] = int(driver.get("iothread"))
        if el.findtext("serial"):
            out["serial"] = el.findtext("serial")
        out["readonly"] = el.find("readonly") is not None
        out["shareable"] = el.find("shareable") is not None
    return out


def parse_interface(el: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    source = el.find("source")
    kind = {"network": "network", "bridge": "bridge", "direct": "macvtap"}.get(el.get("type"))
    attr = {"network": "network", "bridge": "bridge", "macvtap": "dev"}.get(kind)
    if source is not None and attr and source.get(attr):
        out[kind] = source.get(attr)
    for key, path, name in (("mac", "mac", "address"), ("model", "model", "type")):
        child = el.find(path)
        if child is not None and child.get(name):
            out[key] = child.get(name).lower() if key == "mac" else child.get(name)
    return out


def parse_graphics(devices: ET.Element | None) -> dict[str, Any]:
    el = devices.find("graphics") if devices is not None else None
    if el is None:
        return {"type": "none"}
    out: dict[str, Any] = {"type": el.get("type")}
    listen = el.find("listen[@type='address']")
    address = listen.get("address") if listen is not None else el.get("listen")
    if address:
        out["listen"] = address
    return out


def parse_serial(devices: ET.Element | None) -> dict[str, Any]:
    el = devices.find("serial") if devices is not None else None
    if el is None:
        return {}
    out: dict[str, Any] = {"type": el.get("type")}
    source = el.find("source")
    if source is not None and source.get("path") and el.get("type") == "file":
        out["path"] = source.get("path")
    return out
