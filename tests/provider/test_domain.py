"""Domains on the test driver: create, read back, normalisation, live and restart updates, delete."""

import xml.etree.ElementTree as ET

import libvirt
import pytest

from kvmstate.provider import LiveObject, Owner, ProviderError
from kvmstate_libvirt import capabilities
from kvmstate_libvirt.connection import Host

from provider_helpers import LINEAGE, compared, desired, request, shown

VOLUMES = {
    "volume.root": desired("volume", pool="images", capacity="10GiB", format="qcow2"),
    "volume.data": desired("volume", pool="images", capacity="1GiB", format="raw"),
    "volume.logs": desired("volume", pool="fast", capacity="1GiB", format="raw"),
}


def web(**changes):
    attrs = dict(type="qemu", vcpu=2, memory="1GiB", machine="pc",
                 disks=[{"volume": "root"}, {"volume": "data", "bus": "scsi"}, {"volume": "logs", "bus": "sata"}],
                 interfaces=[{"network": "lab", "mac": "52:54:00:AA:BB:CC"}, {"network": "lab", "model": "e1000"}],
                 description="web server", autostart=True)
    attrs.update(changes)
    return desired("domain", **attrs)


def devices(conn, name):
    root = ET.fromstring(conn.lookupByName(name).XMLDesc())
    disks = [(d.find("source").get("pool"), d.find("source").get("volume"), d.find("driver").get("type"),
              d.find("target").get("dev"), d.find("target").get("bus")) for d in root.findall("devices/disk")]
    nics = [(i.find("source").get("network"), i.find("mac").get("address"), i.find("model").get("type"))
            for i in root.findall("devices/interface")]
    return root, disks, nics


def test_create_reads_back_as_desired(provider, conn):
    want = web()
    created = provider.create(request("domain", "web", want, VOLUMES))

    (live,) = provider.read("h1", ["domain"])
    assert (live.name, live.identity) == ("web", created.identity)
    assert live.owner == Owner(LINEAGE, "domain.web")
    assert compared(provider, live, want) == shown("domain", want)
    dom = conn.lookupByName("web")
    assert dom.isActive() and dom.autostart()
    root, disks, nics = devices(conn, "web")
    assert disks == [("images", "root", "qcow2", "vda", "virtio"), ("images", "data", "raw", "sda", "scsi"),
                     ("fast", "logs", "raw", "sdb", "sata")]
    assert [c.get("model") for c in root.findall("devices/controller[@type='scsi']")] == ["virtio-scsi"]
    assert nics[0] == ("lab", "52:54:00:aa:bb:cc", "virtio")
    assert nics[1][0] == "lab" and nics[1][2] == "e1000" and nics[1][1].startswith("52:54:00:")
    assert root.find("memory").text == str(1024 * 1024) and root.findtext("vcpu") == "2"
    assert root.findtext("description") == "web server"


def test_stopped_domain_is_not_started(provider, conn):
    provider.create(request("domain", "off", desired("domain", type="qemu", power="stopped")))
    (live,) = provider.read("h1", ["domain"])
    assert live.attributes["power"] == "stopped"
    assert not conn.lookupByName("off").isActive()


def test_missing_volume_dependency_is_an_error(provider, conn):
    with pytest.raises(ProviderError, match="disks.0..volume. refers to was not given"):
        provider.create(request("domain", "web", web(), {}))
    assert conn.listAllDomains() == []


def test_live_updates(provider, conn):
    created = provider.create(request("domain", "web", web(), VOLUMES))
    want = web(description="<new> & \"quoted\" ]]>", autostart=False, power="stopped")

    updated = provider.update(request("domain", "web", want, VOLUMES), created,
                              ["description", "autostart", "power"], restart=False)

    assert updated.identity == created.identity
    assert compared(provider, updated, want) == shown("domain", want)
    dom = conn.lookupByName("web")
    assert not dom.isActive() and not dom.autostart()
    assert ET.fromstring(dom.XMLDesc()).findtext("description") == "<new> & \"quoted\" ]]>"

    again = provider.update(request("domain", "web", web(), VOLUMES), updated, ["power"], restart=False)
    assert again.attributes["power"] == "running" and dom.isActive()


def test_description_removed(provider, conn):
    created = provider.create(request("domain", "web", web(), VOLUMES))
    want = web(description=None)
    updated = provider.update(request("domain", "web", want, VOLUMES), created, ["description"], restart=False)
    assert "description" not in updated.attributes
    assert ET.fromstring(conn.lookupByName("web").XMLDesc()).find("description") is None


def test_restart_update_keeps_uuid_and_generated_macs(provider, conn):
    created = provider.create(request("domain", "web", web(), VOLUMES))
    generated = created.attributes["interfaces"][1]["mac"]
    want = web(memory="2GiB", vcpu=4, disks=[{"volume": "root"}],
               interfaces=[{"network": "lab", "mac": "52:54:00:aa:bb:cc"}, {"network": "lab", "model": "e1000"},
                           {"network": "other"}])

    updated = provider.update(request("domain", "web", want, VOLUMES), created,
                              ["memory", "vcpu", "disks", "interfaces.2"], restart=True)

    assert updated.identity == created.identity and updated.owner == created.owner
    assert compared(provider, updated, want) == shown("domain", want)
    assert updated.attributes["interfaces"][1]["mac"] == generated
    assert conn.lookupByName("web").isActive()
    _, disks, nics = devices(conn, "web")
    assert disks == [("images", "root", "qcow2", "vda", "virtio")]
    assert [n[0] for n in nics] == ["lab", "lab", "other"]


def test_delete_leaves_nothing(provider, conn):
    created = provider.create(request("domain", "web", web(), VOLUMES))
    provider.delete("domain", "h1", "web", created.identity)
    assert conn.listAllDomains() == []
    provider.delete("domain", "h1", "web", created.identity)
    assert provider.read("h1", ["domain"]) == []


CAPS = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
  <guest><os_type>hvm</os_type>
    <arch name='x86_64'>
      <machine maxCpus='255'>pc-i440fx-7.2</machine>
      <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>
      <machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine>
      <domain type='qemu'/>
      <domain type='kvm'><machine canonical='pc-q35-8.0'>q35</machine></domain>
    </arch>
  </guest></capabilities>"""


def test_machine_aliases_from_capabilities():
    host = Host("h1", None, 0, {"caps": ET.fromstring(CAPS)})
    assert capabilities.machine_aliases(host, "qemu") == {"pc": {"pc-i440fx-7.2"}, "q35": {"pc-q35-7.2"}}
    assert capabilities.machine_aliases(host, "kvm")["q35"] == {"pc-q35-7.2", "pc-q35-8.0"}


@pytest.mark.parametrize("want, have, seen", [
    ("pc", "pc-i440fx-7.2", "pc"),               # alias of the canonical type: same meaning
    ("q35", "pc-i440fx-7.2", "pc-i440fx-7.2"),   # a different machine: left for the diff
    ("pc-q35-7.2", "pc-q35-7.2", "pc-q35-7.2"),
])
def test_normalize_machine_and_mac(provider, want, have, seen):
    provider.connections.get("h1").cache["caps"] = ET.fromstring(CAPS)     # the one cache of capabilities
    live = LiveObject("domain", "web", "h1", "u", {
        "type": "qemu", "machine": have, "power": "running",
        "interfaces": [{"network": "lab", "mac": "52:54:00:aa:bb:cc"}, {"network": "lab", "mac": "52:54:00:00:00:01"}]})
    wanted = {"machine": want, "interfaces": [{"network": "lab", "mac": "52:54:00:AA:BB:CC"},
                                              {"network": "lab", "mac": "52:54:00:00:00:02"}]}
    got = provider.normalize(live, wanted)
    assert got["machine"] == seen
    assert [i["mac"] for i in got["interfaces"]] == ["52:54:00:AA:BB:CC", "52:54:00:00:00:01"]
    assert got["power"] == "running"                         # keys the user did not set are kept
    assert live.attributes["interfaces"][0]["mac"] == "52:54:00:aa:bb:cc"   # live is not modified


def test_undefine_flags(provider, conn, monkeypatch):
    """NVRAM, managed save and snapshot metadata go with the domain; a driver refusing the NVRAM flag still
    undefines."""
    created = provider.create(request("domain", "web", web(power="stopped"), VOLUMES))
    seen = []
    original = libvirt.virDomain.undefineFlags

    def record(self, flags=0):
        seen.append(flags)
        return original(self, flags)
    monkeypatch.setattr(libvirt.virDomain, "undefineFlags", record)
    provider.delete("domain", "h1", "web", created.identity)
    kept = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    assert seen == [libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | kept, kept]
    assert conn.listAllDomains() == []


def test_devices_the_xml_leaves_out_read_as_off():
    from kvmstate_libvirt.schema import Domain
    from kvmstate_libvirt.types.domain import in_desired_form
    from kvmstate_libvirt.xml import domain as document
    xml = document.to_xml(Domain(type="qemu", machine="pc"), "bare", volumes={})
    live = document.from_xml(xml, autostart=False, power="running")
    assert "usb_redirects" not in live and "memory_backing" not in live
    want = {"usb_redirects": 0, "memory_backing": {"shared": False, "hugepages": True}, "interfaces": []}
    seen = in_desired_form(live, want, {})
    assert seen["usb_redirects"] == 0 and seen["memory_backing"] == {"shared": False, "hugepages": False}
