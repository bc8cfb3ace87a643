"""Snapshots on the test driver: create, read in bulk, the description redefined in place, revert, delete,
and the plan-time check of what an internal snapshot needs (qcow2 disks; no running UEFI domain)."""

import xml.etree.ElementTree as ET

import libvirt
import pytest

from kvmstate.provider import ProviderError

from provider_helpers import compared, desired, request

VOLUMES = {"volume.root": desired("volume", pool="images", capacity="1GiB", format="qcow2"),
           "volume.data": desired("volume", pool="images", capacity="1GiB", format="raw")}


def domain(**changes):
    return desired("domain", **{"type": "qemu", "memory": "128MiB", "disks": [{"volume": "root"}], **changes})


def snapshot(name: str, **attrs):
    want = desired("snapshot", domain="web", **attrs)
    return want, request("snapshot", name, want, {"domain.web": domain(), **VOLUMES})


@pytest.fixture
def web(provider, conn):
    provider.create(request("domain", "web", domain(), VOLUMES))
    return conn.lookupByName("web")


def test_create_read_update_revert_delete(provider, conn, web):
    want, req = snapshot("before", description="before the upgrade")
    created = provider.create(req)
    provider.create(snapshot("after")[1])
    live = {o.name: o for o in provider.read("h1", ["snapshot"])}
    assert sorted(live) == ["after", "before"]
    assert live["before"].identity == created.identity and created.identity.startswith(web.UUIDString() + "/")
    assert compared(provider, live["before"], want) == {"domain": "web", "kind": "internal",
                                                        "description": "before the upgrade"}

    want["description"] = "kept"
    updated = provider.update(snapshot("before", description="kept")[1], live["before"], ["description"], False)
    assert updated.identity == created.identity       # the same snapshot, redefined
    assert web.snapshotLookupByName("before").getXMLDesc(0).count("<description>kept</description>") == 1

    web.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "later", None, None, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    provider.revert(live["before"])
    assert web.snapshotCurrent(0).getName() == "before"
    assert ET.fromstring(web.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).find("title") is None

    provider.delete("snapshot", "h1", "before", created.identity)
    provider.delete("snapshot", "h1", "before", created.identity)       # gone already: not an error
    assert [s.getName() for s in web.listAllSnapshots(0)] == ["after"]


def test_a_snapshot_made_again_under_the_name_is_not_the_recorded_one(provider, web):
    first = provider.create(snapshot("before")[1])
    xml = web.snapshotLookupByName("before").getXMLDesc(0)
    web.snapshotLookupByName("before").delete(0)
    root = ET.fromstring(xml)
    root.find("creationTime").text = "1"             # another snapshot of the same name, made at another time
    web.snapshotCreateXML(ET.tostring(root, encoding="unicode"), libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
    (other,) = provider.read("h1", ["snapshot"])
    assert other.identity != first.identity
    provider.delete("snapshot", "h1", "before", first.identity)            # not the recorded one: left alone
    assert [s.getName() for s in web.listAllSnapshots(0)] == ["before"]
    with pytest.raises(ProviderError, match="cannot revert to a domain"):
        provider.revert(provider.read("h1", ["domain"])[0])


def test_check_refuses_raw_disks_and_running_uefi_domains(provider, web):
    _, plain = snapshot("before")
    assert provider.check(plain, None) == []
    raw = request("snapshot", "before", desired("snapshot", domain="web"),
                  {"domain.web": domain(disks=[{"volume": "root"}, {"volume": "data"}]), **VOLUMES})
    (problem,) = provider.check(raw, None)
    assert problem.path == "kind" and "disk data is raw" in problem.message
    by_path = request("snapshot", "before", desired("snapshot", domain="web"),
                      {"domain.web": domain(disks=[{"volume": "root"}, {"file": "/srv/x.img"}]), **VOLUMES})
    (problem,) = provider.check(by_path, None)
    assert problem.path == "kind" and "disk /srv/x.img is raw" in problem.message
    uefi = request("snapshot", "before", desired("snapshot", domain="web"),
                   {"domain.web": domain(firmware="uefi"), **VOLUMES})
    (problem,) = provider.check(uefi, None)
    assert problem.path == "kind" and "running UEFI domain" in problem.message
    stopped = request("snapshot", "before", desired("snapshot", domain="web"),
                      {"domain.web": domain(firmware="uefi", power="stopped"), **VOLUMES})
    assert provider.check(stopped, None) == []


def test_a_domain_with_snapshots_can_be_deleted(provider, conn, web):
    """A replaced domain goes before its snapshots are replaced: its snapshots' metadata goes with it."""
    provider.create(snapshot("before")[1])
    (dom,) = provider.read("h1", ["domain"])
    provider.delete("domain", "h1", "web", dom.identity)
    assert conn.listAllDomains() == [] and provider.read("h1", ["snapshot"]) == []
