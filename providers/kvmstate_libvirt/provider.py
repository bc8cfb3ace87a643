"""`LibvirtProvider`: the kvmstate provider protocol over libvirt, dispatching to one operations class per type.

Importing this module is cheap: the declarations come from `declarations`, and the
operations (and with them libvirt) are imported on the first call that needs a host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

from kvmstate.provider import HostCheck, LiveObject, Owner, Problem, ProviderError, Request, ResourceType, Unreadable

from .connection import Connections
from .declarations import TYPES

if TYPE_CHECKING:
    from .types import ResourceOperations


def operations(type_name: str) -> ResourceOperations:
    """The operations of a resource type (the first call imports them, and libvirt)."""
    from .types import OPERATIONS
    if type_name not in OPERATIONS:
        raise ProviderError(f"the libvirt provider has no resource type {type_name!r}")
    return OPERATIONS[type_name]


class LibvirtProvider:
    """Networks, storage pools, volumes, cloud-init seeds, domains and their snapshots on any number of libvirt
    hosts."""

    name = "libvirt"

    def __init__(self) -> None:
        self.connections = Connections()

    def resource_types(self) -> Iterable[ResourceType]:
        return TYPES

    def configure(self, hosts: Mapping[str, str], options: Mapping[str, Any]) -> None:
        """Remember each host's URI and the options (`shutdown_timeout`, seconds); connect lazily."""
        self.connections.configure(hosts, options)

    def connect(self, hosts: Iterable[str]) -> None:
        """Open these hosts' connections in the background, while the engine reads the files."""
        self.connections.connect(list(hosts))

    def read(self, host: str, types: Iterable[str]) -> list[LiveObject | Unreadable]:
        """Every object of the asked types on a host, each type listed once in bulk, in declaration order
        (and an `Unreadable` for each inactive pool when volumes or seeds are asked for)."""
        wanted = set(types)
        target = self.connections.get(host)
        found: dict[str, list[LiveObject]] = {}
        for rtype in TYPES:
            if rtype.name in wanted:
                found[rtype.name] = operations(rtype.name).read_all(target, found)
        return [obj for objects in found.values() for obj in objects]

    def check(self, request: Request, live: LiveObject | None) -> list[Problem]:
        return operations(request.type).check(self.connections.get(request.host), request, live)

    def normalize(self, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        return operations(live.type).normalize(self.connections.get(live.host), live, desired)

    def create(self, request: Request) -> LiveObject:
        return operations(request.type).create(self.connections.get(request.host), request)

    def update(self, request: Request, live: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        return operations(request.type).update(self.connections.get(request.host), request, live, paths, restart)

    def delete(self, type: str, host: str, name: str, identity: str) -> None:
        operations(type).delete(self.connections.get(host), name, identity)

    def adopt(self, live: LiveObject, owner: Owner) -> LiveObject:
        """Write the ownership mark into a domain or network; pools and volumes carry none."""
        return operations(live.type).adopt(self.connections.get(live.host), live, owner)

    def facts(self, host: str) -> dict[str, Any]:
        """The host's memory (total and free, bytes), logical CPUs and architecture."""
        from .capabilities import facts
        return facts(self.connections.get(host))

    def revert(self, live: LiveObject) -> None:
        """Put a snapshot's domain back to the snapshot (`--revert`)."""
        operations(live.type).revert(self.connections.get(live.host), live)

    def delete_notes(self, live: LiveObject) -> list[str]:
        """How deleting the object goes when it is more than a delete (an external snapshot's overlays)."""
        return operations(live.type).delete_notes(self.connections.get(live.host), live)

    def revert_problems(self, type: str, attributes: dict[str, Any]) -> list[Problem]:
        """Why reverting to a snapshot with these (live) attributes would fail (an external one)."""
        return operations(type).revert_problems(attributes)

    def doctor(self, uri: str) -> list[HostCheck]:
        """What a host needs for kvmstate's domains, checked as virt-host-validate does."""
        from .doctor import diagnose
        return diagnose(uri)

    def close(self) -> None:
        self.connections.close()
