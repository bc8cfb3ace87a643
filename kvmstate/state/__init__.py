"""The state: what kvmstate created, where, and with which attributes.

    model     the versioned JSON document (`version`, `serial`, `lineage`, resources)
    backend   the interface every place the state can live implements (read, lock, put, write, history)
    store     the local backend: the state file, its lock, backup and journal (journal)
    postgres  the PostgreSQL backend: one row per workspace and per resource, history, advisory lock
    select    which backend and workspace a command uses (flag, environment, `backend` block)
    crypto    encryption at rest (AES-GCM) for every backend and for saved plans
    ops       state rm and state mv
    importer  `import`: adopt a live object that matches the configuration
    recover   rebuild a lost state from the ownership marks in libvirt
"""

from importlib import import_module

_HOMES = {"Backend": "backend", "State": "model", "StateResource": "model", "StateStore": "store"}
__all__ = list(_HOMES)


def __getattr__(name: str):
    """The package's main types, imported on first use (so `kvmstate.state.select` loads without pydantic)."""
    if name in _HOMES:
        return getattr(import_module(f"kvmstate.state.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'kvmstate.state' has no attribute {name!r}")
