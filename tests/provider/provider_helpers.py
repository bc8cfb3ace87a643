"""Helpers shared by the libvirt provider's tests (imported as a top-level module)."""

from __future__ import annotations

from typing import Any

from kvmstate.diff import prune
from kvmstate.provider import Owner, Request, observable
from kvmstate_libvirt import LibvirtProvider, schema

MODELS = {"network": schema.Network, "pool": schema.Pool, "volume": schema.Volume, "domain": schema.Domain,
          "cloudinit": schema.Cloudinit}
LINEAGE = "2b1f6c7e-0c1d-4f7a-9a51-6c1f0e3d2a10"


def desired(type_: str, **attrs: Any) -> dict[str, Any]:
    """Desired attributes as the engine hands them over."""
    return MODELS[type_].model_validate(attrs).model_dump(mode="json", exclude_none=True)


def request(type_: str, name: str, attrs: dict[str, Any], deps: dict[str, dict] | None = None) -> Request:
    return Request(address=f"{type_}.{name}", type=type_, name=name, host="h1", attributes=attrs,
                   owner=Owner(LINEAGE, f"{type_}.{name}"), dependencies=deps or {})


def shown(type_: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The desired attributes a live object can show (kvmstate's own settings such as wait_for_ip left out)."""
    return observable(MODELS[type_], attrs)


def compared(provider: LibvirtProvider, live, want: dict[str, Any]) -> dict[str, Any]:
    """The live attributes as the planner compares them with `want`, and `want` as they can show."""
    want = shown(live.type, want)
    return prune(provider.normalize(live, want), want)
