"""A bulk read makes a fixed number of libvirt calls plus one XML read per object, whatever the count."""

from __future__ import annotations

from pathlib import Path

from bench.calls import CallCounter
from kvmstate_libvirt import LibvirtProvider
from tests.provider.conftest import NODE_XML

TYPES = ["network", "pool", "volume", "domain"]


def populate(provider: LibvirtProvider, n: int) -> None:
    from kvmstate.addrs import Address
    from kvmstate.provider import Owner, Request
    conn = provider.connections.get("h1").conn
    pool = conn.storagePoolDefineXML("<pool type='dir'><name>p</name><target><path>/p</path></target></pool>", 0)
    pool.create(0)
    for i in range(n):
        conn.networkDefineXML(f"<network><name>n{i}</name></network>").create()
        pool.createXML(f"<volume><name>v{i}</name><capacity>1048576</capacity></volume>", 0)
        attrs = {"type": "qemu", "vcpu": 1, "memory": "64MiB", "disks": [], "interfaces": [], "autostart": i % 2 == 0,
                 "power": "running" if i % 3 else "stopped"}
        provider.create(Request(Address("domain", f"d{i}"), "domain", f"d{i}", "h1", attrs, Owner("l", f"domain.d{i}")))


def read_calls(tmp_path: Path, n: int) -> dict[str, int]:
    node = tmp_path / f"node{n}.xml"
    node.write_text(NODE_XML)
    with CallCounter() as counter:
        provider = LibvirtProvider()
        provider.configure({"h1": f"test://{node}"}, {})
        populate(provider, n)
        counter.calls.clear()
        objects = provider.read("h1", TYPES)
        provider.close()
    domains = {o.name: (o.attributes["power"], o.attributes["autostart"]) for o in objects if o.type == "domain"}
    assert domains == {f"d{i}": ("running" if i % 3 else "stopped", i % 2 == 0) for i in range(n)}
    assert all(o.attributes["active"] for o in objects if o.type in ("network", "pool"))
    return counter.remote()


def test_only_xml_reads_grow_with_the_number_of_objects(tmp_path: Path) -> None:
    small, large = read_calls(tmp_path, 2), read_calls(tmp_path, 6)
    grown = {call for call in large if large[call] != small.get(call)}
    assert grown == {"virNetwork.XMLDesc", "virStorageVol.XMLDesc", "virDomain.XMLDesc"}
    assert large["virDomain.XMLDesc"] == 6 and large["virNetwork.XMLDesc"] == 6


def test_cloudinits_come_from_the_same_volume_read(tmp_path: Path) -> None:
    """Seeds are `*.iso` volumes: asking for volumes and cloudinits reads each volume once."""
    node = tmp_path / "node.xml"
    node.write_text(NODE_XML)
    with CallCounter() as counter:
        provider = LibvirtProvider()
        provider.configure({"h1": f"test://{node}"}, {})
        conn = provider.connections.get("h1").conn
        pool = conn.storagePoolDefineXML("<pool type='dir'><name>p</name><target><path>/p</path></target></pool>", 0)
        pool.create(0)
        for name in ("root", "web.iso"):
            pool.createXML(f"<volume><name>{name}</name><capacity>1048576</capacity></volume>", 0)
        counter.calls.clear()
        objects = provider.read("h1", ["volume", "cloudinit"])
        provider.close()
    assert sorted((o.type, o.name) for o in objects) == [("cloudinit", "web"), ("volume", "root"),
                                                          ("volume", "web.iso")]
    assert counter.remote()["virStorageVol.XMLDesc"] == 2
    assert counter.remote()["virStoragePool.listAllVolumes"] == 1
