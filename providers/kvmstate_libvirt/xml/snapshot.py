"""The `<domainsnapshot>` document.

Vocabulary: kind (internal unless a disk or the memory went to an external file),
description. The domain is kept outside it (the snapshot is read through its domain). Snapshots have no
`<metadata>`, so no owner mark: the identity (domain UUID, name, creation time) tells
kvmstate's snapshot from another of the same name.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..schema import Snapshot
from .util import parse, render, sub


def to_xml(spec: Snapshot, name: str) -> str:
    """The `<domainsnapshot>` document for a desired snapshot; libvirt chooses the disks and their new files."""
    root = ET.Element("domainsnapshot")
    sub(root, "name", name)
    if spec.description is not None:
        sub(root, "description", spec.description)
    return render(root)


def from_xml(xml: str | ET.Element, *, domain: str) -> dict[str, Any]:
    """Attributes of a snapshot in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    memory = root.find("memory")
    external = (memory is not None and memory.get("snapshot") == "external") or any(
        disk.get("snapshot") == "external" for disk in root.findall("disks/disk"))
    attrs: dict[str, Any] = {"domain": domain, "kind": "external" if external else "internal"}
    if root.find("description") is not None:
        attrs["description"] = root.findtext("description") or ""
    return attrs


def identity(domain_uuid: str, root: ET.Element) -> str:
    """`<domain UUID>/<creation time>/<name>`: a snapshot made again under the same name is another object."""
    return f"{domain_uuid}/{root.findtext('creationTime')}/{root.findtext('name')}"


def with_description(xml: str, description: str | None) -> str:
    """A snapshot's own document (as libvirt reports it) with another description, to redefine it."""
    root = parse(xml)
    old = root.find("description")
    if old is not None:
        root.remove(old)
    if description is not None:
        new = ET.Element("description")
        new.text = description
        root.insert(1, new)
    return ET.tostring(root, encoding="unicode")
