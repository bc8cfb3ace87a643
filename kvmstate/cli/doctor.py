"""`kvmstate doctor`: can this host run kvmstate's domains, and what to fix."""

from __future__ import annotations

from typing import Optional

import typer

from kvmstate.cli.app import ColorOpt, UriOpt, app


@app.command()
def doctor(uri: Optional[str] = UriOpt, color: Optional[bool] = ColorOpt) -> None:
    """Check that the host can run kvmstate's domains (as virt-host-validate does), and say what to fix.

    Exits 1 when a check fails; a warning (the host works, but not as well as it could) does not. Example: kvmstate doctor --uri qemu:///system
    """
    import sys

    from kvmstate.cli.workspace import resolve_uri
    from kvmstate.provider import Registry
    from kvmstate.render.style import Style, use_color
    style = Style(use_color(sys.stdout, color))
    target = resolve_uri(uri)
    failed = 0
    for provider in Registry.discover().providers:
        for check in getattr(provider, "doctor", lambda _: [])(target):
            mark = style("FAIL", "red", "bold") if not check.ok else style("warn", "yellow") if check.warn \
                else style("ok  ", "green")
            print(f"{mark} {check.name}: {check.detail}")
            if not check.ok or (check.warn and check.fix):
                print(f"     fix: {check.fix}")
            failed += not check.ok
    if failed:
        print(f"\n{failed} check{'s' if failed > 1 else ''} failed on {target}.")
        raise typer.Exit(1)
    print(f"\nAll checks passed on {target}.")
