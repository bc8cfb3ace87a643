"""Golden documents: each golden/NAME.json (inputs) must build exactly golden/NAME.xml.

Rewrite the .xml files after an intended change with

    KVMSTATE_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/provider/test_golden.py

and review the diff. The same cases check that parsing the document gives back
the desired attributes.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate.provider import Owner
from kvmstate_libvirt import domain, network, pool, schema, volume

from provider_helpers import MODELS, prune, shown

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("KVMSTATE_REGENERATE_GOLDEN") == "1"
CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))


def load(name: str) -> dict:
    case = json.loads((GOLDEN / f"{name}.json").read_text())
    case["spec"] = MODELS[case["type"]].model_validate(case["attributes"])
    case["owner"] = Owner(**case["owner"]) if case.get("owner") else None
    return case


def build(case: dict) -> str:
    name, spec, owner = case["name"], case["spec"], case["owner"]
    if case["type"] == "network":
        return network.to_xml(name, spec, owner, uuid=case.get("uuid"))
    if case["type"] == "pool":
        return pool.to_xml(name, spec)
    if case["type"] == "volume":
        return volume.to_xml(name, spec.capacity, spec.format, tuple(case["backing"]) if "backing" in case else None)
    volumes = {k.removeprefix("volume."): schema.Volume.model_validate(v) for k, v in case["dependencies"].items()}
    return domain.to_xml(name, spec, volumes, owner, uuid=case.get("uuid"), macs=case.get("macs"),
                         seed_pool=case.get("seed_pool"))


def parse(case: dict, xml: str) -> dict:
    attrs = case["spec"].model_dump(mode="json", exclude_none=True)
    if case["type"] in ("network", "pool"):
        return {"network": network, "pool": pool}[case["type"]].from_xml(xml, active=attrs["active"], autostart=attrs["autostart"])
    if case["type"] == "volume":
        return volume.from_xml(xml, pool=attrs["pool"])
    live = domain.from_xml(xml, autostart=attrs["autostart"], power=attrs["power"])
    return domain.in_desired_form(live, attrs, {})  # MACs are written in lower case


def test_there_are_cases_for_every_type():
    # A cloudinit's document is an ISO, not XML: tests/provider/test_storage.py checks it.
    assert {load(name)["type"] for name in CASES} == set(MODELS) - {"cloudinit"}


@pytest.mark.parametrize("name", CASES)
def test_golden_document(name):
    case = load(name)
    xml = build(case)
    expected = GOLDEN / f"{name}.xml"
    if REGENERATE:
        expected.write_text(xml)
    assert expected.exists(), f"no {expected.name}: run with KVMSTATE_REGENERATE_GOLDEN=1 and review it"
    assert xml == expected.read_text()


@pytest.mark.parametrize("name", CASES)
def test_document_parses_back_to_the_attributes(name):
    case = load(name)
    want = shown(case["type"], case["spec"].model_dump(mode="json", exclude_none=True))
    got = parse(case, build(case))
    assert prune(got, want) == want
    assert set(got) == set(want)


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
