"""A bulk read's objects carry fingerprints and are parsed only when used: the same objects read again have
the same fingerprints, and whatever a comparison reads (the document, a list flag, the power state) changes
them; another read (a create's result) gives the same fingerprint as the bulk read."""

from __future__ import annotations

import libvirt

from kvmstate.addrs import Address
from kvmstate.provider import DeferredLiveObject, Owner, Request
from kvmstate_libvirt import LibvirtProvider

from tests.provider.test_read_calls import populate

TYPES = ["network", "pool", "volume", "domain"]


def prints(provider: LibvirtProvider) -> dict[tuple[str, str], str]:
    return {(o.type, o.name): o.fingerprint for o in provider.read("h1", TYPES)}


def test_reads_are_unparsed_and_fingerprints_follow_what_is_compared(provider: LibvirtProvider,
                                                                       conn: libvirt.virConnect) -> None:
    populate(provider, 3)
    objects = provider.read("h1", TYPES)
    assert all(isinstance(o, DeferredLiveObject) and o._parsed is None and o.fingerprint for o in objects)
    assert [o.get("pool") for o in objects if o.type == "volume"] == ["p"] * 3 and \
        all(o._parsed is None for o in objects)                 # a volume's pool is known without parsing
    first = prints(provider)
    assert prints(provider) == first and len(set(first.values())) == len(first)
    conn.networkLookupByName("n0").setAutostart(1)                   # a list flag
    conn.lookupByName("d1").suspend()                                # the power state
    conn.lookupByName("d0").setMemoryFlags(32 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG)  # the document
    second = prints(provider)
    assert {key for key in first if first[key] != second[key]} == {("network", "n0"), ("domain", "d1"),
                                                                  ("domain", "d0")}


def test_a_created_object_has_the_fingerprint_a_bulk_read_finds(provider: LibvirtProvider) -> None:
    created = provider.create(Request(Address("network", "lan"), "network", "lab-lan", "h1",
                                      {"mode": "isolated", "active": True, "autostart": False},
                                      Owner("l", "network.lan")))
    (read,) = [o for o in provider.read("h1", ["network"]) if o.name == "lab-lan"]
    assert created.fingerprint == read.fingerprint and read.attributes == created.attributes
