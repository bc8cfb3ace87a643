"""The `<domainsnapshot>` document.

Vocabulary: kind (internal unless a disk or the memory went to an external file),
description, memory (external only: the memory saved to a file too). An external snapshot names each
disk's new overlay file (`overlays`: disk target -> file); the disks it leaves out (CD-ROMs) are marked
`snapshot='no'`. The domain is kept outside it (the snapshot
is read through its domain). Snapshots have no `<metadata>`, so no owner mark: the identity (domain UUID,
name, creation time) tells kvmstate's snapshot from another of the same name.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ..schema import Snapshot
from .util import parse, render, sub


def to_xml(spec: Snapshot, name: str, overlays: dict[str, str] | None = None, others: Sequence[str] = (),
           memory_file: str | None = None) -> str:
    """The `<domainsnapshot>` document for a desired snapshot: for an internal one libvirt chooses the disks;
    an external one puts each disk target of `overlays` onto its new qcow2 file, leaves the targets in
    `others` alone, and saves the memory to `memory_file` (none: disk-only)."""
    root = ET.Element("domainsnapshot")
    sub(root, "name", name)
    if spec.description is not None:
        sub(root, "description", spec.description)
    if spec.kind == "external":
        if memory_file:
            sub(root, "memory", snapshot="external", file=memory_file)
        else:
            sub(root, "memory", snapshot="no")
        disks = sub(root, "disks")
        for target, path in sorted((overlays or {}).items()):
            disk = sub(disks, "disk", name=target, snapshot="external")
            sub(disk, "driver", type="qcow2")
            sub(disk, "source", file=path)
        for target in sorted(others):
            sub(disks, "disk", name=target, snapshot="no")
    return render(root)


def from_xml(xml: str | ET.Element, *, domain: str) -> dict[str, Any]:
    """Attributes of a snapshot in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    memory = root.find("memory")
    external = (memory is not None and memory.get("snapshot") == "external") or any(
        disk.get("snapshot") == "external" for disk in root.findall("disks/disk"))
    attrs: dict[str, Any] = {"domain": domain, "kind": "external" if external else "internal"}
    if external:
        attrs["memory"] = memory is not None and memory.get("snapshot") == "external"
    if root.find("description") is not None:
        attrs["description"] = root.findtext("description") or ""
    return attrs


def overlays(xml: str | ET.Element) -> dict[str, str]:
    """The overlay file an external snapshot put each disk onto, by disk target."""
    return {disk.get("name"): disk.find("source").get("file") for disk in parse(xml).findall("disks/disk")
            if disk.get("snapshot") == "external" and disk.find("source") is not None}


def memory_file(xml: str | ET.Element) -> str | None:
    """The file an external snapshot saved the domain's memory to, if any."""
    memory = parse(xml).find("memory")
    return memory.get("file") if memory is not None and memory.get("snapshot") == "external" else None


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
