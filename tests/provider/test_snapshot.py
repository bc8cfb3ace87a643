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


@pytest.mark.parametrize("power, snap, refused_at", [
    ("running", {}, "kind"), ("stopped", {}, None),
    ("running", {"kind": "external", "memory": True}, "memory"), ("running", {"kind": "external"}, None)])
def test_check_refuses_the_memory_of_a_running_domain_with_virtiofs_shares(provider, web, power, snap, refused_at):
    """QEMU cannot save a vhost-user-fs device's state: the plan passed and the snapshot failed at apply."""
    shares = [{"source": "/srv/share", "target": "share"}]
    req = request("snapshot", "before", desired("snapshot", domain="web", **snap),
                  {"domain.web": domain(filesystems=shares, power=power), **VOLUMES})
    assert [p.path for p in provider.check(req, None) if "virtiofs" in p.message] == \
        ([refused_at] if refused_at else [])


def test_a_domain_with_snapshots_can_be_deleted(provider, conn, web):
    """A replaced domain goes before its snapshots are replaced: its snapshots' metadata goes with it."""
    provider.create(snapshot("before")[1])
    (dom,) = provider.read("h1", ["domain"])
    provider.delete("domain", "h1", "web", dom.identity)
    assert conn.listAllDomains() == [] and provider.read("h1", ["snapshot"]) == []


def test_check_of_an_external_snapshot(provider, web):
    """An external snapshot needs volumes in folder pools and a name that fits in a file name."""
    want = desired("snapshot", domain="web", kind="external")
    assert provider.check(request("snapshot", "before", want, {"domain.web": domain(), **VOLUMES}), None) == []
    by_path = request("snapshot", "before", want,
                      {"domain.web": domain(disks=[{"volume": "root"}, {"file": "/srv/x.img"}]), **VOLUMES})
    (problem,) = provider.check(by_path, None)
    assert problem.path == "kind" and "disk /srv/x.img is attached by path" in problem.message
    (problem,) = provider.check(request("snapshot", "a/b", want, {"domain.web": domain(), **VOLUMES}), None)
    assert 'cannot contain "/"' in problem.message
    in_lvm = request("snapshot", "before", want, {"domain.web": domain(), "pool.images": desired(
        "pool", type="logical", source={"name": "vg0"}), **VOLUMES})
    (problem,) = provider.check(in_lvm, None)
    assert "volume root is in a logical pool" in problem.message


def test_memory_is_for_external_snapshots_of_running_domains(provider, web):
    def problems(domain_attrs: dict, **attrs):
        want = desired("snapshot", domain="web", **attrs)
        return provider.check(request("snapshot", "s", want, {"domain.web": domain_attrs, **VOLUMES}), None)

    assert problems(domain(), kind="external", memory=True) == []
    assert problems(domain(power="stopped"), kind="external", memory=False) == []
    (problem,) = problems(domain(), memory=True)
    assert problem.path == "memory" and "memory applies to external snapshots" in problem.message
    (problem,) = problems(domain(power="stopped"), kind="external", memory=True)
    assert problem.path == "memory" and 'web has power = "stopped"' in problem.message


def test_one_domain_keeps_one_kind_of_snapshot(provider, web):
    provider.create(snapshot("inside")[1])
    (problem,) = provider.check(snapshot("outside", kind="external")[1], None)
    assert problem.path == "kind" and "already has the internal snapshot inside" in problem.message


def test_two_planned_snapshots_of_one_domain_keep_one_kind(provider, web):
    """Two new snapshots of different kinds in one configuration are refused by the plan, not by libvirt at
    apply: the provider remembers the kinds it checked in this run."""
    assert provider.check(snapshot("first")[1], None) == []
    (problem,) = provider.check(snapshot("second", kind="external")[1], None)
    assert problem.path == "kind"
    assert "the configuration also gives domain web the internal snapshot first" in problem.message


def test_no_revert_to_an_external_snapshot(provider):
    (problem,) = provider.revert_problems("snapshot", {"domain": "web", "kind": "external"})
    assert problem.path == "kind" and "cannot revert a domain to an external snapshot" in problem.message
    assert provider.revert_problems("snapshot", {"domain": "web", "kind": "internal"}) == []
    assert provider.revert_problems("domain", {}) == []


POOL = """<pool type='dir'><name>images</name><target><path>/srv/images</path></target></pool>"""
VOLUME = """<volume><name>{name}</name><capacity>1048576</capacity>
  <target><format type='qcow2'/></target>{backing}</volume>"""


@pytest.fixture
def chains(conn):
    """Volumes in a folder pool: root <- root.later <- root.before (external snapshots' overlays), other <-
    root.stray (an overlay of another file), base <- web (a volume on a base image)."""
    pool = conn.storagePoolCreateXML(POOL, 0)
    for name, backing in (("root", None), ("other", None), ("root.later", "root"), ("root.before", "root.later"),
                          ("root.stray", "other"), ("base", None), ("web", "base")):
        store = f"<backingStore><path>/srv/images/{backing}</path><format type='qcow2'/></backingStore>" \
            if backing else ""
        pool.createXML(VOLUME.format(name=name, backing=store), 0)
    return pool


def on(live, *paths: str):
    """The live domain with its disks on these files."""
    live.attributes["disks"] = [{"volume": path.rsplit("/", 1)[1], "file": path, "bus": "virtio", "readonly": False,
                                 "shareable": False} for path in paths]
    return live


def test_a_disk_on_an_overlay_of_its_volume_reads_as_the_volume(provider, web, chains):
    """The chain of backing files decides: root.before -> root.later -> root reads as root; an overlay of
    another file, or one in another folder, does not."""
    (live,) = provider.read("h1", ["domain"])
    want = domain()
    assert provider.normalize(on(live, "/srv/images/root.before"), want)["disks"][0]["volume"] == "root"
    assert provider.normalize(on(live, "/srv/images/root.stray"), want)["disks"][0]["volume"] == "root.stray"
    assert provider.normalize(on(live, "/elsewhere/root.before"), want)["disks"][0]["volume"] == "root.before"


def test_a_disk_is_not_taken_off_a_snapshot_overlay(provider, web, chains):
    """Another volume, or no disk, where a disk runs on an external snapshot's overlay is refused at plan time;
    a volume on a base image is no snapshot overlay."""
    (live,) = provider.read("h1", ["domain"])
    vols = {**VOLUMES, "volume.web": desired("volume", pool="images", capacity="1GiB")}
    other = request("domain", "web", domain(disks=[{"volume": "web"}]), vols)
    (problem,) = provider.check(other, on(live, "/srv/images/root.before"))
    assert problem.path == "disks[0].volume" and "runs on root.before, the overlay of an external snapshot of " \
        "volume root" in problem.message
    none = request("domain", "web", domain(disks=[]), vols)
    (problem,) = provider.check(none, on(live, "/srv/images/root.before"))
    assert problem.path == "disks[0]"
    same = request("domain", "web", domain(), vols)
    assert provider.check(same, on(live, "/srv/images/root.before")) == []
    assert provider.check(request("domain", "web", domain(), vols), on(live, "/srv/images/web")) == []
