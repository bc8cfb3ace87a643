"""The floor of one connection: the topology made, checked and deleted by a plain sequential libvirt-python script.

    python -m bench.sequential create|noop|delete N [URI]

It makes the calls kvmstate makes for each object, one after another, with no
plan, no state file and no checks beyond the lookups a careful script needs.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import libvirt

from bench.topology import Topology


def el(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.Element(tag, attrs) if parent is None else ET.SubElement(parent, tag, attrs)
    node.text = text
    return node


def network_xml(t: Topology, i: int) -> str:
    root = el(None, "network")
    el(root, "name", t.net(i))
    el(root, "forward", mode="nat")
    el(root, "bridge", name=t.bridge(i), stp="on", delay="0")
    el(root, "ip", address=t.subnet(i)[1], prefix="24")
    return ET.tostring(root, encoding="unicode")


def pool_xml(t: Topology) -> str:
    root = el(None, "pool", type="dir")
    el(root, "name", t.pool)
    el(el(root, "target"), "path", t.pool_path)
    return ET.tostring(root, encoding="unicode")


def volume_xml(t: Topology, i: int) -> str:
    root = el(None, "volume")
    el(root, "name", t.vol(i))
    el(root, "capacity", str(t.capacity), unit="bytes")
    el(root, "allocation", "0", unit="bytes")
    el(el(root, "target"), "format", type="qcow2")
    return ET.tostring(root, encoding="unicode")


def domain_xml(t: Topology, i: int) -> str:
    root = el(None, "domain", type="qemu")
    el(root, "name", t.dom(i))
    el(root, "memory", str(t.memory // 1024), unit="KiB")
    el(root, "vcpu", "1")
    el(el(root, "os"), "type", "hvm")
    devices = el(root, "devices")
    disk = el(devices, "disk", type="volume", device="disk")
    el(disk, "driver", name="qemu", type="qcow2")
    el(disk, "source", pool=t.pool, volume=t.vol(i))
    el(disk, "target", dev="vda", bus="virtio")
    iface = el(devices, "interface", type="network")
    el(iface, "source", network=t.net(i))
    el(iface, "model", type="virtio")
    el(devices, "console", type="pty")
    return ET.tostring(root, encoding="unicode")


def create(conn: libvirt.virConnect, t: Topology) -> None:
    for i in range(t.n):
        net = conn.networkDefineXML(network_xml(t, i))
        net.create()
        net.setAutostart(0)
    pool = conn.storagePoolDefineXML(pool_xml(t), 0)
    pool.build(0)
    pool.create(0)
    pool.setAutostart(0)
    for i in range(t.n):
        pool.createXML(volume_xml(t, i), 0)
    for i in range(t.n):
        dom = conn.defineXML(domain_xml(t, i))
        dom.setAutostart(0)
        dom.create()


def noop(conn: libvirt.virConnect, t: Topology) -> None:
    """What a careful script does when run again: look each object up and check it is running."""
    for i in range(t.n):
        assert conn.networkLookupByName(t.net(i)).isActive()
    pool = conn.storagePoolLookupByName(t.pool)
    assert pool.isActive()
    for i in range(t.n):
        pool.storageVolLookupByName(t.vol(i))
    for i in range(t.n):
        assert conn.lookupByName(t.dom(i)).isActive()


def delete(conn: libvirt.virConnect, t: Topology) -> None:
    for i in range(t.n):
        dom = conn.lookupByName(t.dom(i))
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    pool = conn.storagePoolLookupByName(t.pool)
    for i in range(t.n):
        pool.storageVolLookupByName(t.vol(i)).delete(0)
    pool.destroy()
    pool.delete(0)
    pool.undefine()
    for i in range(t.n):
        net = conn.networkLookupByName(t.net(i))
        net.destroy()
        net.undefine()


def main() -> None:
    phase, n = sys.argv[1], int(sys.argv[2])
    conn = libvirt.open(sys.argv[3] if len(sys.argv) > 3 else "qemu:///system")
    {"create": create, "noop": noop, "delete": delete}[phase](conn, Topology(n))
    conn.close()


if __name__ == "__main__":
    main()
