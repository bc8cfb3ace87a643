"""Storage pools: read, check (the host's storage programs), create (define, build, start), update (active,
autostart) and delete. Identity: the UUID. Pools carry no owner mark.

Building makes the storage: a dir pool's directory, a netfs pool's mount point, a logical pool's volume
group on `source.devices`, a disk pool's partition table (never over an existing one). Deleting undoes only
what building made: an existing volume group, disk or iSCSI target is left as it was."""

from __future__ import annotations

import libvirt

from kvmstate.provider import LiveObject, Problem, Request

from .. import storage
from ..connection import Host
from ..declarations import POOL
from ..errors import doing, find
from ..schema import Pool
from ..xml import pool as document
from .base import ResourceOperations, changed, deferred, fingerprint, listed


class Pools(ResourceOperations):
    declaration = POOL

    def live(self, host: Host, pool: libvirt.virStoragePool, active: bool | None = None,
             autostart: bool | None = None, lazy: bool = False) -> LiveObject:
        """One pool; `active` and `autostart` are asked for when the caller does not know them."""
        name, identity = pool.name(), pool.UUIDString()
        with doing(f"reading pool {name}"):
            xml = pool.XMLDesc(0)
            active = bool(pool.isActive()) if active is None else active
            autostart = bool(pool.autostart()) if autostart is None else autostart
        stamp = fingerprint(xml, active, autostart)
        return deferred(POOL, host, name, identity, stamp, lambda: LiveObject(
            POOL.name, name, host.name, identity, document.from_xml(xml, active=active, autostart=autostart),
            fingerprint=stamp), lazy)

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Three list calls (all, active, autostart) and one XML read per pool."""
        with doing("listing storage pools"):
            pools, active, autostart = listed(host.conn.listAllStoragePools,
                                              libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
                                              libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART)
        return [self.live(host, pool, pool.name() in active, pool.name() in autostart, lazy=True) for pool in pools]

    def check(self, host: Host, request: Request, current: LiveObject | None) -> list[Problem]:
        """A pool type whose programs (LVM, mount.nfs, iscsiadm, parted) the host lacks, before any change."""
        return storage.pool_problems(host, Pool.model_validate(request.attributes))

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Pool.model_validate(request.attributes)
        name = request.name
        with doing(f"defining pool {name}"):
            pool = host.conn.storagePoolDefineXML(document.to_xml(spec, name), 0)
        _build(pool, name, spec)
        if spec.active:
            with doing(f"starting pool {name}"):
                pool.create(0)
        with doing(f"setting autostart of pool {name}"):
            pool.setAutostart(int(spec.autostart))
        return self.live(host, pool)

    def update(self, host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        spec = Pool.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up pool {name}"):
            pool = host.conn.storagePoolLookupByUUIDString(current.identity)
        top = changed(paths)
        if "active" in top and spec.active:
            if spec.type in ("dir", "netfs"):
                _build(pool, name, spec)     # idempotent for a directory; needed when a create stopped before it
            with doing(f"starting pool {name}"):
                pool.create(0)
        elif "active" in top:
            with doing(f"stopping pool {name}"):
                pool.destroy()
        if "autostart" in top:
            with doing(f"setting autostart of pool {name}"):
                pool.setAutostart(int(spec.autostart))
        return self.live(host, pool)

    def delete(self, host: Host, name: str, identity: str) -> None:
        pool = find(f"looking up pool {name}", host.conn.storagePoolLookupByUUIDString, identity)
        if pool is None:
            return
        with doing(f"reading pool {name}"):
            attrs = document.from_xml(_defined_xml(pool), active=False, autostart=False)
        with doing(f"stopping pool {name}"):
            if pool.isActive():
                pool.destroy()
        if _built(attrs["type"], attrs.get("source", {}).get("devices")):
            if attrs["type"] == "logical":
                with doing(f"removing the volume group of pool {name}"):
                    pool.delete(0)      # vgremove and pvremove: its logical volumes were deleted before it
            else:
                try:
                    pool.delete(0)      # removes the directory only when it is empty
                except libvirt.libvirtError:
                    pass
        with doing(f"undefining pool {name}"):
            pool.undefine()


def _built(pool_type: str, devices: list[str] | None) -> bool:
    """Whether building the pool makes its storage, which deleting it then removes: a directory, or a volume
    group on the devices it names. A disk's partition table is never removed, nor is an existing group."""
    return pool_type in ("dir", "netfs") or (pool_type == "logical" and bool(devices))


def _defined_xml(pool: libvirt.virStoragePool) -> str:
    """The pool as defined (a started logical pool lists its group's devices, even those it was not built on);
    the running one where the driver has no such flag (the test driver)."""
    try:
        return pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE)
    except libvirt.libvirtError:
        return pool.XMLDesc(0)


def _build(pool: libvirt.virStoragePool, name: str, spec: Pool) -> None:
    """Make the pool's storage; a disk pool's label is written only on a disk without one."""
    if spec.type == "disk":
        with doing(f"building pool {name} (a {spec.source.format or 'dos'} label on {spec.source.devices[0]})"):
            pool.build(libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE)
    elif _built(spec.type, spec.source.devices if spec.source else None):
        what = f"a volume group on {', '.join(spec.source.devices)}" if spec.type == "logical" else spec.path
        with doing(f"building pool {name} (creating {what})"):
            pool.build(0)
