"""The state: what kvmstate created, where, and with which attributes.

    model  the versioned JSON document (`version`, `serial`, `lineage`, resources)
    store  reading, locking, backing up and atomically writing the state file
"""

from kvmstate.state.model import State, StateResource
from kvmstate.state.store import StateStore

__all__ = ["State", "StateResource", "StateStore"]
