"""The state: what kvmstate created, where, and with which attributes.

    model     the versioned JSON document (`version`, `serial`, `lineage`, resources)
    store     reading, locking, backing up and atomically writing the state file
    ops       state rm and state mv
    importer  `import`: adopt a live object that matches the configuration
    recover   rebuild a lost state from the ownership marks in libvirt
"""

from kvmstate.state.model import State, StateResource
from kvmstate.state.store import StateStore

__all__ = ["State", "StateResource", "StateStore"]
