"""`adopt` (behind `kvmstate import`) on the test driver: the mark is added, nothing else changes."""

import xml.etree.ElementTree as ET

from kvmstate.provider import Owner

from provider_helpers import LINEAGE

OWNER = Owner(LINEAGE, "network.handmade")


def test_network_gets_the_mark(provider, conn):
    # (a running network's persistent definition is read only by a real libvirtd: tests/integration)
    conn.networkDefineXML("<network><name>handmade</name><ip address='10.7.0.1' prefix='24'/></network>")
    (live,) = provider.read("h1", ["network"])
    assert live.owner is None
    adopted = provider.adopt(live, OWNER)
    assert adopted.owner == OWNER and adopted.identity == live.identity and adopted.attributes == live.attributes
    (again,) = provider.read("h1", ["network"])
    assert again.owner == OWNER and again.attributes == live.attributes


def test_domain_gets_the_mark_and_keeps_its_definition(provider, conn):
    dom = conn.defineXML("<domain type='test'><name>vm1</name><memory>65536</memory><os><type>hvm</type></os>"
                         "</domain>")
    live = next(d for d in provider.read("h1", ["domain"]) if d.name == "vm1")
    owner = Owner(LINEAGE, "domain.vm1")
    adopted = provider.adopt(live, owner)
    assert adopted.owner == owner and adopted.attributes == live.attributes
    mark = ET.fromstring(dom.XMLDesc(0)).find("metadata/{https://kvmstate.dev/xmlns/owner/1}owner")
    assert mark is not None and mark.get("address") == "domain.vm1"
