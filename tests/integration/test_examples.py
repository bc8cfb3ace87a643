"""Every example a user is pointed at, applied for real on the private libvirtd.

For each of examples/basic, basic-hcl, lab, lab-vars, modules and the gitops example's `infra/`: apply, then a second
plan with `--detailed-exitcode` exits 0 (nothing to do), then destroy leaves libvirt exactly as it was (no
domain, network, pool or volume left). examples/lab is shrunk through its variables (see its header): its
base image is a small qcow2 served by `http.server` on 127.0.0.1 inside the daemon's network namespace,
its VMs get 64 MiB under TCG and do not wait for a lease (the blank image boots nothing).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .conftest import ROOT, Cli

pytestmark = pytest.mark.libvirtd
EXAMPLES = ROOT / "examples"


def inventory(conn) -> dict[str, set[str]]:
    """Every libvirt object on the daemon, by kind (volumes as pool/volume)."""
    pools = conn.listAllStoragePools()
    return {"domains": {d.name() for d in conn.listAllDomains()},
            "networks": {n.name() for n in conn.listAllNetworks()},
            "pools": {p.name() for p in pools},
            "volumes": {f"{p.name()}/{v.name()}" for p in pools if p.isActive() for v in p.listAllVolumes()}}


@pytest.fixture
def served(tmp_path: Path):
    """A folder served over HTTP on loopback; yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def round_trip(conn, folder: Path, *args: str, apply: list[str] | None = None) -> dict[str, float]:
    """apply, an empty second plan, destroy; nothing of the example left. Returns seconds per step."""
    before = inventory(conn)
    cli = Cli(folder)
    seconds: dict[str, float] = {}
    try:
        started = time.monotonic()
        cli(*(apply or ["apply", "--auto-approve", *args]))
        seconds["apply"] = time.monotonic() - started
        made = {kind: names - before[kind] for kind, names in inventory(conn).items()}
        assert all(made.values()), f"the example made nothing of some kind: {made}"
        second = cli("plan", "--detailed-exitcode", *args, check=None)
        assert second.returncode == 0, f"second plan is not empty:\n{second.stdout}\n{second.stderr}"
    finally:
        started = time.monotonic()
        destroyed = cli("destroy", "--auto-approve", "--shutdown-timeout", "1", *args, check=None)
        seconds["destroy"] = time.monotonic() - started
    after = inventory(conn)
    assert after == before, {kind: after[kind] - before[kind] for kind in after}
    if destroyed.returncode != 0 and "output." in destroyed.stderr and not after.keys() - before.keys():
        # Everything was destroyed, then evaluating the outputs failed: issue 10, defect 6, fixed on the engine
        # branch. Every other check above has passed; this marks only the exit code.
        pytest.xfail("destroy exits 1 on outputs that name destroyed instances (issue 10, defect 6)")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    return seconds


def copy(tmp_path: Path, name: str) -> Path:
    shutil.copytree(EXAMPLES / name, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize("name", ["basic", "basic-hcl", "lab-vars"])
def test_example_applies_plans_empty_and_destroys(name: str, tmp_path: Path, conn) -> None:
    round_trip(conn, copy(tmp_path, name))


def test_lab_example_with_a_local_image(tmp_path: Path, served, conn) -> None:
    www, url = served
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(www / "base.qcow2"), "64M"], check=True)
    folder = copy(tmp_path, "lab")
    variables = ["--var", f"image_url={url}/base.qcow2", "--var", "memory=64MiB", "--var", "domain_type=qemu",
                 "--var", "wait_for_ip=false", "--var", "ssh_key=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI test@ci"]
    round_trip(conn, folder, *variables)


def test_modules_example_with_a_local_image(tmp_path: Path, served, conn) -> None:
    """examples/modules, shrunk like the lab: its `vm` module called once per node with for_each."""
    www, url = served
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(www / "base.qcow2"), "64M"], check=True)
    folder = copy(tmp_path, "modules")
    variables = ["--var", f"image_url={url}/base.qcow2", "--var", "memory=64MiB", "--var", "domain_type=qemu",
                 "--var", 'nodes={ a = "128MiB", b = "128MiB" }']
    round_trip(conn, folder, *variables)


def test_gitops_configuration_through_its_pipeline(tmp_path: Path, conn) -> None:
    """The pipeline's steps: a Markdown plan saved as plan.bin, then `apply plan.bin`."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "gitops", repo)
    state = str(tmp_path / "runner" / "lab.state.json")
    (tmp_path / "runner").mkdir()
    cli = Cli(repo)
    markdown = cli("plan", "infra", "--state", state, "--format", "markdown", "--out", "plan.bin").stdout
    assert "domain.agent[1]" in markdown
    round_trip(conn, repo, "infra", "--state", state, apply=["apply", "plan.bin"])
