"""The `<pool>` document.

Vocabulary: type, path, source (built and read in `pool_source`); active and
autostart are kept outside it. Pools have no `<metadata>`, so no owner mark.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..schema import Pool
from . import pool_source
from .util import parse, render, sub


def to_xml(spec: Pool, name: str) -> str:
    """The `<pool>` document for a desired pool."""
    root = ET.Element("pool", type=spec.type)
    sub(root, "name", name)
    pool_source.build(root, spec, name)
    sub(sub(root, "target"), "path", pool_source.target_path(spec, name))
    return render(root)


def from_xml(xml: str | ET.Element, *, active: bool, autostart: bool) -> dict[str, Any]:
    """Attributes of a pool in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    attrs: dict[str, Any] = {"type": root.get("type")}
    path = root.findtext("target/path")
    if path:
        attrs["path"] = path
    source = pool_source.parse(root)
    if source is not None:
        attrs["source"] = source
    attrs["active"] = active
    attrs["autostart"] = autostart
    return attrs
