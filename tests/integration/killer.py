"""Run the kvmstate command line and kill it with SIGKILL at a chosen point, as a crash would.

    KVMSTATE_KILL_AT=before:N    just before the Nth libvirt call that changes something
    KVMSTATE_KILL_AT=after:N     just after it returned
    KVMSTATE_KILL_AT=write:N     in the middle of the Nth state write: a whole-state write (temporary file
                                 written, not renamed) or a journal append (half the line written)
    KVMSTATE_KILL_AT=count       kill nothing; write {"calls": C, "writes": W} to $KVMSTATE_KILL_COUNTS at exit
    KVMSTATE_KILL_AT=pause:N     kill nothing; before the Nth call, wait until the file $KVMSTATE_RESUME exists

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

import kvmstate.state.journal as journal
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


def _count_write() -> int:
    with lock:
        counts["writes"] += 1
        return counts["writes"]


class _Os:
    """The store's and the journal's view of `os`, whose `replace` and `write` can die half-way through a state
    write."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def write(fd, data):
        if mode == "write" and _count_write() == target:
            os.write(fd, data[:len(data) // 2])
            die()
        elif mode != "write":
            _count_write()
        return os.write(fd, data)

    @staticmethod
    def replace(src, dst):
        if not str(dst).endswith(".backup") and _count_write() == target and mode == "write":
            die()
        return _replace(src, dst)


store.os = journal.os = _Os()
if mode == "count":
    atexit.register(lambda: open(os.environ["KVMSTATE_KILL_COUNTS"], "w").write(json.dumps(counts)))

if __name__ == "__main__":
    main()
