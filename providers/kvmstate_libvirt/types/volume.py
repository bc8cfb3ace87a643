"""Storage volumes: read (every active pool, after a refresh), check, create (empty, from an image, an
overlay, or a copy of another volume), grow, and delete. Identity: the volume's key (its path for dir pools)."""

from __future__ import annotations

import time
from typing import Any
import xml.etree.ElementTree as ET

import libvirt

from kvmstate.provider import LiveObject, Problem, ProviderError, Request, Unreadable
from kvmstate.units import format_size, parse_size

from .. import image, storage
from ..connection import Host
from ..declarations import VOLUME
from ..errors import doing, find
from ..schema import Volume
from ..xml import volume as document
from .base import ResourceOperations, changed, deferred, fingerprint, names


class Volumes(ResourceOperations):
    declaration = VOLUME

    def live(self, host: Host, vol: libvirt.virStorageVol, pool: str, lazy: bool = False) -> LiveObject:
        name = vol.name()
        with doing(f"reading volume {name}"):
            xml = vol.XMLDesc(0)
            key = vol.key()
        stamp = fingerprint(xml, pool)
        return deferred(VOLUME, host, name, key, stamp, lambda: LiveObject(
            VOLUME.name, name, host.name, key, document.from_xml(xml, pool=pool), fingerprint=stamp), lazy,
            known={"pool": pool})

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject | Unreadable]:
        """Volumes of every active pool, after a refresh so files added behind libvirt's back show; an inactive
        pool's volumes cannot be listed, so each inactive pool is reported `Unreadable` (not as empty)."""
        if VOLUME.name in earlier:
            return earlier[VOLUME.name]
        with doing("listing storage pools"):
            pools = host.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
            inactive = names(host.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE))
        found: list[LiveObject | Unreadable] = [Unreadable(VOLUME.name, host.name, pool, f"pool {pool} is inactive")
                                                for pool in sorted(inactive)]
        for pool in pools:
            pool_name = pool.name()
            with doing(f"listing volumes of pool {pool_name}"):
                refresh_when_idle(pool, timeout=300)
                vols = pool.listAllVolumes(0)
            found.extend(self.live(host, vol, pool_name, lazy=True) for vol in vols)
        return found

    def normalize(self, host: Host, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        """A vpc image's capacity as desired when qemu-img rounded it up to a whole cylinder of the VHD geometry."""
        attrs = dict(live.attributes)
        have, want = attrs.get("capacity"), desired.get("capacity")
        if attrs.get("format") == "vpc" and have and want and \
                0 < parse_size(have) - parse_size(want) < VPC_CYLINDER:
            attrs["capacity"] = want
        return attrs

    def check(self, host: Host, request: Request, current: LiveObject | None) -> list[Problem]:
        """Refuse a shrink; for a new volume, what its pool's type cannot hold, a copy smaller than its original,
        and a local image's format and size, before any change."""
        spec = Volume.model_validate(request.attributes)
        if current is not None:
            have = self.normalize(host, current, request.attributes).get("capacity")
            if spec.capacity is not None and have and spec.capacity < parse_size(have):
                return [Problem("capacity", f"volume {request.name} cannot shrink from {have} to "
                                f"{format_size(spec.capacity)}: shrinking would destroy the data at its end. Keep a "
                                "capacity of at least the current one, or replace the volume (remove it from the "
                                "configuration and apply, then add it back; its data is lost)")]
            if spec.capacity is not None and have and spec.capacity > parse_size(have):
                return _fixed_size_problems(request.name, spec, "grow")
            return []
        problems = storage.volume_problems(host, request.name, spec, _pool_type(host, request)) + _clone_problems(request, spec)
        original = request.referenced("clone_of").attributes.get("capacity") if spec.clone_of else None
        if (spec.clone_of or spec.source) and spec.capacity is not None and \
                (original is None or parse_size(original) != spec.capacity):
            problems += _fixed_size_problems(request.name, spec, "be made larger than its original")
        if problems or spec.source is None or image.is_url(spec.source):
            return problems
        try:
            with image.open_image(spec.source) as img:
                fmt, size = image.format_problem(img, spec.format), image.capacity_problem(img, spec.capacity)
        except ProviderError as exc:
            return [Problem("source", f"{exc}.")]
        return [Problem(path, f"volume {request.name}: {msg}.") for path, msg in (("format", fmt), ("capacity", size))
                if msg]

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Volume.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up pool {spec.pool} for volume {name}"):
            pool = host.conn.storagePoolLookupByName(spec.pool)
        if spec.source:
            return self._create_from_source(host, pool, name, spec)
        if spec.clone_of:
            return self._create_clone(host, request, pool, spec)
        backing = None
        if spec.backing_store:
            path, fmt, capacity = _base(host, request)
            backing, spec = (path, fmt), spec.model_copy(update={"capacity": spec.capacity or capacity})
        with doing(f"creating volume {name} in pool {spec.pool}"):
            vol = pool.createXML(document.to_xml(spec, name, backing=backing, pool_type=_pool_type(host, request)), 0)
        return self.live(host, vol, spec.pool)

    def _create_clone(self, host: Host, request: Request, pool: libvirt.virStoragePool, spec: Volume) -> LiveObject:
        """A full copy of `clone_of` (converted to `spec.format`), then grown to `capacity` when that is larger."""
        original = request.referenced("clone_of")
        with doing(f"looking up volume {original.name}, the original of volume {request.name}"):
            source = host.conn.storagePoolLookupByName(original.attributes["pool"]).storageVolLookupByName(
                original.name)
            size = source.info()[1]
        if spec.capacity is not None and spec.capacity < size:
            raise ProviderError(f"volume {request.name}: a copy of {original.name} ({format_size(size)}) cannot "
                                f"be smaller, not {format_size(spec.capacity)}")
        xml = document.to_xml(spec.model_copy(update={"capacity": size}), request.name,
                              pool_type=_pool_type(host, request))
        with doing(f"copying volume {original.name} into volume {request.name} in pool {spec.pool}"):
            vol = pool.createXMLFrom(xml, source, 0)
        if spec.capacity is not None and spec.capacity > size:
            with doing(f"growing volume {request.name} to {format_size(spec.capacity)}"):
                vol.resize(spec.capacity, 0)
        return self.live(host, vol, spec.pool)

    def _create_from_source(self, host: Host, pool: libvirt.virStoragePool, name: str, spec: Volume) -> LiveObject:
        """Create the volume and fill it from its image; on any failure remove it again."""
        with image.open_image(spec.source) as img:
            problem = image.format_problem(img, spec.format) or image.capacity_problem(img, spec.capacity)
            if problem:
                raise ProviderError(f"volume {name}: {problem}")
            if img.format == "raw" and img.length is None and spec.capacity is None:
                raise ProviderError(f"volume {name}: the server does not say how large {spec.source} is: set `capacity`")
            # An empty file the upload overwrites; libvirt reads format and virtual size from the content afterwards.
            size = img.length or spec.capacity or 1
            with doing(f"creating volume {name} in pool {spec.pool}"):
                vol = pool.createXML(document.to_xml(spec.model_copy(update={"capacity": size, "format": "raw"}), name), 0)
            try:
                image.upload(host.conn, vol, img.chunks(), spec.checksum, f"{spec.source} into volume {name}")
                with doing(f"reading volume {name} after the upload"):
                    refresh_when_idle(pool)
                    vol = pool.storageVolLookupByName(name)
                    capacity = vol.info()[1]
                if spec.capacity is not None and spec.capacity > capacity:
                    with doing(f"growing volume {name} to {format_size(spec.capacity)}"):
                        vol.resize(spec.capacity, 0)
            except BaseException:
                try:
                    vol.delete(0)
                except libvirt.libvirtError:
                    pass
                raise
        return self.live(host, vol, spec.pool)

    def update(self, host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        spec = Volume.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up volume {name}"):
            vol = host.conn.storageVolLookupByKey(current.identity)
        if spec.capacity is not None and "capacity" in changed(paths):
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
        return self.live(host, vol, spec.pool)

    def delete(self, host: Host, name: str, identity: str) -> None:
        vol = find(f"looking up volume {name}", host.conn.storageVolLookupByKey, identity)
        if vol is None:
            return
        with doing(f"deleting volume {name}"):
            vol.delete(0)


def _pool_type(host: Host, request: Request) -> str:
    """The type of the volume's pool: as configured, else (a request without it) as libvirt has it, else dir."""
    if "pool" in request.refs:
        return request.referenced("pool").attributes.get("type", "dir")
    pool = find("looking up a pool", host.conn.storagePoolLookupByName, request.attributes["pool"])
    return ET.fromstring(pool.XMLDesc(0)).get("type", "dir") if pool is not None else "dir"


def _clone_problems(request: Request, spec: Volume) -> list[Problem]:
    """A copy whose capacity is below its original's, when both are known from the configuration."""
    if not spec.clone_of or spec.capacity is None:
        return []
    size = request.referenced("clone_of").attributes.get("capacity")
    if size is None or spec.capacity >= parse_size(size):
        return []
    return [Problem("capacity", f"volume {request.name}: a copy of {spec.clone_of} cannot be smaller than it "
                                f"({size}); set a capacity of at least that, or leave it unset")]


# Image formats qemu-img cannot resize: such a volume keeps the size it was made with.
FIXED_SIZE = {"vmdk", "vdi", "vpc"}
# The most a VHD (vpc) image's size is rounded up by: one cylinder of 16 heads x 255 sectors of 512 bytes.
VPC_CYLINDER = 16 * 255 * 512


def _fixed_size_problems(name: str, spec: Volume, change: str) -> list[Problem]:
    if spec.format not in FIXED_SIZE:
        return []
    return [Problem("capacity", f"volume {name}: a {spec.format} image cannot {change} (qemu-img cannot resize "
                                f"{', '.join(sorted(FIXED_SIZE))} images); keep its capacity, leave it unset for a "
                                "copy or an upload, or use format qcow2, raw or qed")]


def _base(host: Host, request: Request) -> tuple[str, str, int]:
    """Path, format and capacity of the base volume of an overlay."""
    base = request.referenced("backing_store")
    with doing(f"looking up the base volume {base.name} of volume {request.name}"):
        vol = host.conn.storagePoolLookupByName(base.attributes["pool"]).storageVolLookupByName(base.name)
        return vol.path(), base.attributes.get("format", "qcow2"), vol.info()[1]


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


def refresh_when_idle(pool: libvirt.virStoragePool, timeout: float = 600) -> None:
    """Refresh the pool, waiting while libvirt refuses because a job runs in it (another action's upload)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return pool.refresh(0)
        except libvirt.libvirtError as exc:
            if "asynchronous jobs running" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
