"""What storage needs from a host, and which volumes a pool type can hold.

libvirt runs LVM, mount.nfs, iscsiadm and parted itself, on the host of the pool, and
only says so when a pool is built or started. On a local URI kvmstate looks for those
programs (and the kernel's device-mapper, which every logical volume needs) before
any change; on a remote host it cannot see them, and `kvmstate doctor` lists what
libvirt's storage pool capabilities say instead.
"""

from __future__ import annotations

import os
import shutil
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlparse

import libvirt

from kvmstate.provider import HostCheck, Problem

from .connection import Host
from .schema import Domain, Pool, Volume


@dataclass(frozen=True)
class Tools:
    """The programs a pool type needs on its host, and how to get them."""

    programs: tuple[str, ...]
    fix: str


NEEDS = {
    "logical": Tools(("vgcreate", "lvcreate", "vgchange"), "install lvm2 (apt-get install lvm2)"),
    "netfs": Tools(("mount.nfs",), "install the NFS client (apt-get install nfs-common)"),
    "iscsi": Tools(("iscsiadm",), "install the iSCSI initiator (apt-get install open-iscsi) and start iscsid"),
    "disk": Tools(("parted",), "install parted (apt-get install parted)"),
}
DM_FIX = ("load the kernel's device-mapper (modprobe dm_mod); in a container the host's kernel must offer it "
          "(/proc/misc lists device-mapper)")
VOLUME_POOLS = ("dir", "netfs", "logical")      # iscsi LUNs and disk partitions are attached by path instead


def is_local(host: Host) -> bool:
    """A URI on this machine (no host name), not the test driver: its programs can be looked for here."""
    uri = urlparse(host.conn.getURI())
    return not uri.hostname and not uri.scheme.startswith("test")


def missing_programs(pool_type: str) -> list[str]:
    tools = NEEDS.get(pool_type)
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [p for p in tools.programs if shutil.which(p, path=path) is None] if tools else []


def has_device_mapper() -> bool:
    try:
        with open("/proc/misc") as misc:
            return any(line.split()[-1:] == ["device-mapper"] for line in misc)
    except OSError:
        return False


def pool_problems(host: Host, spec: Pool) -> list[Problem]:
    """A pool type whose programs this (local) host lacks, before any change."""
    missing = missing_programs(spec.type) if is_local(host) else []
    if not missing:
        return []
    return [Problem("type", f"host {host.name} cannot run {spec.type} pools: {', '.join(missing)} not found; "
                            f"{NEEDS[spec.type].fix}.")]


def volume_problems(host: Host, name: str, spec: Volume, pool_type: str) -> list[Problem]:
    """A volume its pool's type cannot hold: iscsi and disk pools hold none kvmstate can make, a logical
    pool raw volumes only (and only with the kernel's device-mapper, checked on a local host)."""
    if pool_type not in VOLUME_POOLS:
        return [Problem("pool", f"volume {name}: kvmstate creates no volumes in a {pool_type} pool (its LUNs or "
                                "partitions exist already); attach one to a domain by path with a disk's `block`.")]
    if pool_type != "logical":
        return []
    problems = []
    if spec.format != "raw":
        problems.append(Problem("format", f"volume {name}: a logical pool holds raw logical volumes only, not "
                                          f"{spec.format}; set format = \"raw\"."))
    if spec.backing_store or spec.source:
        key = "backing_store" if spec.backing_store else "source"
        problems.append(Problem(key, f"volume {name}: a logical volume cannot have `{key}`; use `clone_of` to copy "
                                     "another volume into it."))
    if is_local(host) and not has_device_mapper():
        problems.append(Problem("pool", f"volume {name}: host {host.name} has no device-mapper, so LVM cannot "
                                        f"activate logical volumes; {DM_FIX}."))
    return problems


def disk_problems(host: Host, spec: Domain, volumes: dict[str, Volume]) -> list[Problem]:
    """Disks attached by path that are not on the host, and shareable disks that are not raw.

    A path is found through libvirt when a started pool holds it (any host); otherwise it is looked for
    on this machine for a local URI, and not checked for a remote one (libvirt has no call for it)."""
    problems = []
    for i, disk in enumerate(spec.disks):
        fmt = volumes[disk.volume].format if disk.volume in volumes else "raw"
        if disk.shareable and fmt != "raw" and not disk.readonly:
            problems.append(Problem(f"disks[{i}].shareable", f"a shareable disk must be raw (QEMU cannot share a "
                                                              f"{fmt} image between guests); use a raw volume."))
        path = disk.host_path
        if path is None or _in_a_pool(host, path):
            continue
        if is_local(host):
            found = os.path.isfile(path) if disk.file else _is_block_device(path)
            if not found:
                what = "file" if disk.file else "block device"
                problems.append(Problem(f"disks[{i}].{'file' if disk.file else 'block'}",
                                        f"host {host.name} has no {what} {path}; create it first, or attach a "
                                        "volume kvmstate manages with `volume`."))
    return problems


def _in_a_pool(host: Host, path: str) -> bool:
    try:
        host.conn.storageVolLookupByPath(path)
        return True
    except libvirt.libvirtError:
        return False


def _is_block_device(path: str) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def doctor_checks(host: Host) -> list[HostCheck]:
    """One line per pool type beyond dir: supported by libvirt, and (locally) its programs present.
    Missing storage tools only warn: most hosts use dir pools alone."""
    supported = _supported_types(host)
    checks = []
    for kind, tools in NEEDS.items():
        if supported is not None and kind not in supported:
            checks.append(HostCheck(f"{kind} pools", True, f"libvirt at this URI has no {kind} storage backend",
                                    "install libvirt-daemon-driver-storage (or the package with that backend)",
                                    warn=True))
            continue
        missing = missing_programs(kind) if is_local(host) else []
        if missing:
            checks.append(HostCheck(f"{kind} pools", True, f"{', '.join(missing)} not found, so {kind} pools "
                                                           "cannot be used", tools.fix, warn=True))
        else:
            checks.append(HostCheck(f"{kind} pools", True, f"{kind} pools can be used"
                                    + ("" if is_local(host) else " (libvirt has the backend; its programs are not "
                                                                 "visible from here)")))
    if is_local(host) and not has_device_mapper():
        checks.append(HostCheck("device-mapper", True, "the kernel offers no device-mapper, so logical pools "
                                                       "can hold no volumes", DM_FIX, warn=True))
    return checks


def _supported_types(host: Host) -> set[str] | None:
    """The pool types libvirt's storage driver has backends for; None when it cannot say."""
    try:
        caps = ET.fromstring(host.conn.getStoragePoolCapabilities(0))
    except (libvirt.libvirtError, AttributeError):
        return None
    return {p.get("type") for p in caps.findall("pool") if p.get("supported") == "yes"}
