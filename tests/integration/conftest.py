"""Fixtures for tests against the private libvirtd (see scripts/private-libvirtd)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
