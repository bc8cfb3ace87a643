"""XML patches on a real libvirtd: a stopped domain applied with patches, the definition libvirt keeps shows
them, the second plan is empty, a change made behind kvmstate's back in a patched part is drift, and apply
puts it back (restart class: the definition is rewritten)."""

from __future__ import annotations

import json
import subprocess
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


def test_added_element_is_defined_and_a_schema_invalid_patch_fails_at_plan_time(tmp_path: Path, conn) -> None:
    folder = tmp_path / "add"
    folder.mkdir()
    patches = [{"xpath": "/domain/devices", "add": "<panic model='isa'/>"}]
    doc = {"domains": {"panicky": {"name": "xp-add", "type": "qemu", "machine": "pc", "memory": "128MiB",
                                   "power": "stopped", "xml_patches": patches}}}
    (folder / "main.yaml").write_text(json.dumps(doc, indent=2))
    cli = Cli(folder)
    try:
        cli("apply", "--auto-approve")
        dumped = ET.fromstring(subprocess.run(["virsh", "dumpxml", "--inactive", "xp-add"], capture_output=True,
                                              text=True, check=True).stdout)
        assert [p.get("model") for p in dumped.findall("devices/panic")] == ["isa"]
        assert exit_code(cli) == 0

        doc["domains"]["panicky"]["xml_patches"] = patches + [{"xpath": "/domain/devices",
                                                                "add": "<panic modle='isa'/>"}]
        (folder / "main.yaml").write_text(json.dumps(doc, indent=2))
        lines = (folder / "main.yaml").read_text().splitlines()
        line = next(i for i, text in enumerate(lines, 1) if "modle" in text) - 2      # the patch's `{`
        result = cli("plan", check=1)
        assert f"main.yaml line {line}" in result.stderr, result.stderr
        assert "xml_patches[1]" in result.stderr and "domain.rng" in result.stderr, result.stderr
        assert [p.get("model") for p in defined_as(conn, "xp-add").findall("devices/panic")] == ["isa"]
    finally:
        cli("destroy", "--auto-approve", "--shutdown-timeout", "2", check=None)
    assert "xp-add" not in [d.name() for d in conn.listAllDomains()]


def defined_as(conn, name: str) -> ET.Element:
    return ET.fromstring(conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
