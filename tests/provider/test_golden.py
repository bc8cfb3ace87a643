"""Golden documents: each golden/NAME.json (inputs) must build exactly golden/NAME.xml.

Rewrite the .xml files after an intended change with

    .venv/bin/python -m pytest tests/provider/test_golden.py --regenerate

and review the diff. The same cases check that parsing the document gives back
the desired attributes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate.provider import Owner
from kvmstate_libvirt import schema
from kvmstate_libvirt.types.domain import in_desired_form
from kvmstate_libvirt.xml import domain, network, patches, pool, snapshot, volume

from provider_helpers import MODELS, prune, shown

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))


def load(name: str) -> dict:
    case = json.loads((GOLDEN / f"{name}.json").read_text())
    case["spec"] = MODELS[case["type"]].model_validate(case["attributes"])
    case["owner"] = Owner(**case["owner"]) if case.get("owner") else None
    return case


DOCUMENTS = {"network": network, "pool": pool, "volume": volume, "domain": domain, "snapshot": snapshot}
OUTSIDE = {"network": ("active", "autostart"), "pool": ("active", "autostart"), "volume": ("pool",),
           "domain": ("autostart", "power"), "snapshot": ("domain",)}      # attributes libvirt keeps outside the document


# Attributes a document always says something about (a domain has a guest agent channel or not): read even
# when unset, and then not compared.
ALWAYS_READ = {"domain": {"guest_agent", "rng", "video", "boot_menu", "boot_order", "filesystems", "secure_boot",
                          "inputs", "hostdevs", "memory_backing"},
               "pool": {"path"},       # a logical, iscsi or disk pool's default target path
               "snapshot": {"memory"}}  # an external snapshot saved the memory or not


def build(case: dict) -> str:
    """The document of a case: `to_xml(spec, name, **known)`, with what each type's provider resolves."""
    known = {key: case[key] for key in ("owner", "uuid", "macs", "seed_pool", "pool_type", "overlays", "others",
                                        "memory_file") if case.get(key) is not None}
    if "backing" in case:
        known["backing"] = tuple(case["backing"])
    if case["type"] == "domain":
        known["volumes"] = {k.removeprefix("volume."): schema.Volume.model_validate(v)
                            for k, v in case["dependencies"].items()}
    return DOCUMENTS[case["type"]].to_xml(case["spec"], case["name"], **known)


def parse(case: dict, xml: str) -> dict:
    """The attributes read back: `from_xml(xml, **outside)`."""
    attrs = case["spec"].model_dump(mode="json", exclude_none=True)
    got = DOCUMENTS[case["type"]].from_xml(xml, **{key: attrs[key] for key in OUTSIDE[case["type"]]})
    if attrs.get("xml_patches"):        # read back by the types' normalize, for the desired patches
        got["xml_patches"] = patches.read_back(ET.fromstring(xml), attrs["xml_patches"])
    return in_desired_form(got, attrs, {}) if case["type"] == "domain" else got   # MACs are written in lower case


def test_there_are_cases_for_every_type():
    # A cloudinit's document is an ISO, not XML: tests/provider/test_storage.py checks it.
    assert {load(name)["type"] for name in CASES} == set(MODELS) - {"cloudinit"}


@pytest.mark.parametrize("name", CASES)
def test_golden_document(name, golden):
    golden(GOLDEN / f"{name}.xml", build(load(name)))


@pytest.mark.parametrize("name", CASES)
def test_document_parses_back_to_the_attributes(name):
    case = load(name)
    want = shown(case["type"], case["spec"].model_dump(mode="json", exclude_none=True))
    got = parse(case, build(case))
    assert prune(got, want) == want
    assert set(got) - ALWAYS_READ.get(case["type"], set()) == set(want) - ALWAYS_READ.get(case["type"], set())


def test_injection_prone_values_stay_text():
    case = load("domain-injection")
    xml = build(case)
    root = ET.fromstring(xml)
    assert root.findtext("name") == case["name"]
    assert root.findtext("description") == case["attributes"]["description"]
    mark = root.find("metadata/{https://kvmstate.dev/xmlns/owner/1}owner")
    assert mark.get("address") == case["owner"].address
    assert [el.tag for el in root.iter() if "evil" in el.tag] == []
    assert "]]>" not in xml and "]]&gt;" in xml
