"""`kvmstate doctor`: can these hosts run kvmstate's domains, and what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from kvmstate.cli.app import ColorOpt, UriOpt, VarFileOpt, VarOpt, app, fail, inputs


@app.command()
def doctor(path: Optional[Path] = typer.Argument(None, help="A configuration: check every host it declares "
                                                 "(and `default` when a resource uses it)."),
           uri: Optional[str] = UriOpt, var: Optional[list[str]] = VarOpt,
           var_file: Optional[list[Path]] = VarFileOpt, color: Optional[bool] = ColorOpt) -> None:
    """Check that the hosts can run kvmstate's domains (as virt-host-validate does), and say what to fix.

    Without a configuration, the host at --uri is checked. Exits 1 when a check fails; a warning (the host
    works, but not as well as it could) does not.

    Examples: kvmstate doctor --uri qemu:///system;  kvmstate doctor examples/multi-host --var-file hosts.tfvars
    """
    import sys

    from kvmstate.cli.workspace import resolve_uri
    from kvmstate.provider import Registry
    from kvmstate.render.style import Style, use_color
    style = Style(use_color(sys.stdout, color))
    registry = Registry.discover()
    hosts = {"default": resolve_uri(uri)}
    if path is not None:
        hosts = _hosts(path, registry, resolve_uri(uri), inputs(var, var_file))
    failed: dict[str, int] = {}
    for name, target in hosts.items():
        if len(hosts) > 1:
            print(style(f"host {name} ({target}):", "bold"))
        for provider in registry.providers:
            for check in getattr(provider, "doctor", lambda *_: [])(target):
                mark = style("FAIL", "red", "bold") if not check.ok else style("warn", "yellow") if check.warn \
                    else style("ok  ", "green")
                print(f"{mark} {check.name}: {check.detail}")
                if not check.ok or (check.warn and check.fix):
                    print(f"     fix: {check.fix}")
                if not check.ok:
                    failed[name] = failed.get(name, 0) + 1
        if len(hosts) > 1:
            print()
    where = ", ".join(f"{name} ({hosts[name]})" for name in hosts)
    if failed:
        total = sum(failed.values())
        on = ", ".join(f"{n} on {name}" for name, n in failed.items())
        print(f"\n{total} check{'s' if total > 1 else ''} failed: {on}.")
        raise typer.Exit(1)
    print(f"\nAll checks passed on {where}.")


def _hosts(path: Path, registry, default_uri: str, values) -> dict[str, str]:
    """Host -> URI: the declared hosts, and `default` when a resource is on it (or no host is declared)."""
    from kvmstate.config import load
    from kvmstate.config.hosts import DEFAULT_HOST, host_uris
    from kvmstate.diagnostics import DiagnosticError
    try:
        config = load(path, registry, values)
    except DiagnosticError as exc:
        fail(exc)
    uris = host_uris(config.hosts, default_uri)
    used = {r.host for r in config.resources.values()}
    if config.hosts and DEFAULT_HOST not in used and DEFAULT_HOST not in config.hosts:
        del uris[DEFAULT_HOST]
    return uris
