"""Configuration: read desired-state files into validated resources.

    source     the raw form both file formats load into, with source positions
    yaml_file  YAML reader (ruamel keeps line and column of every key)
    hcl_file   HCL reader (walks python-hcl2's syntax tree for positions)
    hcl_syntax HCL syntax errors said where the mistake is and what was expected
    printf     Terraform's format() verbs
    limits     the bounds every input is held to (size, depth, instances, strings)
    hosts      host blocks and the placement checks of the `host` meta-argument
    loader     finds the files, validates each resource against its provider's
               model, resolves references and reports every problem at once

Nothing here talks to libvirt or reads the state. The package's names come from
`loader` on first use, so importing one module here (variables, say) does not load
them all: `plan` starts connecting to libvirt before the loader is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kvmstate.config.loader import Configuration, Resource, load

__all__ = ["Configuration", "Resource", "load"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kvmstate.config import loader
        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
