"""libvirt storage pools: the `<pool>` document and its operations.

Vocabulary: type (dir), path, active, autostart. Identity: the pool's UUID. Pools carry no
`<metadata>`, so no owner mark.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from kvmstate.provider import LiveObject, Request

from .connection import Host, doing, find
from .schema import Pool
from .xmlutil import names, parse, render, sub

TYPE = "pool"


def to_xml(name: str, spec: Pool) -> str:
    """The `<pool>` document for a desired pool."""
    root = ET.Element("pool", type=spec.type)
    sub(root, "name", name)
    sub(sub(root, "target"), "path", spec.path)
    return render(root)


def from_xml(xml: str | ET.Element, *, active: bool, autostart: bool) -> dict[str, Any]:
    """Attributes of a pool in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    attrs: dict[str, Any] = {"type": root.get("type")}
    path = root.findtext("target/path")
    if path:
        attrs["path"] = path
    attrs["active"] = active
    attrs["autostart"] = autostart
    return attrs


def live(host: Host, pool: libvirt.virStoragePool, active: bool | None = None,
         autostart: bool | None = None) -> LiveObject:
    """One pool; `active` and `autostart` are asked for when the caller does not know them."""
    name = pool.name()
    with doing(f"reading pool {name}"):
        xml = pool.XMLDesc(0)
        active = bool(pool.isActive()) if active is None else active
        autostart = bool(pool.autostart()) if autostart is None else autostart
    return LiveObject(TYPE, name, host.name, pool.UUIDString(), from_xml(xml, active=active, autostart=autostart))


def read_all(host: Host) -> list[LiveObject]:
    """Three list calls (all, active, autostart) and one XML read per pool."""
    with doing("listing storage pools"):
        pools = host.conn.listAllStoragePools()
        active = names(host.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE))
        autostart = names(host.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART))
    return [live(host, pool, pool.name() in active, pool.name() in autostart) for pool in pools]


def create(host: Host, request: Request) -> LiveObject:
    spec = Pool.model_validate(request.attributes)
    name = request.name
    with doing(f"defining pool {name}"):
        pool = host.conn.storagePoolDefineXML(to_xml(name, spec), 0)
    with doing(f"building pool {name} (creating {spec.path})"):
        pool.build(0)
    if spec.active:
        with doing(f"starting pool {name}"):
            pool.create(0)
    with doing(f"setting autostart of pool {name}"):
        pool.setAutostart(int(spec.autostart))
    return live(host, pool)


def update(host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
    spec = Pool.model_validate(request.attributes)
    name = request.name
    with doing(f"looking up pool {name}"):
        pool = host.conn.storagePoolLookupByUUIDString(current.identity)
    changed = {p.split(".")[0] for p in paths}
    if "active" in changed and spec.active:
        with doing(f"building pool {name} (creating {spec.path})"):
            pool.build(0)            # idempotent for a dir pool; needed when a create stopped before its build
        with doing(f"starting pool {name}"):
            pool.create(0)
    elif "active" in changed:
        with doing(f"stopping pool {name}"):
            pool.destroy()
    if "autostart" in changed:
        with doing(f"setting autostart of pool {name}"):
            pool.setAutostart(int(spec.autostart))
    return live(host, pool)


def delete(host: Host, name: str, identity: str) -> None:
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
