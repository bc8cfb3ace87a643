"""The owner mark kvmstate writes into the `<metadata>` of domains and networks.

    <kvmstate:owner xmlns:kvmstate="https://kvmstate.dev/xmlns/owner/1" lineage="..." address="domain.web"/>

Pools and volumes have no `<metadata>`: they carry no mark.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kvmstate.provider import Owner

NAMESPACE = "https://kvmstate.dev/xmlns/owner/1"
PREFIX = "kvmstate"


def add_owner(metadata: ET.Element, owner: Owner) -> ET.Element:
    """Append the mark to a `<metadata>` element, declaring its namespace on the mark itself."""
    # Prefixed names are written verbatim by ElementTree, so the declaration stays local to the mark.
    return ET.SubElement(metadata, f"{PREFIX}:owner", {
        f"xmlns:{PREFIX}": NAMESPACE,
        "lineage": owner.lineage,
        "address": owner.address,
    })


def parse_owner(root: ET.Element) -> Owner | None:
    """The mark in a parsed libvirt document, or None when it has none (or an incomplete one)."""
    mark = root.find(f"metadata/{{{NAMESPACE}}}owner")
    if mark is None or not mark.get("lineage") or not mark.get("address"):
        return None
    return Owner(lineage=mark.get("lineage"), address=mark.get("address"))


def owner_xml(owner: Owner) -> str:
    """The mark as a standalone element, for libvirt's setMetadata (which declares the namespace itself)."""
    return ET.tostring(ET.Element("owner", {"lineage": owner.lineage, "address": owner.address}), encoding="unicode")


def with_owner(xml: str, owner: Owner) -> str:
    """A libvirt document with its mark replaced by `owner`."""
    root = ET.fromstring(xml)
    metadata = root.find("metadata")
    if metadata is None:
        metadata = ET.SubElement(root, "metadata")
    for old in metadata.findall(f"{{{NAMESPACE}}}owner"):
        metadata.remove(old)
    add_owner(metadata, owner)
    return ET.tostring(root, encoding="unicode")
