"""Helpers shared by the document modules: parsing once, deterministic serialisation and libvirt's units."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kvmstate.units import UNITS


def parse(xml: str | ET.Element) -> ET.Element:
    """A document's root; an already parsed root is passed through, so each document is parsed once."""
    return xml if isinstance(xml, ET.Element) else ET.fromstring(xml)


def render(root: ET.Element) -> str:
    """The element as indented text; ElementTree escapes every value and keeps insertion order."""
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a child with attributes in the given order and optional text."""
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def size_bytes(element: ET.Element | None, default_unit: str = "bytes") -> int | None:
    """Bytes of a libvirt scaled integer such as `<memory unit='KiB'>524288</memory>`."""
    if element is None or not (element.text or "").strip():
        return None
    unit = (element.get("unit") or default_unit).lower()
    return int(element.text.strip()) * UNITS[unit]
