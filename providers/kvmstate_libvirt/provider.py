"""`LibvirtProvider`: the kvmstate provider protocol over libvirt, dispatching to one module per type."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Iterable, Mapping

from kvmstate.provider import HostCheck, LiveObject, Owner, Problem, ProviderError, Request, ResourceType

from . import cloudinit, doctor, domain, network, pool, schema, volume
from .connection import Connections

# type name -> (module that handles it, its declaration); read() lists types in this order.
_TYPES: dict[str, tuple[ModuleType, ResourceType]] = {
    "network": (network, ResourceType("network", "networks", schema.Network, "A libvirt virtual network.",
                                            marks_owner=True)),
    "pool": (pool, ResourceType("pool", "pools", schema.Pool, "A libvirt storage pool.")),
    "volume": (volume, ResourceType("volume", "volumes", schema.Volume, "A volume inside a storage pool.",
                                          scope="pool")),
    "cloudinit": (cloudinit, ResourceType("cloudinit", "cloudinits", schema.Cloudinit,
                                          "A cloud-init NoCloud seed ISO inside a storage pool.", scope="pool")),
    "domain": (domain, ResourceType("domain", "domains", schema.Domain, "A virtual machine.", marks_owner=True)),
}


def _module(type_name: str) -> ModuleType:
    if type_name not in _TYPES:
        raise ProviderError(f"the libvirt provider has no resource type {type_name!r}")
    return _TYPES[type_name][0]


class LibvirtProvider:
    """Networks, storage pools, volumes, cloud-init seeds and domains on any number of libvirt hosts."""

    name = "libvirt"

    def __init__(self) -> None:
        self.connections = Connections()

    def resource_types(self) -> Iterable[ResourceType]:
        return [rtype for _, rtype in _TYPES.values()]

    def configure(self, hosts: Mapping[str, str], options: Mapping[str, Any]) -> None:
        """Remember each host's URI and the options (`shutdown_timeout`, seconds); connect lazily."""
        self.connections.configure(hosts, options)

    def connect(self, hosts: Iterable[str]) -> None:
        """Open these hosts' connections in the background, while the engine reads the files."""
        self.connections.connect(list(hosts))

    def read(self, host: str, types: Iterable[str]) -> list[LiveObject]:
        """Every object of the asked types on a host, each type listed once in bulk."""
        wanted = set(types)
        target = self.connections.get(host)
        return [obj for name in _TYPES if name in wanted for obj in _module(name).read_all(target)]

    def check(self, request: Request, live: LiveObject | None) -> list[Problem]:
        """Problems found before any change; each type module may define `check(host, request, live)`."""
        check = getattr(_module(request.type), "check", None)
        return check(self.connections.get(request.host), request, live) if check else []

    def normalize(self, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        if live.type == "domain":
            return domain.normalize(self.connections.get(live.host), live, desired)
        return dict(live.attributes)

    def create(self, request: Request) -> LiveObject:
        return _module(request.type).create(self.connections.get(request.host), request)

    def update(self, request: Request, live: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        return _module(request.type).update(self.connections.get(request.host), request, live, paths, restart)

    def delete(self, type: str, host: str, name: str, identity: str) -> None:
        _module(type).delete(self.connections.get(host), name, identity)

    def adopt(self, live: LiveObject, owner: Owner) -> LiveObject:
        """Write the ownership mark into a domain or network; pools and volumes carry none."""
        adopt = getattr(_module(live.type), "adopt", None)
        return adopt(self.connections.get(live.host), live, owner) if adopt else live

    def doctor(self, uri: str) -> list[HostCheck]:
        """What a host needs for kvmstate's domains, checked as virt-host-validate does."""
        return doctor.diagnose(uri)

    def close(self) -> None:
        self.connections.close()
