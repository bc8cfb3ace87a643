"""Storage pools: read, create (define, build, start), update (active, autostart) and delete.
Identity: the UUID. Pools carry no owner mark."""

from __future__ import annotations

import libvirt

from kvmstate.provider import LiveObject, Request

from ..connection import Host
from ..declarations import POOL
from ..errors import doing, find
from ..schema import Pool
from ..xml import pool as document
from .base import ResourceOperations, changed, listed


class Pools(ResourceOperations):
    declaration = POOL

    def live(self, host: Host, pool: libvirt.virStoragePool, active: bool | None = None,
             autostart: bool | None = None) -> LiveObject:
        """One pool; `active` and `autostart` are asked for when the caller does not know them."""
        name = pool.name()
        with doing(f"reading pool {name}"):
            xml = pool.XMLDesc(0)
            active = bool(pool.isActive()) if active is None else active
            autostart = bool(pool.autostart()) if autostart is None else autostart
        return LiveObject(POOL.name, name, host.name, pool.UUIDString(),
                          document.from_xml(xml, active=active, autostart=autostart))

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Three list calls (all, active, autostart) and one XML read per pool."""
        with doing("listing storage pools"):
            pools, active, autostart = listed(host.conn.listAllStoragePools,
                                              libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE,
                                              libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART)
        return [self.live(host, pool, pool.name() in active, pool.name() in autostart) for pool in pools]

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Pool.model_validate(request.attributes)
        name = request.name
        with doing(f"defining pool {name}"):
            pool = host.conn.storagePoolDefineXML(document.to_xml(spec, name), 0)
        with doing(f"building pool {name} (creating {spec.path})"):
            pool.build(0)
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
            with doing(f"building pool {name} (creating {spec.path})"):
                pool.build(0)            # idempotent for a dir pool; needed when a create stopped before its build
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
        with doing(f"stopping pool {name}"):
            if pool.isActive():
                pool.destroy()
        try:
            pool.delete(0)  # removes the directory only when it is empty
        except libvirt.libvirtError:
            pass
        with doing(f"undefining pool {name}"):
            pool.undefine()
