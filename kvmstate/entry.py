"""The console entry point: `kvmstate --version` answers before the CLI's dependencies load.

Everything else goes to kvmstate.cli.app, which imports typer, pydantic and the
providers; each command imports the rest of the engine it needs.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from kvmstate import __version__
        print(f"kvmstate {__version__}")
        return
    from kvmstate.cli import main as cli_main
    cli_main()
