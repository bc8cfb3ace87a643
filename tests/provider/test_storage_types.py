"""Pool types beyond dir, volume formats against their pool's type, clones, and disks by path: the provider on
libvirt's test driver (which defines every pool type without touching storage) and the models' own checks."""

from __future__ import annotations

import pydantic
import pytest

from kvmstate_libvirt import schema, storage

from provider_helpers import compared, desired, request

POOLS = {
    "logical": {"type": "logical", "source": {"devices": ["/dev/sdb"], "name": "vg0"}},
    "netfs": {"type": "netfs", "path": "/mnt/nfs", "source": {"host": "nas", "dir": "/export", "format": "nfs"}},
    "iscsi": {"type": "iscsi", "source": {"host": "192.0.2.10", "iqn": "iqn.2024-01.org.example:store"}},
    "disk": {"type": "disk", "source": {"devices": ["/dev/sdd"], "format": "gpt"}},
}


@pytest.mark.parametrize("kind", ["iscsi", "logical", "netfs"])   # the test driver cannot build a disk pool's label
def test_each_pool_type_is_defined_and_read_back_as_desired(provider, conn, kind):
    want = desired("pool", **POOLS[kind])
    live = provider.create(request("pool", f"p-{kind}", want))
    assert conn.storagePoolLookupByName(f"p-{kind}").XMLDesc(0).startswith(f"<pool type='{kind}'")
    assert compared(provider, live, want) == want
    (again,) = [p for p in provider.read("h1", ["pool"]) if p.name == f"p-{kind}"]
    assert compared(provider, again, want) == want


@pytest.mark.parametrize("attrs, message", [
    ({"type": "netfs", "path": "/mnt/x", "source": {"host": "nas"}}, "needs `source` with dir, host; missing: dir"),
    ({"type": "iscsi", "source": {"host": "san", "iqn": "iqn.2024-01.x:y", "dir": "/e"}}, "not dir"),
    ({"type": "logical", "source": {"format": "nfs"}}, "takes devices, name, not format"),
    ({"type": "disk", "source": {"devices": ["/dev/sda", "/dev/sdb"]}}, "exactly one block device"),
    ({"type": "disk", "source": {"devices": ["/dev/sda"], "format": "nfs"}}, "one of dos, gpt, not nfs"),
    ({"type": "dir"}, "a dir pool needs `path`"),
    ({"type": "netfs", "source": {"host": "nas", "dir": "/e"}}, "a netfs pool needs `path`"),
])
def test_a_source_that_does_not_fit_the_pool_type_is_refused(attrs, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        schema.Pool.model_validate(attrs)


LVM = {"pool.lvm": desired("pool", **POOLS["logical"])}


@pytest.mark.parametrize("attrs, path, message", [
    ({"capacity": "1GiB"}, "format", "raw logical volumes only, not qcow2"),
    ({"source": "https://example.org/x.img", "format": "raw"}, "source", "cannot have `source`"),
])
def test_a_logical_pool_holds_raw_volumes_only(provider, attrs, path, message):
    want = desired("volume", pool="lvm", **attrs)
    problems = provider.check(request("volume", "lv", want, LVM), None)
    assert [p.path for p in problems] == [path] and message in problems[0].message
    assert provider.check(request("volume", "lv", desired("volume", pool="lvm", capacity="1GiB", format="raw"),
                                  LVM), None) == []


@pytest.mark.parametrize("kind", ["iscsi", "disk"])
def test_no_volume_is_made_in_an_iscsi_or_disk_pool(provider, kind):
    deps = {"pool.san": desired("pool", **POOLS[kind])}
    (problem,) = provider.check(request("volume", "lun", desired("volume", pool="san", capacity="1GiB"), deps), None)
    assert problem.path == "pool" and f"no volumes in a {kind} pool" in problem.message and "`block`" in problem.message


@pytest.mark.parametrize("fmt", ["vmdk", "vdi", "qed", "vpc"])
def test_more_image_formats_are_created_and_read_back(provider, conn, tmp_path, fmt):
    provider.create(request("pool", "images", desired("pool", path=str(tmp_path / "images"))))
    want = desired("volume", pool="images", capacity="64MiB", format=fmt)
    live = provider.create(request("volume", f"v-{fmt}", want))
    assert compared(provider, live, want) == want


def test_a_clone_copies_its_original_and_is_not_smaller(provider, conn, tmp_path):
    provider.create(request("pool", "images", desired("pool", path=str(tmp_path / "images"))))
    base_want = desired("volume", pool="images", capacity="1GiB")
    provider.create(request("volume", "base", base_want))
    want = desired("volume", pool="images", clone_of="base", format="raw")   # growing it: tests/integration
    live = provider.create(request("volume", "copy", want, {"volume.base": base_want}))
    assert live.attributes["capacity"] == "1GiB" and "backing_store" not in live.attributes
    small = desired("volume", pool="images", clone_of="base", capacity="512MiB")
    (problem,) = provider.check(request("volume", "copy2", small, {"volume.base": base_want}), None)
    assert problem.path == "capacity" and "cannot be smaller than it (1GiB)" in problem.message


def test_a_volume_has_one_origin():
    with pytest.raises(pydantic.ValidationError, match="one of them, not backing_store and clone_of"):
        schema.Volume.model_validate({"pool": "p", "backing_store": "a", "clone_of": "b"})


def test_a_disk_names_exactly_one_of_volume_file_and_block():
    with pytest.raises(pydantic.ValidationError, match="exactly one of `volume`, `file` or `block`; it has volume, file"):
        schema.Disk.model_validate({"volume": "v", "file": "/x.img"})
    with pytest.raises(pydantic.ValidationError, match="must be an absolute path"):
        schema.Disk.model_validate({"block": "dev/sdb"})
    with pytest.raises(pydantic.ValidationError, match="/x.img is attached twice"):
        schema.Domain.model_validate({"disks": [{"file": "/x.img"}, {"file": "/x.img"}]})


@pytest.mark.parametrize("domain", [
    {"disks": [{"volume": "v", "iothread": 1}]},
    {"iothreads": 1, "disks": [{"volume": "v", "iothread": 2}]},
    {"iothreads": 1, "disks": [{"volume": "v", "bus": "sata", "iothread": 1}]},
])
def test_a_disk_iothread_needs_a_virtio_disk_and_that_many_iothreads(domain):
    with pytest.raises(pydantic.ValidationError, match=r"disks\[0\]\.iothread .* needs a virtio disk and `iothreads`"):
        schema.Domain.model_validate(domain)


def test_a_shareable_disk_must_be_raw(provider):
    vols = {"volume.root": desired("volume", pool="images", capacity="1GiB")}
    want = desired("domain", type="qemu", disks=[{"volume": "root", "shareable": True}])
    problems = [p for p in provider.check(request("domain", "db", want, vols), None) if "shareable" in p.path]
    assert [p.path for p in problems] == ["disks[0].shareable"] and "must be raw" in problems[0].message


def test_doctor_lists_each_pool_type(provider):
    names = [c.name for c in storage.doctor_checks(provider.connections.get("h1"))]
    assert names[:4] == ["logical pools", "netfs pools", "iscsi pools", "disk pools"]


def test_a_pool_type_whose_programs_the_host_lacks_is_refused(provider, monkeypatch):
    monkeypatch.setattr(storage, "is_local", lambda host: True)
    monkeypatch.setattr(storage.shutil, "which", lambda program, path=None: None if program == "iscsiadm" else "/x")
    (problem,) = provider.check(request("pool", "san", desired("pool", **POOLS["iscsi"])), None)
    assert problem.path == "type" and "iscsiadm not found" in problem.message and "open-iscsi" in problem.message
    assert provider.check(request("pool", "nfs", desired("pool", **POOLS["netfs"])), None) == []
