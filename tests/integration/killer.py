"""Run the kvmstate command line and kill it with SIGKILL at a chosen point, as a crash would.

    KVMSTATE_KILL_AT=before:N    just before the Nth libvirt call that changes something
    KVMSTATE_KILL_AT=after:N     just after it returned
    KVMSTATE_KILL_AT=write:N     in the middle of the Nth state write (temporary file written, not renamed)
    KVMSTATE_KILL_AT=count       kill nothing; write {"calls": C, "writes": W} to $KVMSTATE_KILL_COUNTS at exit
    KVMSTATE_KILL_AT=pause:N     kill nothing; before the Nth call, write its name (e.g. virStoragePool.create)
                                 to $KVMSTATE_RESUME.at, then wait until the file $KVMSTATE_RESUME exists

Usage: python -m tests.integration.killer plan|apply|destroy ARGS...
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import signal
import threading
import time

import libvirt

import kvmstate.state.store as store
from kvmstate.cli import main

MUTATING = {
    libvirt.virConnect: ["networkDefineXML", "storagePoolDefineXML", "defineXML", "createXML"],
    libvirt.virNetwork: ["create", "destroy", "undefine", "setAutostart", "update"],
    libvirt.virStoragePool: ["build", "create", "destroy", "delete", "undefine", "setAutostart", "createXML"],
    libvirt.virStorageVol: ["delete", "resize", "upload"],
    libvirt.virDomain: ["create", "createWithFlags", "destroy", "destroyFlags", "shutdown", "undefine",
                        "undefineFlags", "setAutostart", "setMetadata", "setMemoryFlags", "setVcpusFlags",
                        "attachDeviceFlags", "detachDeviceFlags", "blockResize"],
}
mode, _, at = os.environ.get("KVMSTATE_KILL_AT", "count").partition(":")
target = int(at or 0)
counts = {"calls": 0, "writes": 0}
lock = threading.Lock()


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def counted(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with lock:                      # apply runs actions on several threads
            counts["calls"] += 1
            n = counts["calls"]
        if mode == "before" and n == target:
            die()
        if mode == "pause" and n == target:
            with open(os.environ["KVMSTATE_RESUME"] + ".at", "w") as at:
                at.write(fn.__qualname__)
            while not os.path.exists(os.environ["KVMSTATE_RESUME"]):
                time.sleep(0.05)
        result = fn(*args, **kwargs)
        if mode == "after" and n == target:
            die()
        return result
    return wrapper


for cls, names in MUTATING.items():
    for name in names:
        if hasattr(cls, name):
            setattr(cls, name, counted(getattr(cls, name)))

_replace = store.os.replace


class _Os:
    """The store's view of `os`, whose `replace` can die half-way through a state write."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def replace(src, dst):
        if not str(dst).endswith(".backup"):
            with lock:
                counts["writes"] += 1
                n = counts["writes"]
            if mode == "write" and n == target:
                die()
        return _replace(src, dst)


store.os = _Os()
if mode == "count":
    atexit.register(lambda: open(os.environ["KVMSTATE_KILL_COUNTS"], "w").write(json.dumps(counts)))

if __name__ == "__main__":
    main()
