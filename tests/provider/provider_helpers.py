"""Helpers shared by the libvirt provider's tests (imported as a top-level module)."""

from __future__ import annotations

from typing import Any

from kvmstate.plan.diff import prune
from kvmstate.addrs import Address, format_path
from kvmstate.metadata import references, without_local
from kvmstate.provider import Dependency, Owner, Request
from kvmstate_libvirt import LibvirtProvider, schema

MODELS = {"network": schema.Network, "pool": schema.Pool, "volume": schema.Volume, "domain": schema.Domain,
          "cloudinit": schema.Cloudinit, "snapshot": schema.Snapshot}
LINEAGE = "2b1f6c7e-0c1d-4f7a-9a51-6c1f0e3d2a10"


def desired(type_: str, **attrs: Any) -> dict[str, Any]:
    """Desired attributes as the engine hands them over."""
    return MODELS[type_].model_validate(attrs).model_dump(mode="json", exclude_none=True)


def request(type_: str, name: str, attrs: dict[str, Any], deps: dict[str, dict] | None = None) -> Request:
    """A request whose references name the `deps` (address -> desired attributes) by their object names, which
    the tests choose different from the addresses' names: `{"volume.base": attrs}` is the volume `base-vol`."""
    by_name = {(Address.parse(a).type, object_name(a)): Address.parse(a) for a in deps or {}}

    def refs(type_: str, attrs: dict[str, Any]) -> dict[str, Address]:
        spec = MODELS[type_].model_validate(attrs)
        return {format_path(path): by_name[(rtype, value)] for path, rtype, value in references(spec)
                if (rtype, value) in by_name}

    dependencies = {Address.parse(a): Dependency(Address.parse(a), object_name(a), v, refs(Address.parse(a).type, v))
                    for a, v in (deps or {}).items()}
    return Request(address=Address(type_, name), type=type_, name=name, host="h1", attributes=attrs,
                   owner=Owner(LINEAGE, f"{type_}.{name}"), refs=refs(type_, attrs), dependencies=dependencies)


def object_name(address: str) -> str:
    """The object name the provider tests give the resource at `address`."""
    return Address.parse(address).name


def shown(type_: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The desired attributes a live object can show (kvmstate's own settings such as wait_for_ip left out)."""
    return without_local(MODELS[type_], attrs)


def compared(provider: LibvirtProvider, live, want: dict[str, Any]) -> dict[str, Any]:
    """The live attributes as the planner compares them with `want`, and `want` as they can show."""
    want = shown(live.type, want)
    return prune(provider.normalize(live, want), want)
