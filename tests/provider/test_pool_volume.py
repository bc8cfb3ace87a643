"""Pools and volumes on the test driver: create, read back, updates, delete."""

import xml.etree.ElementTree as ET

import pytest

from kvmstate.provider import ProviderError

from provider_helpers import compared, desired, request


@pytest.fixture
def pool(provider, tmp_path):
    want = desired("pool", path=str(tmp_path / "images"))
    return provider.create(request("pool", "images", want)), want


def test_pool_create_reads_back_as_desired(provider, conn, tmp_path):
    want = desired("pool", path=str(tmp_path / "images") + "/", autostart=True)
    created = provider.create(request("pool", "images", want))

    (live,) = provider.read("h1", ["pool"])
    assert (live.name, live.identity, live.owner) == ("images", created.identity, None)
    assert compared(provider, live, want) == want == {"type": "dir", "path": str(tmp_path / "images"), "active": True,
                                                      "autostart": True}
    p = conn.storagePoolLookupByName("images")
    assert p.isActive() and p.autostart()
    assert ET.fromstring(p.XMLDesc()).findtext("target/path") == str(tmp_path / "images")


def test_pool_autostart_update(provider, conn, pool):
    created, want = pool
    updated = provider.update(request("pool", "images", {**want, "autostart": True}), created, ["autostart"], False)
    assert updated.attributes["autostart"] is True
    assert conn.storagePoolLookupByName("images").autostart()


def test_pool_delete_leaves_nothing(provider, conn, pool):
    created, _ = pool
    provider.delete("pool", "h1", "images", created.identity)
    assert conn.listAllStoragePools() == []
    provider.delete("pool", "h1", "images", created.identity)


def test_read_only_the_types_asked_for(provider, pool):
    assert provider.read("h1", ["network", "domain"]) == []
    assert [o.type for o in provider.read("h1", ["pool", "volume"])] == ["pool"]


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
def test_volume_create_reads_back_as_desired(provider, conn, pool, fmt):
    want = desired("volume", pool="images", capacity="1.5GiB", format=fmt)
    created = provider.create(request("volume", "disk0", want))

    lives = provider.read("h1", ["volume"])
    assert [(v.name, v.identity, v.owner) for v in lives] == [("disk0", created.identity, None)]
    assert compared(provider, lives[0], want) == want == {"pool": "images", "capacity": "1536MiB", "format": fmt}
    vol = conn.storageVolLookupByKey(created.identity)
    assert vol.info()[1] == 1536 * 1024**2
    assert ET.fromstring(vol.XMLDesc()).find("target/format").get("type") == fmt


def test_volume_shrink_is_refused(provider, conn, pool):
    want = desired("volume", pool="images", capacity="2GiB")
    created = provider.create(request("volume", "disk0", want))
    with pytest.raises(ProviderError, match=r"volume disk0: cannot shrink from 2GiB to 1GiB"):
        provider.update(request("volume", "disk0", {**want, "capacity": "1GiB"}), created, ["capacity"], False)
    assert conn.storageVolLookupByKey(created.identity).info()[1] == 2 * 1024**3


def test_volume_grow_error_names_the_action(provider, pool):
    """The test driver cannot resize: its error comes back naming what was being done."""
    want = desired("volume", pool="images", capacity="1GiB")
    created = provider.create(request("volume", "disk0", want))
    with pytest.raises(ProviderError, match=r"^growing volume disk0 to 2GiB: .*not supported"):
        provider.update(request("volume", "disk0", {**want, "capacity": "2GiB"}), created, ["capacity"], False)


def test_volume_delete_leaves_nothing(provider, conn, pool):
    created = provider.create(request("volume", "disk0", desired("volume", pool="images", capacity="1GiB")))
    provider.delete("volume", "h1", "disk0", created.identity)
    assert conn.storagePoolLookupByName("images").listAllVolumes() == []
    provider.delete("volume", "h1", "disk0", created.identity)
    assert provider.read("h1", ["volume"]) == []


def test_pool_stopped_outside_reads_inactive_and_update_starts_it(provider, conn, pool):
    created, want = pool
    conn.storagePoolLookupByName("images").destroy()
    (live,) = provider.read("h1", ["pool"])
    assert live.attributes["active"] is False
    provider.update(request("pool", "images", want), live, ["active"], False)
    assert conn.storagePoolLookupByName("images").isActive()
