"""The overlay files of external snapshots: where they go, how a disk's chain of them is read, and how one is
merged back into the file below it when its snapshot is deleted.

An external snapshot of a disk whose volume is `V` puts the disk onto a new qcow2 file `V.<snapshot>` in the
same folder (so the same pool), backed by the file the disk used before. libvirt 9.0 can neither delete nor
revert to such a snapshot, so deleting one commits its overlay into the file below (a block commit, with a
pivot when the overlay is the disk's active layer), drops the snapshot's metadata and deletes the overlay
volume. A block job needs a running QEMU: a shut-off domain is started paused for it (its guest never runs)
and stopped again.
"""

from __future__ import annotations

import os
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from kvmstate.provider import Problem, ProviderError

from .connection import Host
from .errors import doing
from .xml import snapshot as snapshot_document
from .xml.util import parse, render

JOB_TIMEOUT = 600.0         # seconds a block commit may take
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def domain_lock(uuid: str) -> threading.Lock:
    """One lock per domain: its snapshots are made and merged one at a time (apply runs actions in parallel,
    and a disk takes one block job at a time)."""
    with _GUARD:
        return _LOCKS.setdefault(uuid, threading.Lock())


def overlay_name(volume: str, snapshot: str) -> str:
    """The overlay volume an external snapshot puts a disk whose configured volume is `volume` onto."""
    return f"{volume}.{snapshot}"


def disk_files(host: Host, root: ET.Element) -> list[tuple[str, str | None]]:
    """(target, file or device) of each disk (not CD-ROM) of a `<domain>` document, in order; a volume's
    file is asked of its pool."""
    found = []
    for disk in root.findall("devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        source, target = disk.find("source"), disk.find("target")
        path = None if source is None else source.get("file") or source.get("dev")
        if source is not None and source.get("volume"):
            with doing(f"looking up volume {source.get('volume')} in pool {source.get('pool')}"):
                path = host.conn.storagePoolLookupByName(source.get("pool")).storageVolLookupByName(
                    source.get("volume")).path()
        found.append(((target.get("dev") if target is not None else "") or "", path))
    return found


def backing_path(host: Host, path: str) -> str | None:
    """The file a volume (found by its path) is a qcow2 overlay of; None when it has none or is no volume."""
    try:
        root = parse(host.conn.storageVolLookupByPath(path).XMLDesc(0))
    except libvirt.libvirtError:
        return None
    return root.findtext("backingStore/path")


def leads_to(host: Host, path: str, volume: str) -> bool:
    """Whether the file `path` is `volume`'s own file, or an overlay whose chain of backing files, all of
    them named as kvmstate names overlays, leads back to it in the same folder."""
    folder, seen = os.path.dirname(path), set()
    while path and path not in seen:
        name = os.path.basename(path)
        if os.path.dirname(path) != folder or not (name == volume or name.startswith(volume + ".")):
            return False
        if name == volume:
            return True
        seen.add(path)
        path = backing_path(host, path)
    return False


def as_configured(host: Host, attrs: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """Live domain attributes where a disk whose file is an overlay of the configured volume (made by an
    external snapshot) reads as that volume; the rest unchanged. Asks libvirt only for such disks."""
    disks = attrs.get("disks") or []
    wanted = desired.get("disks") or []
    fixed = None
    for i, (have, want) in enumerate(zip(disks, wanted)):
        volume, current = want.get("volume"), have.get("volume")
        if not volume or current == volume or not (current or "").startswith(volume + ".") or not have.get("file"):
            continue
        if leads_to(host, have["file"], volume):
            fixed = fixed or [dict(d) for d in disks]
            fixed[i]["volume"] = volume
    return attrs if fixed is None else {**attrs, "disks": fixed}


def base_volume(host: Host, path: str) -> str | None:
    """The volume whose external snapshots' overlays `path` is the top of (named `<volume>.<snapshot>`, the
    chain leading back to it); None when `path` is no such overlay (a volume on a base image is not)."""
    chain, below = [], backing_path(host, path)
    while below and below not in chain and below != path:
        chain.append(below)
        below = backing_path(host, below)
    name = os.path.basename(path)
    for below in reversed(chain):               # the deepest: snapshot names may hold dots
        if name.startswith(os.path.basename(below) + ".") and leads_to(host, path, os.path.basename(below)):
            return os.path.basename(below)
    return None


def detach_problems(host: Host, attrs: dict[str, Any], desired: dict[str, Any]) -> list[Problem]:
    """Disks that run on an external snapshot's overlay and that the desired domain would take off it (another
    volume, or no disk there): the overlay would be left out of the domain with what was written since."""
    wanted = desired.get("disks") or []
    problems = []
    for i, have in enumerate(attrs.get("disks") or []):
        path = have.get("file")
        base = base_volume(host, path) if path and "." in os.path.basename(path) else None
        want = wanted[i].get("volume") if i < len(wanted) else None
        if base is not None and want != base:
            problems.append(Problem(f"disks[{i}]" if i >= len(wanted) else f"disks[{i}].volume",
                                    f"disk {i + 1} runs on {os.path.basename(path)}, the overlay of an external "
                                    f"snapshot of volume {base}; taking it off would leave out what was written "
                                    "since the snapshot. Delete the domain's external snapshots first (which merges "
                                    "them back), then change the disk."))
    return problems


def kept_on_overlays(host: Host, xml: str, old: ET.Element) -> str:
    """A new `<domain>` document where each volume disk stays on the overlay its old definition (`old`) runs
    on, when that overlay leads back to the same volume: redefining a domain keeps its external snapshots."""
    root = parse(xml)
    pairs = zip([d for d in root.findall("devices/disk") if d.get("device", "disk") == "disk"],
                [d for d in old.findall("devices/disk") if d.get("device", "disk") == "disk"])
    changed = False
    for new, was in pairs:
        source, old_source = new.find("source"), was.find("source")
        volume = source.get("volume") if source is not None else None
        current = old_source.get("file") if old_source is not None else None
        if volume and current and os.path.basename(current) != volume and leads_to(host, current, volume):
            new.set("type", "file")
            source.attrib.clear()
            source.set("file", current)
            changed = True
    return render(root) if changed else xml


def merge_all(host: Host, dom: libvirt.virDomain) -> None:
    """Merge back the overlays of every external snapshot of a domain and delete their memory files (before
    it is deleted, so that its volumes keep what was written since)."""
    found = snapshot_files(dom)
    with domain_lock(dom.UUIDString()):
        for files, memory in found:
            merge(host, dom, files, memory)


def refresh(host: Host, path: str) -> None:
    """Refresh the pool whose folder holds `path`, so that its volumes include new overlay files."""
    folder = os.path.dirname(path)
    for pool in host.conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        if parse(pool.XMLDesc(0)).findtext("target/path") == folder:
            with doing(f"refreshing storage pool {pool.name()}"):
                pool.refresh(0)


def merge_note(dom: libvirt.virDomain, overlays: list[str], memory: list[str]) -> str:
    """What `merge` of these overlay (and memory) files will do, in the plan's words."""
    names = ", ".join(sorted(os.path.basename(path) for path in overlays))
    paused = "" if dom.isActive() else f"; {dom.name()} is shut off, so it is started paused for it and stopped again"
    saved = f"; the memory file {', '.join(sorted(os.path.basename(m) for m in memory))} is deleted" if memory else ""
    return (f"the overlays {names} are merged into the files below them (block commit) and deleted first, keeping "
            f"what was written since the snapshot{paused}{saved}")


def leftover_notes(dom: libvirt.virDomain) -> list[str]:
    """What deleting a domain does with the files of its external snapshots still there, in the plan's words."""
    found = snapshot_files(dom)
    if not found:
        return []
    files = [path for files, _ in found for path in files.values()]
    memory = [memory for _, memory in found if memory]
    return ["before it goes, what its external snapshots leave: " + merge_note(dom, files, memory)]


def snapshot_files(dom: libvirt.virDomain) -> list[tuple[dict[str, str], str | None]]:
    """The overlay files (by disk target) and memory file of each external snapshot of a domain."""
    with doing(f"reading the snapshots of domain {dom.name()}"):
        docs = [snap.getXMLDesc(0) for snap in dom.listAllSnapshots(0)]
    return [(files, snapshot_document.memory_file(xml)) for xml in docs if (files := snapshot_document.overlays(xml))]


def merge(host: Host, dom: libvirt.virDomain, overlays: dict[str, str], memory: str | None = None) -> None:
    """Commit each overlay (by disk target) into the file below it and delete the overlay volumes and the
    memory file; a shut-off domain is started paused for the block jobs and stopped again."""
    started = not dom.isActive()
    if started:
        with doing(f"starting domain {dom.name()} paused to merge snapshot overlays"):
            dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
    try:
        for target, overlay in overlays.items():
            _commit(host, dom, target, overlay)
    finally:
        if started and dom.isActive():
            with doing(f"stopping domain {dom.name()} after merging snapshot overlays"):
                dom.destroy()
    for path in [*overlays.values(), *([memory] if memory else [])]:
        _delete_file(host, path)


def _active_layer(host: Host, dom: libvirt.virDomain, target: str) -> str | None:
    for found, path in disk_files(host, parse(dom.XMLDesc(0))):
        if found == target:
            return path
    return None


def _commit(host: Host, dom: libvirt.virDomain, target: str, overlay: str) -> None:
    """Commit `overlay` into its backing file: an active commit and a pivot when the disk runs on it."""
    active = _active_layer(host, dom, target) == overlay
    flags = libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE if active else 0
    what = f"merging overlay {os.path.basename(overlay)} of domain {dom.name()}'s disk {target} into its backing file"
    with doing(what):
        dom.blockCommit(target, None, None if active else overlay, 0, flags)
        deadline = time.monotonic() + JOB_TIMEOUT
        while True:
            info = dom.blockJobInfo(target, 0)
            if not info:
                return                  # a commit below the active layer ends by itself
            if active and info["end"] and info["cur"] == info["end"]:
                dom.blockJobAbort(target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                while dom.blockJobInfo(target, 0):
                    time.sleep(0.05)
                return
            if time.monotonic() > deadline:
                raise ProviderError(f"{what}: not done after {JOB_TIMEOUT:g}s")
            time.sleep(0.05)


def _delete_file(host: Host, path: str) -> None:
    """Delete the volume at `path`, an overlay or memory file (refreshing its pool first when the pool has not
    listed it)."""
    try:
        vol = host.conn.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        refresh(host, path)
        try:
            vol = host.conn.storageVolLookupByPath(path)
        except libvirt.libvirtError:
            return              # gone already
    with doing(f"deleting volume {os.path.basename(path)}"):
        vol.delete(0)
