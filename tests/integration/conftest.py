"""Fixtures for tests against the private libvirtd (see scripts/private-libvirtd)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KVMSTATE = [sys.executable, "-m", "kvmstate"]


class Cli:
    """Runs the kvmstate command line in a working folder, as a user would."""

    def __init__(self, workdir: Path):
        self.workdir = workdir

    def __call__(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess:
        env = {**os.environ, "NO_COLOR": "1"}
        result = subprocess.run([*KVMSTATE, *args], cwd=self.workdir, env=env, capture_output=True, text=True,
                                timeout=600, stdin=subprocess.DEVNULL)
        if check is not None:
            assert result.returncode == check, f"kvmstate {' '.join(args)} -> {result.returncode}\n" \
                                               f"{result.stdout}\n{result.stderr}"
        return result


PIDFILE = Path("/run/libvirt/libvirtd.pid")


def daemon_up() -> bool:
    return subprocess.run(["virsh", "-c", "qemu:///system", "uri"], capture_output=True).returncode == 0


def restart_libvirtd():
    """Start the private libvirtd again (after it was killed) and connect to it."""
    import libvirt
    subprocess.run(["libvirtd", "-d", "-p", str(PIDFILE)], check=True)
    deadline = time.monotonic() + 60
    while not daemon_up():
        assert time.monotonic() < deadline, "libvirtd did not come back"
        time.sleep(0.2)
    return libvirt.open("qemu:///system")


@pytest.fixture(scope="session")
def guest() -> Path:
    """The cached test guest (.cache/guest), built from Debian packages by `make test` before it enters the
    private daemon's namespace (which has no network to download them)."""
    out = ROOT / ".cache" / "guest"
    subprocess.run([ROOT / "scripts" / "build-test-guest", out], check=True, timeout=600)
    return out


def identities(conn, prefix: str) -> dict[str, str]:
    """Every object whose name starts with `prefix`: kind and name -> UUID (a volume's key)."""
    ids = {f"domain {d.name()}": d.UUIDString() for d in conn.listAllDomains()}
    ids |= {f"network {n.name()}": n.UUIDString() for n in conn.listAllNetworks()}
    for pool in conn.listAllStoragePools():
        ids[f"pool {pool.name()}"] = pool.UUIDString()
        if pool.isActive():
            ids |= {f"volume {v.name()}": v.key() for v in pool.listAllVolumes()}
    return {k: v for k, v in ids.items() if k.split()[1].startswith(prefix)}


@pytest.fixture
def conn():
    import libvirt
    libvirt.registerErrorHandler(lambda *a: None, None)
    c = libvirt.open("qemu:///system")
    yield c
    c.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of examples/basic to change freely; its state file lands beside it."""
    shutil.copytree(ROOT / "examples" / "basic", tmp_path / "basic")
    return tmp_path / "basic"


@pytest.fixture
def cli(workdir: Path, conn):
    run = Cli(workdir)
    yield run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    leftovers = [d.name() for d in conn.listAllDomains()] + [n.name() for n in conn.listAllNetworks()] + \
        [p.name() for p in conn.listAllStoragePools()]
    for name in leftovers:
        assert not name.startswith("basic"), f"{name} left behind"


class Paused:
    """`kvmstate apply` run through killer.py, paused before its Nth libvirt call that changes something
    until `resume()`; killed if still running when the block ends."""

    def __init__(self, workdir: Path, at: int, *args: str):
        self.flag = workdir / "resume"
        env = {**os.environ, "NO_COLOR": "1", "KVMSTATE_KILL_AT": f"pause:{at}", "KVMSTATE_RESUME": str(self.flag)}
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("killer.py")), "apply",
                                         "--auto-approve", *args], cwd=workdir, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)

    def paused_at(self, timeout: float = 120) -> str:
        """Wait until the apply pauses, and return the libvirt call it paused before (e.g. virStoragePool.create)."""
        at = self.flag.with_name(self.flag.name + ".at")
        self.wait_for(at.exists, timeout)
        self.wait_for(at.read_text, timeout)
        return at.read_text()

    def wait_for(self, condition, timeout: float = 120) -> None:
        """Poll until `condition()` holds, failing if the process ends or the time runs out first."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)

    def resume(self) -> tuple[str, str]:
        self.flag.touch()
        return self.process.communicate(timeout=300)

    def __enter__(self) -> "Paused":
        return self

    def __exit__(self, *exc) -> None:
        self.flag.touch()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
