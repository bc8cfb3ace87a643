"""The `<source>` element of a `<pool>` and each pool type's default target path.

Vocabulary (the model's `PoolSource`): host, dir, format, devices, name (a volume
group), iqn (an iSCSI target, which libvirt writes as a `<device path=…>` too).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..schema import Pool
from .util import sub

# Where libvirt finds a pool's volumes when `path` is unset; None: the user must say (dir, netfs).
DEFAULT_PATH = {"iscsi": "/dev/disk/by-path", "disk": "/dev"}


def target_path(spec: Pool, name: str) -> str:
    """The pool's target path: the user's, or where libvirt puts the volumes of this type."""
    if spec.path is not None:
        return spec.path
    if spec.type == "logical":
        return f"/dev/{volume_group(spec, name)}"
    return DEFAULT_PATH[spec.type]


def volume_group(spec: Pool, name: str) -> str:
    """A logical pool's volume group: `source.name`, or the pool's name."""
    return (spec.source.name if spec.source is not None else None) or name


def build(root: ET.Element, spec: Pool, name: str) -> None:
    """The `<source>` element for every pool type but dir."""
    if spec.type == "dir":
        return
    src = spec.source
    el = sub(root, "source")
    if src is not None and src.host:
        sub(el, "host", name=src.host)
    if src is not None and src.dir:
        sub(el, "dir", path=src.dir)
    if spec.type == "iscsi":
        sub(el, "device", path=src.iqn)
    for device in (src.devices if src is not None else None) or []:
        sub(el, "device", path=device)
    if spec.type == "logical":
        sub(el, "name", volume_group(spec, name))
        sub(el, "format", type="lvm2")
    elif src is not None and src.format:
        sub(el, "format", type=src.format)


def parse(root: ET.Element) -> dict[str, Any] | None:
    """The source in the model's vocabulary; None for a dir pool."""
    kind, el = root.get("type"), root.find("source")
    if kind == "dir" or el is None:
        return None
    out: dict[str, Any] = {}
    host = el.find("host")
    if host is not None and host.get("name"):
        out["host"] = host.get("name")
    if el.find("dir") is not None and el.find("dir").get("path"):
        out["dir"] = el.find("dir").get("path")
    devices = [d.get("path") for d in el.findall("device") if d.get("path")]
    if kind == "iscsi" and devices:
        out["iqn"] = devices[0]
    elif devices:
        out["devices"] = devices
    if el.findtext("name"):
        out["name"] = el.findtext("name")
    fmt = el.find("format")
    if fmt is not None and fmt.get("type") and kind != "logical":
        out["format"] = fmt.get("type")
    return out
