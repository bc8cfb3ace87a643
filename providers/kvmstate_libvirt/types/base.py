"""`ResourceOperations`: the members every resource type has, each with a no-op default."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, ClassVar

from kvmstate.provider import DeferredLiveObject, LiveObject, Owner, Problem, ProviderError, Request, ResourceType

from ..connection import Host


class ResourceOperations:
    """One resource type's operations on a host; a type overrides what it does (create at least)."""

    declaration: ClassVar[ResourceType]

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Every object of this type on the host, read in bulk; `earlier`: what the same provider read found
        for the types before this one, by type name (a cloudinit's ISO is a volume, read once)."""
        return []

    def check(self, host: Host, request: Request, live: LiveObject | None) -> list[Problem]:
        """Problems found before any change."""
        return []

    def normalize(self, host: Host, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        """Live attributes with aliases of the desired values in the desired form."""
        return dict(live.attributes)

    def create(self, host: Host, request: Request) -> LiveObject:
        raise ProviderError(f"the libvirt provider cannot create a {self.declaration.name}")

    def update(self, host: Host, request: Request, live: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        """Apply the changed attribute paths; by default nothing changes in place."""
        return live

    def delete(self, host: Host, name: str, identity: str) -> None:
        """Delete the object; gone already is not an error."""

    def revert(self, host: Host, live: LiveObject) -> None:
        """Put the object this one `reverts` back to it; only snapshots do."""
        raise ProviderError(f"the libvirt provider cannot revert to a {self.declaration.name}")

    def delete_notes(self, host: Host, live: LiveObject) -> list[str]:
        """How deleting the object goes, for the plan, when it is more than a delete."""
        return []

    def revert_problems(self, attributes: dict[str, Any]) -> list[Problem]:
        """Why reverting to an object with these live attributes would fail, found at plan time."""
        return []

    def adopt(self, host: Host, live: LiveObject, owner: Owner) -> LiveObject:
        """Write the ownership mark; types without `<metadata>` return the object as is."""
        return live


def names(objects: list) -> set[str]:
    """The names of libvirt objects from a list call (names are known locally, no further call)."""
    return {obj.name() for obj in objects}


def listed(list_all: Callable[..., list], active: int, autostart: int) -> tuple[list, set[str], set[str]]:
    """Every object of a list call (`listAllNetworks`, ...), and the names of the active and of the
    autostarted ones: three calls, whatever the number of objects."""
    return list_all(), names(list_all(active)), names(list_all(autostart))


def changed(paths: list[str]) -> set[str]:
    """The top-level attributes among changed paths: "dhcp.start" and "disks[1].bus" -> "dhcp", "disks"."""
    return {p.split(".")[0].split("[")[0] for p in paths}


def fingerprint(document: str, *beside: Any) -> str:
    """A digest of an object's XML document and of all that its comparison reads beside it (list flags, live
    values, the host's versions): equal fingerprints, equal comparisons."""
    return hashlib.blake2b(repr((document, beside)).encode(), digest_size=16).hexdigest()


def deferred(kind: ResourceType, host: Host, name: str, identity: str, stamp: str, whole: Callable[[], LiveObject],
             lazy: bool, known: dict[str, Any] | None = None) -> LiveObject:
    """An object read with fingerprint `stamp`: for a bulk read (`lazy`) parsed by `whole` on first use, for
    another read parsed at once."""
    read = DeferredLiveObject(kind.name, name, host.name, identity, stamp, whole, known)
    return read if lazy else read.whole()
