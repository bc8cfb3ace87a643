"""Domain snapshots: read (every domain's, in bulk), check (what the domain's disks and firmware allow),
create, update the description (the snapshot's metadata redefined), revert the domain to one, delete.
External snapshots' overlay files are placed and merged back in `overlays`.
Identity: the domain's UUID, the creation time and the name. Snapshots carry no owner mark."""

from __future__ import annotations

import os
from typing import Any

import libvirt

from kvmstate.provider import Dependency, LiveObject, Problem, ProviderError, Request

from .. import overlays
from ..connection import Host
from ..declarations import SNAPSHOT
from ..errors import doing, find, message
from ..schema import Snapshot
from ..xml import snapshot as document
from ..xml.util import parse
from .base import ResourceOperations, changed


class Snapshots(ResourceOperations):
    declaration = SNAPSHOT

    def live(self, host: Host, snap: libvirt.virDomainSnapshot, domain: str, uuid: str) -> LiveObject:
        name = snap.getName()
        with doing(f"reading snapshot {name} of domain {domain}"):
            root = parse(snap.getXMLDesc(0))
        return LiveObject(SNAPSHOT.name, name, host.name, document.identity(uuid, root),
                          document.from_xml(root, domain=domain))

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """One list call for the domains, one per domain for its snapshots, and one XML read per snapshot."""
        with doing("listing domains"):
            doms = host.conn.listAllDomains(0)
        found = []
        for dom in doms:
            name, uuid = dom.name(), dom.UUIDString()
            with doing(f"listing snapshots of domain {name}"):
                snaps = dom.listAllSnapshots(0)
            found.extend(self.live(host, snap, name, uuid) for snap in snaps)
        return found

    def check(self, host: Host, request: Request, live: LiveObject | None) -> list[Problem]:
        """What the domain allows, read from the configuration before any change: an internal snapshot needs
        qcow2 disks and no running UEFI domain, an external one volumes in folder pools (and a running domain
        for its memory); no memory of a domain with virtiofs shares; and no domain keeps both kinds (checked
        against its snapshots in libvirt)."""
        kind = request.attributes.get("kind", "internal")
        domain = request.referenced("domain")
        problems = _mixed(host, domain.name, kind, request.name) + _memory_problems(request, domain) + \
            _virtiofs_problems(request, domain)
        check = _external_problems if kind == "external" else _internal_problems
        return problems + check(request, domain)

    def delete_notes(self, host: Host, live: LiveObject) -> list[str]:
        """An external snapshot is merged back before it goes."""
        if live.attributes.get("kind") != "external":
            return []
        dom, snap = self._lookup(host, live.name, live.identity)
        xml = snap.getXMLDesc(0) if snap is not None else "<domainsnapshot/>"
        files, memory = document.overlays(xml), document.memory_file(xml)
        if not files:
            return []
        return ["libvirt 9.0 cannot delete an external snapshot: " + overlays.merge_note(
            dom, list(files.values()), [memory] if memory else []) + ", then the snapshot's metadata is deleted"]

    def revert_problems(self, attributes: dict[str, Any]) -> list[Problem]:
        """libvirt 9.0 reverts a domain to internal snapshots only."""
        if attributes.get("kind") != "external":
            return []
        return [Problem("kind", "libvirt 9.0 cannot revert a domain to an external snapshot (its disks would "
                        "have to go back onto the files below the overlays). To be able to go back, take an "
                        "internal snapshot (kind = \"internal\") of a domain without external ones.")]

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Snapshot.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up domain {spec.domain} for snapshot {name}"):
            dom = host.conn.lookupByName(spec.domain)
        if spec.kind == "external":
            with overlays.domain_lock(dom.UUIDString()):
                snap = _create_external(host, dom, request, spec)
        else:
            with doing(f"creating snapshot {name} of domain {spec.domain}"):
                snap = dom.snapshotCreateXML(document.to_xml(spec, name), 0)
        return self.live(host, snap, spec.domain, dom.UUIDString())

    def update(self, host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        """Only the description changes in place: the snapshot's metadata is redefined, its data untouched."""
        spec = Snapshot.model_validate(request.attributes)
        dom, snap = self._existing(host, current)
        if "description" in changed(paths):
            flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | \
                (libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT if snap.isCurrent() else 0)
            with doing(f"setting the description of snapshot {current.name} of domain {spec.domain}"):
                snap = dom.snapshotCreateXML(document.with_description(snap.getXMLDesc(0), spec.description), flags)
        return self.live(host, snap, spec.domain, dom.UUIDString())

    def delete(self, host: Host, name: str, identity: str) -> None:
        """An external snapshot's overlays are merged back first (libvirt 9.0 cannot delete one itself), then
        only its metadata goes."""
        dom, snap = self._lookup(host, name, identity)
        if snap is None:
            return
        xml = snap.getXMLDesc(0)
        files = document.overlays(xml)
        if not files:
            with doing(f"deleting snapshot {name} of domain {dom.name()}"):
                snap.delete(0)
            return
        with overlays.domain_lock(dom.UUIDString()):
            overlays.merge(host, dom, files, document.memory_file(xml))
            with doing(f"deleting the metadata of snapshot {name} of domain {dom.name()}"):
                snap.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)

    def revert(self, host: Host, live: LiveObject) -> None:
        """Revert the domain to the snapshot: its definition, disks and (for a snapshot of a running domain)
        memory and power state; a snapshot of a shut-off domain leaves it shut off."""
        dom, snap = self._existing(host, live)
        with doing(f"reverting domain {dom.name()} to snapshot {live.name}"):
            dom.revertToSnapshot(snap, 0)

    def _existing(self, host: Host, live: LiveObject) -> tuple[libvirt.virDomain, libvirt.virDomainSnapshot]:
        """The domain and the snapshot the plan read; an error when it went away since."""
        dom, snap = self._lookup(host, live.name, live.identity)
        if snap is None:
            raise ProviderError(f"snapshot {live.name} of domain {live.attributes.get('domain')} was deleted "
                                "since the plan was made; plan again")
        return dom, snap

    def _lookup(self, host: Host, name: str, identity: str
                ) -> tuple[libvirt.virDomain | None, libvirt.virDomainSnapshot | None]:
        """The domain and the snapshot an identity names; None for the snapshot when either is gone."""
        dom = find(f"looking up the domain of snapshot {name}", host.conn.lookupByUUIDString, identity.split("/")[0])
        if dom is None:
            return None, None
        try:
            snap = dom.snapshotLookupByName(name, 0)
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                return dom, None
            raise ProviderError(f"looking up snapshot {name} of domain {dom.name()}: {message(err)}") from None
        same = document.identity(dom.UUIDString(), parse(snap.getXMLDesc(0))) == identity
        return dom, snap if same else None         # one made again under the name is not the recorded one


def _create_external(host: Host, dom: libvirt.virDomain, request: Request, spec: Snapshot
                     ) -> libvirt.virDomainSnapshot:
    """An external snapshot: each disk onto a new overlay `<volume>.<snapshot>` beside its file (and the memory,
    when asked, to `<domain>.<snapshot>.memory` beside the first), then the pools refreshed so that they list
    the new files."""
    name = request.name
    domain = request.referenced("domain")
    volumes = [request.referenced(f"disks[{i}].volume", of=domain).name
               for i in range(len(domain.attributes.get("disks", [])))]
    with doing(f"reading domain {spec.domain}"):
        root = parse(dom.XMLDesc(0))
    targets = {target: os.path.join(os.path.dirname(path), overlays.overlay_name(volume, name))
               for (target, path), volume in zip(overlays.disk_files(host, root), volumes) if path}
    others = [target.get("dev") for disk in root.findall("devices/disk") if (target := disk.find("target")) is not None
              and target.get("dev") not in targets]
    memory = os.path.join(os.path.dirname(next(iter(targets.values()))), f"{spec.domain}.{name}.memory") \
        if spec.memory and targets else None
    flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | (0 if memory else libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
    with doing(f"creating external snapshot {name} of domain {spec.domain}"):
        snap = dom.snapshotCreateXML(document.to_xml(spec, name, targets, others, memory), flags)
    for path in {os.path.dirname(p): p for p in targets.values()}.values():
        overlays.refresh(host, path)
    return snap


def _mixed(host: Host, domain: str, kind: str, name: str) -> list[Problem]:
    """The domain's other snapshots of the other kind, in libvirt or checked earlier in this run (so planned
    beside this one): one domain keeps one kind."""
    planned = host.cache.setdefault("snapshot kinds planned", {}).setdefault(domain, {})
    earlier = sorted(other for other, other_kind in planned.items() if other != name and other_kind != kind)
    planned[name] = kind
    other = "internal" if kind == "external" else "external"
    why = ("a domain keeps one kind: libvirt 9.0 cannot delete an external snapshot whose parent is internal, and an "
           "internal one taken on an overlay would go when the overlay is merged back.")
    if earlier:
        return [Problem("kind", f"snapshot {name}: the configuration also gives domain {domain} the {other} snapshot "
                                f"{earlier[0]}, and {why} Give both the same kind.")]
    dom = find(f"looking up domain {domain}", host.conn.lookupByName, domain)
    if dom is None:
        return []
    with doing(f"listing snapshots of domain {domain}"):
        clash = sorted(s.getName() for s in dom.listAllSnapshots(0) if s.getName() != name
                       and document.from_xml(s.getXMLDesc(0), domain=domain)["kind"] != kind)
    if not clash:
        return []
    return [Problem("kind", f"snapshot {name}: domain {domain} already has the {other} snapshot {clash[0]}, and "
                            f"{why} Delete {clash[0]} first, or take this one as kind = \"{other}\".")]


def _internal_problems(request: Request, domain: Dependency) -> list[Problem]:
    """An internal snapshot needs every disk of the domain in qcow2, and a running domain without UEFI
    firmware (QEMU saves its state into every writable image, and the firmware's variables are a raw file)."""
    disks = domain.attributes.get("disks", [])
    by_path = [(disk.get("file") or disk.get("block"), "raw") for disk in disks if "volume" not in disk]
    volumes = [request.referenced(f"disks[{i}].volume", of=domain) for i, disk in enumerate(disks)
               if "volume" in disk]
    other = by_path + [(vol.name, vol.attributes.get("format", "qcow2")) for vol in volumes]
    raw = [f"{name} is {fmt}" for name, fmt in other if fmt != "qcow2"]
    if raw:
        return [Problem("kind", f"snapshot {request.name}: an internal snapshot (kind = \"internal\", the "
                        "default) is kept inside the domain's disks, which must all be qcow2, but "
                        f"{domain.name}'s disk {raw[0]}. Attach a qcow2 volume instead, or take an external "
                        "snapshot (kind = \"external\").")]
    if domain.attributes.get("firmware") == "uefi" and domain.attributes.get("power") == "running":
        return [Problem("kind", f"snapshot {request.name}: libvirt cannot take an internal snapshot of a "
                        f"running UEFI domain ({domain.name}): its firmware variables are a raw file. Take it "
                        "while the domain is stopped (power = \"stopped\"), or take an external snapshot.")]
    return []


def _memory_problems(request: Request, domain: Dependency) -> list[Problem]:
    """`memory` is for an external snapshot of a domain the configuration runs."""
    if request.attributes.get("memory") is None:
        return []
    if request.attributes.get("kind", "internal") != "external":
        return [Problem("memory", f"snapshot {request.name}: memory applies to external snapshots; an internal "
                        "snapshot of a running domain always keeps its memory. Remove memory, or set "
                        "kind = \"external\".")]
    if request.attributes["memory"] and domain.attributes.get("power", "running") != "running":
        return [Problem("memory", f"snapshot {request.name}: only a running domain's memory can be saved, and "
                        f"{domain.name} has power = \"{domain.attributes.get('power')}\". Set memory = false, or "
                        "run the domain.")]
    return []


def _virtiofs_problems(request: Request, domain: Dependency) -> list[Problem]:
    """QEMU cannot save a virtiofs share's state, so no snapshot can keep the memory of a domain that has one."""
    internal = request.attributes.get("kind", "internal") == "internal"
    keeps_memory = domain.attributes.get("power", "running") == "running" and \
        (internal or request.attributes.get("memory"))
    if not (keeps_memory and domain.attributes.get("filesystems")):
        return []
    return [Problem("kind" if internal else "memory", f"snapshot {request.name}: QEMU cannot save the memory of a "
                    f"running domain with virtiofs `filesystems` ({domain.name}), which this snapshot keeps. Take "
                    "it while the domain is stopped (power = \"stopped\")"
                    + (", or take an external disk-only snapshot." if internal else ", or set memory = false."))]


FILE_POOLS = ("dir", "fs", "netfs")        # pools whose volumes are files in one folder


def _external_problems(request: Request, domain: Dependency) -> list[Problem]:
    """An external snapshot puts each disk onto an overlay file beside its volume, named after both: every
    disk must be a volume of a folder pool, and the snapshot's name a file name."""
    if "/" in request.name or request.name.startswith("."):
        return [Problem("name", f"snapshot {request.name}: an external snapshot's name is part of its overlay "
                        "files' names, so it cannot contain \"/\" or start with \".\"; choose another name.")]
    for i, disk in enumerate(domain.attributes.get("disks", [])):
        if "volume" not in disk:
            path = disk.get("file") or disk.get("block")
            return [Problem("kind", f"snapshot {request.name}: an external snapshot puts each disk onto an overlay "
                            f"volume in the disk's pool, but {domain.name}'s disk {path} is attached by path, "
                            "outside any pool kvmstate reads. Attach a volume instead.")]
        volume = request.referenced(f"disks[{i}].volume", of=domain)
        pool = request.dependencies.get(volume.refs.get("pool"))
        kind = pool.attributes.get("type", "dir") if pool is not None else "dir"
        if kind not in FILE_POOLS:
            return [Problem("kind", f"snapshot {request.name}: an external snapshot puts each disk onto an overlay "
                            f"file beside its volume, but {domain.name}'s volume {volume.name} is in a {kind} pool, "
                            f"whose volumes are not files in a folder. Use a pool of type {', '.join(FILE_POOLS)}.")]
    return []
