"""XML patches (the escape hatch): xpaths checked at plan time, applied after rendering, read back for drift."""

import xml.etree.ElementTree as ET

import pytest
from pydantic import ValidationError

from kvmstate.provider import ProviderError
from kvmstate_libvirt import schema
from kvmstate_libvirt.xml import domain, patches

from provider_helpers import compared, desired, request

NOSHARE = {"xpath": "/domain/memoryBacking/nosharepages", "set": ""}
PMU = {"xpath": "/domain/features/pmu/@state", "set": "off"}


@pytest.mark.parametrize("xpath, message", [
    ("domain/memoryBacking", "must be an absolute path"),
    ("//disk", "must be an absolute path"),
    ("/domain/devices/disk[", "ElementTree's XPath subset"),
    ("/domain/devices/disk[@bus=virtio]", "ElementTree's XPath subset"),
    ("/domain/(features)", "ElementTree's XPath subset"),
    ("/domain/features pmu", "no spaces"),
    ("/domain/devices/../name", "no '..'"),
    ("/domain/features/@pmu/state", "the last step"),
    ("/domain/features/@", "the last step"),
    ("/domain/@type", "selects the root element"),
    ("/network/bridge/@stp", "must start with /domain/"),
])
def test_bad_xpath_is_refused_at_its_place(xpath, message):
    with pytest.raises(ValidationError) as err:
        schema.Domain.model_validate({"xml_patches": [NOSHARE, {"xpath": xpath, "set": "x"}]})
    (error,) = err.value.errors()
    assert message in error["msg"]
    assert error["loc"] in (("xml_patches", 1, "xpath"), ("xml_patches",))


@pytest.mark.parametrize("patch", [{"xpath": "/domain/a"}, {"xpath": "/domain/a", "set": "1", "remove": True},
                                   {"xpath": "/domain/a", "remove": False}])
def test_a_patch_sets_or_removes(patch):
    with pytest.raises(ValidationError, match="exactly one of `set`, `remove = true` and `add`"):
        schema.Domain.model_validate({"xml_patches": [patch]})


def test_predicates_and_descendants_are_accepted():
    spec = schema.Network.model_validate({"mode": "isolated", "xml_patches": [
        {"xpath": "/network/ip[@family='ipv4']/dhcp/range[1]/@end", "set": "10.0.0.9"},
        {"xpath": "/network//host", "remove": True}]})
    assert len(spec.xml_patches) == 2


def test_apply_sets_creates_and_removes():
    root = ET.fromstring("<domain><devices><disk device='disk'/><disk device='cdrom'/></devices>"
                         "<features><acpi/><apic/></features></domain>")
    spec = schema.Domain.model_validate({"xml_patches": [
        NOSHARE, PMU, {"xpath": "/domain/devices/disk/@snapshot", "set": "no"},
        {"xpath": "/domain/devices/disk[@device='cdrom']", "remove": True},
        {"xpath": "/domain/features/apic", "remove": True}]})
    patches.apply(root, spec.xml_patches)
    assert root.find("memoryBacking/nosharepages") is not None
    assert root.find("features/pmu").get("state") == "off"
    assert [d.get("device") for d in root.findall("devices/disk")] == ["disk"]
    assert root.find("devices/disk").get("snapshot") == "no"
    assert root.find("features/apic") is None
    assert patches.read_back(root, [p.model_dump(exclude_none=True) for p in spec.xml_patches]) == \
        [p.model_dump(exclude_none=True) for p in spec.xml_patches]


def test_a_missing_path_with_predicates_cannot_be_created():
    spec = schema.Domain.model_validate({"xml_patches": [{"xpath": "/domain/devices/disk[@device='x']/@a",
                                                          "set": "1"}]})
    with pytest.raises(ProviderError, match="only a simple path"):
        patches.apply(ET.fromstring("<domain><devices/></domain>"), spec.xml_patches)


def test_patches_win_over_kvmstate_values():
    spec = schema.Domain.model_validate({"type": "qemu", "xml_patches": [
        {"xpath": "/domain/devices/serial/@type", "set": "null"}]})
    root = ET.fromstring(domain.to_xml(spec, "d", volumes={}))
    assert root.find("devices/serial").get("type") == "null"


def test_domain_drift_in_patched_parts_is_seen(provider, conn):
    want = desired("domain", type="qemu", power="stopped", xml_patches=[NOSHARE, PMU])
    provider.create(request("domain", "patched", want))
    (live,) = provider.read("h1", ["domain"])
    assert compared(provider, live, want) == want            # the second plan is empty

    root = ET.fromstring(conn.lookupByName("patched").XMLDesc())
    root.find("features/pmu").set("state", "on")              # changed behind kvmstate's back
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    (live,) = provider.read("h1", ["domain"])
    assert compared(provider, live, want)["xml_patches"] == [NOSHARE, {**PMU, "set": "on"}]

    root.find("features").remove(root.find("features/pmu"))   # and then removed
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    (live,) = provider.read("h1", ["domain"])
    assert compared(provider, live, want)["xml_patches"] == [NOSHARE, {**PMU, "set": None}]

    provider.update(request("domain", "patched", want), live, ["xml_patches[1].set"], restart=True)
    (live,) = provider.read("h1", ["domain"])
    assert compared(provider, live, want) == want


def test_a_removed_node_coming_back_is_drift(provider, conn):
    gone = {"xpath": "/domain/features/apic", "remove": True}
    want = desired("domain", type="qemu", power="stopped", xml_patches=[gone])
    provider.create(request("domain", "bare", want))
    assert ET.fromstring(conn.lookupByName("bare").XMLDesc()).find("features/apic") is None
    (live,) = provider.read("h1", ["domain"])
    assert compared(provider, live, want) == want

    root = ET.fromstring(conn.lookupByName("bare").XMLDesc())
    ET.SubElement(root.find("features"), "apic")
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    (live,) = provider.read("h1", ["domain"])
    assert compared(provider, live, want)["xml_patches"] == [{"xpath": gone["xpath"], "remove": False}]


def test_network_patches_apply_and_drift(provider, conn):
    port = {"xpath": "/network/forward/nat/port/@start", "set": "20000"}
    end = {"xpath": "/network/forward/nat/port/@end", "set": "39999"}
    want = desired("network", mode="nat", ipv4="192.168.161.0/24", xml_patches=[port, end])
    provider.create(request("network", "pn", want))
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want) == want

    net = conn.networkLookupByName("pn")
    root = ET.fromstring(net.XMLDesc())
    root.find("forward/nat/port").set("start", "30000")
    net.destroy()
    conn.networkDefineXML(ET.tostring(root, encoding="unicode"))
    conn.networkLookupByName("pn").create()
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want)["xml_patches"] == [{**port, "set": "30000"}, end]

    provider.update(request("network", "pn", want), live, ["xml_patches[0].set"], restart=True)
    (live,) = provider.read("h1", ["network"])
    assert compared(provider, live, want) == want


def test_hcl_xml_patch_blocks_fill_the_list():
    from kvmstate.config.hcl_file import read_hcl
    from kvmstate.diagnostics import Diagnostics

    text = ('domain "db" {\n  xml_patch {\n    xpath = "/domain/features/pmu/@state"\n    set = "off"\n  }\n'
            '  xml_patch {\n    xpath = "/domain/devices/memballoon"\n    remove = true\n  }\n}\n')
    diags = Diagnostics()
    (raw,) = read_hcl("main.kvs.hcl", text, {"domain": schema.Domain}, diags)
    assert raw.body["xml_patches"] == [{"xpath": "/domain/features/pmu/@state", "set": "off"},
                                       {"xpath": "/domain/devices/memballoon", "remove": True}]


PANIC = {"xpath": "/domain/devices", "add": "<panic model='isa'/>"}


@pytest.mark.parametrize("patch, message", [
    ({"xpath": "/domain/devices", "add": "<panic"}, "one well-formed XML element"),
    ({"xpath": "/domain/devices", "add": "<a/><b/>"}, "one well-formed XML element"),
    ({"xpath": "/domain/features/@x", "add": "<a/>"}, "cannot end in an attribute"),
    ({"xpath": "/domain/devices", "add": "<a/>", "remove": True}, "exactly one of"),
])
def test_a_bad_add_is_refused(patch, message):
    with pytest.raises(ValidationError, match=message):
        schema.Domain.model_validate({"xml_patches": [patch]})


def test_add_appends_once_and_reads_back_what_libvirt_expanded():
    root = ET.fromstring("<domain><devices><disk/></devices></domain>")
    spec = schema.Domain.model_validate({"xml_patches": [PANIC, {"xpath": "/domain/clock/timer",
                                                                "add": "<x name='rtc'><y/></x>"}]})
    patches.apply(root, spec.xml_patches)
    patches.apply(root, spec.xml_patches)                       # idempotent: the element is there already
    assert [el.get("model") for el in root.findall("devices/panic")] == ["isa"]
    assert root.find("clock/timer/x/y") is not None              # created along a simple path
    wanted = [p.model_dump(exclude_none=True) for p in spec.xml_patches]
    root.find("devices/panic").append(ET.Element("address", type="isa", iobase="0x505"))   # libvirt's additions
    assert patches.read_back(root, wanted) == wanted
    root.find("devices").remove(root.find("devices/panic"))
    assert patches.read_back(root, wanted)[0] == {"xpath": "/domain/devices", "add": None}


def test_schema_invalid_patches_are_problems_at_their_index(provider):
    want = desired("domain", type="qemu", power="stopped",
                   xml_patches=[NOSHARE, {"xpath": "/domain/devices", "add": "<bogus-device/>"}])
    (problem,) = provider.check(request("domain", "bad", want), None)
    assert problem.path == "xml_patches[1]" and "does not follow libvirt's schema (domain.rng)" in problem.message
    good = desired("domain", type="qemu", power="stopped", xml_patches=[NOSHARE, PANIC])
    assert provider.check(request("domain", "good", good), None) == []
    net = desired("network", mode="nat", ipv4="192.168.162.0/24",
                  xml_patches=[{"xpath": "/network/forward/@mode", "set": "sideways"}])
    (problem,) = provider.check(request("network", "n", net), None)
    assert problem.path == "xml_patches[0]" and "network.rng" in problem.message
