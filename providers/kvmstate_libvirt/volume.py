"""libvirt storage volumes: the `<volume>` document and its operations.

Vocabulary: pool (the pool's name), capacity (canonical size), format. Identity:
the volume's key (its path for dir pools). Volumes carry no owner mark.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from kvmstate.provider import LiveObject, ProviderError, Request
from kvmstate.units import format_size

from .connection import Host, doing, find
from .schema import Volume
from .xmlutil import render, size_bytes, sub

TYPE = "volume"


def to_xml(name: str, spec: Volume) -> str:
    """The `<volume>` document for a desired volume (sparse: allocation 0)."""
    root = ET.Element("volume")
    sub(root, "name", name)
    sub(root, "capacity", str(spec.capacity), unit="bytes")
    sub(root, "allocation", "0", unit="bytes")
    sub(sub(root, "target"), "format", type=spec.format)
    return render(root)


def from_xml(xml: str, *, pool: str) -> dict[str, Any]:
    """Attributes of a volume in the model's vocabulary, from libvirt's XML."""
    root = ET.fromstring(xml)
    attrs: dict[str, Any] = {"pool": pool}
    capacity = size_bytes(root.find("capacity"))
    if capacity is not None:
        attrs["capacity"] = format_size(capacity)
    fmt = root.find("target/format")
    if fmt is not None and fmt.get("type"):
        attrs["format"] = fmt.get("type")
    return attrs


def live(host: Host, vol: libvirt.virStorageVol, pool: str) -> LiveObject:
    name = vol.name()
    with doing(f"reading volume {name}"):
        attrs = from_xml(vol.XMLDesc(0), pool=pool)
        key = vol.key()
    return LiveObject(TYPE, name, host.name, key, attrs)


def read_all(host: Host) -> list[LiveObject]:
    """Volumes of every active pool, after a refresh so files added behind libvirt's back show."""
    with doing("listing storage pools"):
        pools = host.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
    found = []
    for pool in pools:
        pool_name = pool.name()
        with doing(f"listing volumes of pool {pool_name}"):
            pool.refresh(0)
            vols = pool.listAllVolumes(0)
        found.extend(live(host, vol, pool_name) for vol in vols)
    return found


def create(host: Host, request: Request) -> LiveObject:
    spec = Volume.model_validate(request.attributes)
    name = request.name
    with doing(f"looking up pool {spec.pool} for volume {name}"):
        pool = host.conn.storagePoolLookupByName(spec.pool)
    with doing(f"creating volume {name} in pool {spec.pool}"):
        vol = pool.createXML(to_xml(name, spec), 0)
    return live(host, vol, spec.pool)


def update(host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
    spec = Volume.model_validate(request.attributes)
    name = request.name
    with doing(f"looking up volume {name}"):
        vol = host.conn.storageVolLookupByKey(current.identity)
    if "capacity" in {p.split(".")[0] for p in paths}:
        with doing(f"reading the capacity of volume {name}"):
            capacity = vol.info()[1]
        if spec.capacity < capacity:
            raise ProviderError(
                f"volume {name}: cannot shrink from {format_size(capacity)} to {format_size(spec.capacity)}; "
                "shrinking would destroy data. Set a capacity of at least the current one, or replace the volume")
        if spec.capacity > capacity:
            with doing(f"growing volume {name} to {format_size(spec.capacity)}"):
                if not _grow_in_running_domain(host, vol, spec.pool, spec.capacity):
                    vol.resize(spec.capacity, 0)
    return live(host, vol, spec.pool)


def _grow_in_running_domain(host: Host, vol: libvirt.virStorageVol, pool: str, size: int) -> bool:
    """Grow a volume attached to a running domain through QEMU (which holds the image's write lock)."""
    path, name = vol.path(), vol.name()
    for dom in host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        for disk in ET.fromstring(dom.XMLDesc(0)).findall("devices/disk"):
            source, target = disk.find("source"), disk.find("target")
            if source is None or target is None:
                continue
            if source.get("file") == path or (source.get("pool"), source.get("volume")) == (pool, name):
                dom.blockResize(target.get("dev"), size, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                return True
    return False


def delete(host: Host, name: str, identity: str) -> None:
    vol = find(f"looking up volume {name}", host.conn.storageVolLookupByKey, identity)
    if vol is None:
        return
    with doing(f"deleting volume {name}"):
        vol.delete(0)
