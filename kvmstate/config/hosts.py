"""Hosts: the named libvirt connections a configuration places its resources on.

    host "lab1" {                          hosts:
      uri = var.lab1_uri                     lab1:
    }                                          uri: ${var.lab1_uri}

    host "edge" {                          # one host per key of a map: edge-a, edge-b, ...
      for_each = var.edge_uris             #   (each.key is the host's name, each.value its URI here)
      uri      = each.value
    }

    domain "web" {
      host = "lab1"                        # the `host` meta-argument; `host = each.key` under for_each
      ...
    }

A resource without `host` lives on the host `default`: the URI from --uri,
LIBVIRT_DEFAULT_URI or qemu:///system, unless the configuration declares a host
named `default` itself. So files written before hosts existed work unchanged.

What lives here: reading host blocks (their URIs may come from variables), and the
placement checks: every `host` names a declared host, and a resource refers through
its reference attributes (a domain's volumes and networks, a volume's pool) only to
resources on its own host. Nothing here connects to a host.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kvmstate.addrs import format_path, valid_name
from kvmstate.config.evaluate import EvalError, Scope, evaluate
from kvmstate.config.inputs import DEFAULT_HOST
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position, shown

if TYPE_CHECKING:
    from kvmstate.config.loader import Resource

BLOCK = "host"              # the HCL block type and the type of the raw resources read from it
SECTION = "hosts"           # the YAML top-level key


class HostSpec(BaseModel):
    """The body of a host block (the readers use its fields to map nested blocks; none exist)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)    # built by the first file with a host block

    uri: str = Field(description="The libvirt URI, e.g. qemu+ssh://root@kvm1.example.com/system?no_tty=1.")
    for_each: dict[str, Any] | None = Field(None, description="One host per key: the key is its name.")


@dataclass(frozen=True)
class HostDecl:
    """A declared host: its name, its URI and where it was declared."""

    name: str
    uri: str
    position: Position


def declare(raws: list[RawResource], scope: Scope, diags: Diagnostics) -> dict[str, HostDecl]:
    """The hosts the host blocks declare, their URIs evaluated (variables are known by now)."""
    hosts: dict[str, HostDecl] = {}
    for raw in raws:
        if not isinstance(raw.body, dict):
            diags.error("Unexpected value", f"host {raw.name!r} takes a mapping with `uri`.", raw.position)
            continue
        unknown = sorted(set(raw.body) - set(HostSpec.model_fields))
        for key in unknown:
            diags.error("Unknown attribute", f"A host block takes `uri` (and `for_each`), not {key!r}.",
                        raw.position_of((key,)))
        if unknown:
            continue
        if "for_each" in raw.body:
            keys = _value(raw, ("for_each",), scope, diags)
            if keys is _FAILED:
                continue
            if not isinstance(keys, dict):
                diags.error("Invalid for_each", f"A host block's for_each takes a map of host names; it is "
                            f"{shown(keys)}.", raw.position_of(("for_each",)))
                continue
            instances = [(str(k), v) for k, v in sorted(keys.items())]
        else:
            instances = [(raw.name, None)]
        for name, each in instances:
            inner = replace(scope, used=set(), each=(name, each) if "for_each" in raw.body else None)
            _declare_one(raw, name, inner, hosts, diags)
    return hosts


_FAILED = object()


def _declare_one(raw: RawResource, name: str, scope: Scope, hosts: dict[str, HostDecl], diags: Diagnostics) -> None:
    if not valid_name(name):
        diags.error("Invalid host name", f"{name!r} is not a valid host name: use letters, digits, '_', '.', '+' "
                    "and '-', starting with a letter or digit.", raw.position)
        return
    if name in hosts:
        diags.error("Duplicate host", f"The host {name!r} is declared twice: here and at {hosts[name].position}.",
                    raw.position)
        return
    if "uri" not in raw.body:
        diags.error("Missing required attribute", f"host {name!r} needs `uri`, e.g. uri = "
                    "\"qemu+ssh://root@kvm1.example.com/system\".", raw.position)
        return
    uri = _value(raw, ("uri",), scope, diags)
    if uri is _FAILED:
        return
    if not isinstance(uri, str) or ":" not in uri:
        diags.error("Invalid host URI", f"host {name!r}: `uri` must be a libvirt URI such as qemu:///system or "
                    f"qemu+ssh://root@kvm1/system; it is {shown(uri)}.", raw.position_of(("uri",)))
        return
    hosts[name] = HostDecl(name, uri, raw.position)


def _value(raw: RawResource, path: tuple, scope: Scope, diags: Diagnostics) -> Any:
    try:
        return evaluate(raw.body[path[0]], scope, 1)
    except EvalError as exc:
        diags.error(exc.summary, exc.detail, exc.pos or raw.position_of(path))
        return _FAILED


def check_placement(resources: dict, hosts: dict[str, HostDecl], diags: Diagnostics) -> None:
    """Each resource's `host` is declared, and its references stay on its host."""
    known = sorted(set(hosts) | {DEFAULT_HOST})
    for res in resources.values():
        if res.host not in known:
            near = difflib.get_close_matches(res.host, known, n=1)
            hint = f' Did you mean "{near[0]}"?' if near else ""
            declared = ", ".join(known)
            diags.error("Unknown host", f'{res.address} is placed on the host {res.host!r}, which is not declared.'
                        f"{hint} Declared hosts: {declared}. Add a block host \"{res.host}\" {{ uri = \"...\" }} "
                        "(HCL) or an entry under `hosts:` (YAML).", res.raw.position_of(("host",)),
                        str(res.address), "host")
    for res in resources.values():
        for path, target in res.refs.items():
            other: Resource | None = resources.get(target)
            if other is None or other.host == res.host or res.host not in known or other.host not in known:
                continue
            attr = format_path(path)
            diags.error("Reference to another host",
                        f'{res.address} is on host {res.host!r} but refers through "{attr}" to {target}, which is on '
                        f"host {other.host!r}. libvirt objects can only use objects of their own host: place both "
                        f"on one host (set `host` on {res.address} or {target}), or declare a {target.type} on "
                        f"host {res.host!r} and refer to that one.", res.raw.position_of(path), str(res.address), attr)


def host_uris(hosts: dict[str, HostDecl], default_uri: str) -> dict[str, str]:
    """Host name -> URI for the providers: the declared hosts, and `default` (the command line's URI unless
    declared)."""
    return {DEFAULT_HOST: default_uri, **{name: h.uri for name, h in hosts.items()}}


def schema_section() -> dict:
    """The `hosts:` section of the YAML file format's JSON Schema."""
    return {"type": ["object", "null"],
            "description": "Named libvirt hosts (HCL: `host \"NAME\" { uri = ... }`); resources choose one with "
                           "`host`. Without it a resource is on the host `default`, the URI given by --uri.",
            "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9_.+-]*$"},
            "additionalProperties": {"type": "object", "additionalProperties": False, "required": ["uri"],
                                     "properties": {"uri": {"type": "string", "description": HostSpec.model_fields[
                                         "uri"].description},
                                                    "for_each": {"description": HostSpec.model_fields[
                                                        "for_each"].description}}}}
