"""The `<volume>` document.

Vocabulary: capacity (canonical size), format, backing_store (the base volume's
name); the pool is kept outside it. `source`, `checksum` and `clone_of` are not in
it: the engine compares them with the state. Volumes have no owner mark.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.units import format_size

from ..schema import Volume
from .util import parse, render, size_bytes, sub


def to_xml(spec: Volume, name: str, *, backing: tuple[str, str] | None = None, pool_type: str = "dir") -> str:
    """The `<volume>` document for a new volume of `spec.capacity` bytes (sparse: allocation 0);
    `backing`: the path and format of its base volume. A logical volume is fully allocated (a smaller
    allocation would make it a thin snapshot) and has no format: an LV is a raw block device."""
    root = ET.Element("volume")
    sub(root, "name", name)
    sub(root, "capacity", str(spec.capacity), unit="bytes")
    logical = pool_type == "logical"
    sub(root, "allocation", str(spec.capacity) if logical else "0", unit="bytes")
    target = sub(root, "target")
    if not logical:
        sub(target, "format", type=spec.format)
    if backing:
        store = sub(root, "backingStore")
        sub(store, "path", backing[0])
        sub(store, "format", type=backing[1])
    return render(root)


def from_xml(xml: str | ET.Element, *, pool: str) -> dict[str, Any]:
    """Attributes of a volume in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    attrs: dict[str, Any] = {"pool": pool}
    capacity = size_bytes(root.find("capacity"))
    if capacity is not None:
        attrs["capacity"] = format_size(capacity)
    fmt = root.find("target/format")
    attrs["format"] = fmt.get("type") if fmt is not None and fmt.get("type") else "raw"   # an LV has none
    backing = root.findtext("backingStore/path")
    if backing:
        attrs["backing_store"] = os.path.basename(backing)   # a dir pool names a volume by its file
    return attrs
