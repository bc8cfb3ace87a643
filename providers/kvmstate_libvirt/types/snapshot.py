"""Domain snapshots: read (every domain's, in bulk), check (what the domain's disks and firmware allow),
create, update the description (the snapshot's metadata redefined), revert the domain to one, delete.
Identity: the domain's UUID, the creation time and the name. Snapshots carry no owner mark."""

from __future__ import annotations

import libvirt

from kvmstate.provider import LiveObject, Problem, ProviderError, Request

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
        """An internal snapshot needs every disk of the domain in qcow2, and a running domain without UEFI
        firmware (QEMU saves its state into every writable image, and the firmware's variables are a raw file).
        Read from the configuration, before any change."""
        domain = request.referenced("domain")
        disks = domain.attributes.get("disks", [])
        by_path = [(disk.get("file") or disk.get("block"), "raw") for disk in disks if "volume" not in disk]
        volumes = [request.referenced(f"disks[{i}].volume", of=domain) for i, disk in enumerate(disks)
                   if "volume" in disk]
        other = by_path + [(vol.name, vol.attributes.get("format", "qcow2")) for vol in volumes]
        raw = [f"{name} is {fmt}" for name, fmt in other if fmt != "qcow2"]
        if raw:
            return [Problem("kind", f"snapshot {request.name}: an internal snapshot (kind = \"internal\", the "
                            "default) is kept inside the domain's disks, which must all be qcow2, but "
                            f"{domain.name}'s disk {raw[0]}. Attach a qcow2 volume instead (external "
                            "snapshots are not supported yet).")]
        if domain.attributes.get("firmware") == "uefi" and domain.attributes.get("power") == "running":
            return [Problem("kind", f"snapshot {request.name}: libvirt cannot take an internal snapshot of a "
                            f"running UEFI domain ({domain.name}): its firmware variables are a raw file. Take it "
                            "while the domain is stopped (power = \"stopped\").")]
        return []

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Snapshot.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up domain {spec.domain} for snapshot {name}"):
            dom = host.conn.lookupByName(spec.domain)
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
        dom, snap = self._lookup(host, name, identity)
        if snap is not None:
            with doing(f"deleting snapshot {name} of domain {dom.name()}"):
                snap.delete(0)

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
