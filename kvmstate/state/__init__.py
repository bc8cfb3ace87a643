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

from kvmstate.state.backend import Backend
from kvmstate.state.model import State, StateResource
from kvmstate.state.store import StateStore

__all__ = ["Backend", "State", "StateResource", "StateStore"]
