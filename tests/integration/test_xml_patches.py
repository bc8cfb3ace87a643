"""XML patches on a real libvirtd: a stopped domain applied with patches, the definition libvirt keeps shows
them, the second plan is empty, a change made behind kvmstate's back in a patched part is drift, and apply
puts it back (restart class: the definition is rewritten)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd

PATCHES = [{"xpath": "/domain/memoryBacking/nosharepages", "set": ""},
           {"xpath": "/domain/features/pmu/@state", "set": "off"}]


@pytest.fixture
def patched(tmp_path: Path, conn):
    folder = tmp_path / "patches"
    folder.mkdir()
    doc = {"domains": {"xp-guest": {"type": "qemu", "machine": "pc", "memory": "128MiB", "power": "stopped",
                                    "xml_patches": PATCHES}}}
    (folder / "main.yaml").write_text(json.dumps(doc, indent=2))
    cli = Cli(folder)
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "2", check=None)
    assert "xp-guest" not in [d.name() for d in conn.listAllDomains()]


def defined(conn) -> ET.Element:
    return ET.fromstring(conn.lookupByName("xp-guest").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


def exit_code(cli: Cli) -> int:
    return cli("plan", "--detailed-exitcode", check=None).returncode


def test_patched_domain_applies_plans_empty_and_shows_drift(patched, conn) -> None:
    patched("apply", "--auto-approve")
    root = defined(conn)
    assert root.find("memoryBacking/nosharepages") is not None
    assert root.find("features/pmu").get("state") == "off"
    assert exit_code(patched) == 0

    root.find("features/pmu").set("state", "on")          # behind kvmstate's back
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    assert exit_code(patched) == 2
    plan = patched("plan").stdout
    assert "xml_patches" in plan and "requires restart" in plan, plan

    patched("apply", "--auto-approve")
    assert defined(conn).find("features/pmu").get("state") == "off"
    assert exit_code(patched) == 0
