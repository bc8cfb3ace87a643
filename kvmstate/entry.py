"""The console entry point: `kvmstate --version` answers before the CLI's dependencies load,
and `kvmstate validate [PATH]` without typer (kvmstate.cli.check).

Everything else goes to kvmstate.cli, which imports typer and the named command's
module; each command imports the rest of the engine it needs.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        from kvmstate import __version__
        print(f"kvmstate {__version__}")
        return
    from kvmstate.cli.check import check, plain_validate
    path = plain_validate(args)
    if path is not None:
        sys.exit(check(path))
    from kvmstate.cli import main as cli_main
    cli_main()
