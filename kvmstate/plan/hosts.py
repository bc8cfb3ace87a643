"""Hosts in a plan: live objects read host by host in parallel, unreachable hosts, and what each host is reached by.

Every host's objects are read on its own thread (libvirt releases the GIL while it
waits for a host), so a plan over ten hosts costs about as long as its slowest host.
A host that cannot be reached stops the plan with an error naming it and its URI,
unless `skip_unreachable` is set: its resources are then left out of the plan
(neither read nor changed, their state untouched) and the plan says so loudly.

A resource recorded on a host that the configuration no longer declares is reached
through the URI the state recorded for it, so it can still be destroyed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from kvmstate.addrs import HOST_TARGET
from kvmstate.diagnostics import Diagnostics
from kvmstate.plan.live import Live, read_live
from kvmstate.provider import HostUnreachable, Registry
from kvmstate.state import State

MAX_READERS = 16        # hosts read at once


def read_all(registry: Registry, wanted: set[tuple[str, str]],
             skip_unreachable: bool) -> tuple[Live, dict[str, str]]:
    """The live objects of the wanted (host, type) pairs, and the hosts skipped as unreachable (name -> why).

    Raises a DiagnosticError naming every unreachable host when `skip_unreachable` is not set.
    """
    by_host: dict[str, set[tuple[str, str]]] = {}
    for host, rtype in wanted:
        by_host.setdefault(host, set()).add((host, rtype))
    if len(by_host) <= 1:
        results = {host: _read(registry, pairs) for host, pairs in by_host.items()}
    else:
        with ThreadPoolExecutor(max_workers=min(len(by_host), MAX_READERS),
                                thread_name_prefix="kvmstate-read") as pool:
            futures = {host: pool.submit(_read, registry, pairs) for host, pairs in sorted(by_host.items())}
        results = {host: future.result() for host, future in futures.items()}
    live = Live()
    unreachable: dict[str, str] = {}
    diags = Diagnostics()
    for host, result in sorted(results.items()):
        if isinstance(result, HostUnreachable):
            unreachable[host] = str(result)
            if not skip_unreachable:
                diags.error("Host unreachable", f"{result}. Fix the connection, or plan the other hosts with "
                            f"--skip-unreachable (the resources on {host} are then neither read nor changed). A host "
                            f"that will never come back: `kvmstate state rm {HOST_TARGET}{host}` forgets what the "
                            "state records on it.")
        else:
            live.update(result)
            live.unreadable.update(result.unreadable)
    diags.raise_if_errors()
    return live, unreachable


def _read(registry: Registry, pairs: set[tuple[str, str]]) -> Live | HostUnreachable:
    try:
        return read_live(registry, pairs)
    except HostUnreachable as exc:
        return exc


def recorded_uris(state: State, known: Iterable[str], diags: Diagnostics) -> dict[str, str]:
    """Host -> URI for the hosts the state records resources on but the configuration does not declare; a
    resource on such a host without a recorded URI is an error that says how to reach it."""
    known = set(known)
    out: dict[str, str] = {}
    missing: dict[str, list[str]] = {}
    for resource in state.resources:
        if resource.host in known:
            continue
        if resource.uri:
            out.setdefault(resource.host, resource.uri)
        else:
            missing.setdefault(resource.host, []).append(resource.address)
    for host, addresses in sorted(missing.items()):
        if host in out:
            continue
        shown = ", ".join(addresses[:5]) + (f" and {len(addresses) - 5} more" if len(addresses) > 5 else "")
        diags.error("Host no longer declared", f"The state records {shown} on the host {host!r}, which the "
                    "configuration no longer declares, without the URI it was reached by. Declare it again, "
                    f'host "{host}" {{ uri = "..." }}, to plan and destroy what is on it; or forget those resources '
                    f"with `kvmstate state rm {HOST_TARGET}{host}` (their libvirt objects stay).")
    return out


def expand_targets(texts: list[str], desired: dict, state: State, diags: Diagnostics) -> list[str]:
    """`--target` values with each `host.NAME` replaced by the addresses on that host (wanted there, or
    recorded there); a host with no resource is an error, never an empty target that would cover everything."""
    out: list[str] = []
    for text in texts:
        if not text.startswith(HOST_TARGET):
            out.append(text)
            continue
        host = text[len(HOST_TARGET):]
        on = {str(a) for a, r in desired.items() if r.host == host} | {r.address for r in state.resources
                                                                        if r.host == host}
        if not on:
            known = sorted({r.host for r in desired.values()} | {r.host for r in state.resources})
            diags.error("Unknown host", f"--target {text}: no resource is on the host {host!r} in the configuration "
                        f"or the state. Hosts with resources: {', '.join(known) or 'none'}.")
        out.extend(sorted(on))
    return out
