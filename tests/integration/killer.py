"""Run the kvmstate command line and kill it with SIGKILL at a chosen point, as a crash would.

    KVMSTATE_KILL_AT=before:N    just before the Nth libvirt call that changes something
    KVMSTATE_KILL_AT=after:N     just after it returned
    KVMSTATE_KILL_AT=write:N     in the middle of the Nth state write: a whole-state write (temporary file
                                 written, not renamed) or a journal append (half the line written)
    KVMSTATE_KILL_AT=count       kill nothing; write {"calls": C, "writes": W, "labels": [...]} to
                                 $KVMSTATE_KILL_COUNTS at exit (labels: each call's `class.method`, in order)
    KVMSTATE_KILL_AT=pause:N     kill nothing; before the Nth call, write its name (e.g. virStoragePool.create)
                                 to $KVMSTATE_RESUME.at, then wait until the file $KVMSTATE_RESUME exists

Usage: python tests/integration/killer.py plan|apply|destroy ARGS...

       python tests/integration/killer.py --serve
A fork server, for the many runs of the crash trials: it imports kvmstate, the provider and their parsers
once, without ever connecting to libvirt, then for each JSON line on stdin
({"args": [...], "cwd": DIR, "kill_at": "before:3", "out": PREFIX}) forks a child that runs the command line
exactly as above (fresh process, its own connection, stdout and stderr in PREFIX.out and PREFIX.err) and
answers {"code": exit code, or -9 when killed}. A run then costs its own work, not an interpreter start.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
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
mode, target = "count", 0
counts: dict = {"calls": 0, "writes": 0, "labels": []}
lock = threading.Lock()


def configure(kill_at: str) -> None:
    global mode, target
    mode, _, at = kill_at.partition(":")
    target = int(at or 0)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def counted(label: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with lock:                      # apply runs actions on several threads
            counts["calls"] += 1
            counts["labels"].append(label)
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
            setattr(cls, name, counted(f"{cls.__name__}.{name}", getattr(cls, name)))

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


def write_counts() -> None:
    if mode == "count" and os.environ.get("KVMSTATE_KILL_COUNTS"):
        with open(os.environ["KVMSTATE_KILL_COUNTS"], "w") as f:
            f.write(json.dumps(counts))


def run_main() -> int:
    """The command line in this process; its exit code."""
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    write_counts()
    return code


def warm_up() -> None:
    """Import what a run of plan or apply imports, so forked children start with it loaded."""
    import importlib

    import kvmstate.cli.run  # noqa: F401
    for name in ("kvmstate.apply.applier", "kvmstate.plan.planner", "kvmstate.plan.live", "kvmstate.config.loader",
                 "kvmstate.config.hcl_file", "kvmstate.config.yaml_file", "kvmstate.render.text",
                 "kvmstate_libvirt.provider", "kvmstate_libvirt.types.domain", "kvmstate_libvirt.types.network",
                 "kvmstate_libvirt.types.pool", "kvmstate_libvirt.types.volume", "kvmstate_libvirt.types.cloudinit",
                 "kvmstate_libvirt.seed", "kvmstate_libvirt.image", "kvmstate_libvirt.template", "hcl2", "lark",
                 "jinja2", "jinja2.sandbox", "pycdlib"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def serve() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    warm_up()
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(job["cwd"])
                os.dup2(devnull, 0)
                os.dup2(os.open(job["out"] + ".out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
                os.dup2(os.open(job["out"] + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
                os.environ.update(job.get("env", {}))
                configure(job.get("kill_at", "count"))
                sys.argv = ["kvmstate", *job["args"]]
                code = run_main()
            except BaseException:       # never return into the server loop in the child
                import traceback
                traceback.print_exc()
                code = 70
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        configure(os.environ.get("KVMSTATE_KILL_AT", "count"))
        sys.exit(run_main())
