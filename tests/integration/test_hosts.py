"""Several hosts in one configuration, on real daemons: three private libvirtds, two reached through their
UNIX sockets (qemu+unix) and one through qemu+ssh to an sshd this module starts (tests/integration/hosts.py).

One topology goes through its life: applied across the hosts, planned again (empty), a VM moved to another
host, a host removed from the configuration (what was on it destroyed through the URI the state recorded),
and a host whose daemon stopped (a clear error; with --skip-unreachable the others converge).
"""

from __future__ import annotations

import json
import shutil
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration import hosts as fixtures

pytestmark = pytest.mark.skipif(not os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD"),
                                reason="needs scripts/private-libvirtd (root, namespaces)")

CONFIG = """
variable "hosts" {
  type = map(string)
}
variable "placement" {
  type = map(string)        # VM name -> host
}

host "each" {
  for_each = var.hosts
  uri      = each.value
}

network "lab" {
  for_each = var.hosts
  host     = each.key
  name     = "lab"
  mode     = "isolated"
  ipv4     = "10.77.0.0/24"
}

pool "images" {
  for_each = var.hosts
  host     = each.key
  name     = "images"
  path     = "/var/lib/libvirt/kvmstate-hosts"
}

volume "root" {
  for_each = var.placement
  host     = each.value
  name     = "${each.key}-root"
  pool     = "images"
  capacity = "16MiB"
  format   = "qcow2"
}

domain "vm" {
  for_each = var.placement
  host     = each.value
  name     = each.key
  type     = "qemu"
  memory   = "128MiB"
  power    = "stopped"
  disk {
    volume = volume.root[each.key]
  }
  interface {
    network = "lab"
  }
}
"""


@pytest.fixture(scope="module")
def lab():
    if not shutil.which("sshd") and not Path("/usr/sbin/sshd").exists():
        pytest.skip("openssh-server is not installed (scripts/host-setup installs it)")
    base, daemons = fixtures.start(["a", "b", "c"])
    sshd = None
    try:
        sshd = fixtures.Sshd(daemons["c"], base)
        yield base, daemons, sshd
    finally:
        if sshd is not None:
            sshd.stop()
        for daemon in daemons.values():
            daemon.stop()
        shutil.rmtree(base, ignore_errors=True)


class Run:
    def __init__(self, folder: Path, sshd: fixtures.Sshd):
        self.folder, self.sshd = folder, sshd

    def __call__(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess:
        env = {**os.environ, "NO_COLOR": "1", "KVMSTATE_CONNECT_TIMEOUT": "20"}
        env.pop("LIBVIRT_DEFAULT_URI", None)
        result = subprocess.run(self.sshd.wrap([*fixtures.KVMSTATE, *args]), cwd=self.folder, env=env,
                                capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        if check is not None:
            assert result.returncode == check, f"kvmstate {' '.join(args)} -> {result.returncode}\n" \
                                               f"{result.stdout}\n{result.stderr}"
        return result


def names(uri: str) -> dict[str, set[str]]:
    import libvirt
    conn = libvirt.open(uri)
    try:
        return {"domains": {d.name() for d in conn.listAllDomains()},
                "networks": {n.name() for n in conn.listAllNetworks()},
                "pools": {p.name() for p in conn.listAllStoragePools()}}
    finally:
        conn.close()


def test_a_topology_across_three_hosts(lab, tmp_path: Path) -> None:
    base, daemons, sshd = lab
    folder = tmp_path / "multi"
    folder.mkdir()
    (folder / "main.hcl").write_text(CONFIG)
    uris = {"a": daemons["a"].uri, "b": daemons["b"].uri, "c": f"qemu+ssh://{fixtures.SSH_ALIAS}/system"}

    def variables(hosts: dict, placement: dict) -> None:
        (folder / "hosts.json").write_text(json.dumps({"hosts": hosts, "placement": placement}))

    run = Run(folder, sshd)
    variables(uris, {"web": "a", "db": "c", "cache": "b"})
    applied = run("apply", "--auto-approve", "--var-file", "hosts.json")
    assert '# domain.vm["db"] on host c will be created' in applied.stdout
    assert "host c: 4 to add" in applied.stdout
    for name, daemon in daemons.items():
        found = names(daemon.uri)
        assert "lab" in found["networks"] and "images" in found["pools"], (name, found)
    assert names(daemons["c"].uri)["domains"] == {"db"}
    state = json.loads((folder / "kvmstate.state.json").read_text())
    db = next(r for r in state["resources"] if r["address"] == 'domain.vm["db"]')
    assert (db["host"], db["uri"]) == ("c", uris["c"])
    listed = run("state", "list").stdout
    assert 'domain.vm["db"]' in listed and "host c" in listed

    # nothing to do the second time, over ssh as well
    run("plan", "--var-file", "hosts.json", "--detailed-exitcode")

    # an unknown host key fails at once with a hint, never a prompt
    known = sshd.home_ssh / "known_hosts"
    saved = known.read_text()
    known.write_text("")
    started = time.monotonic()
    refused = run("plan", "--var-file", "hosts.json", check=1)
    assert time.monotonic() - started < 15
    assert "cannot connect to host c" in refused.stderr and "ssh does not know or trust the host's key" in refused.stderr
    known.write_text(saved)

    # a VM moves from host a to host b: replaced, and the reason says why
    variables(uris, {"web": "b", "db": "c", "cache": "b"})
    moved = run("apply", "--auto-approve", "--var-file", "hosts.json")
    assert '# domain.vm["web"] on host b must be replaced' in moved.stdout
    assert "it moves from host a to host b" in moved.stdout
    assert names(daemons["a"].uri)["domains"] == set()
    assert names(daemons["b"].uri)["domains"] == {"web", "cache"}

    # host c leaves the configuration: what was on it is destroyed through the URI the state recorded
    variables({k: v for k, v in uris.items() if k != "c"}, {"web": "b", "cache": "b"})
    removed = run("apply", "--auto-approve", "--var-file", "hosts.json")
    assert "host c: 0 to add, 0 to change, 0 to replace, 4 to destroy." in removed.stdout
    assert names(daemons["c"].uri) == {"domains": set(), "networks": set(), "pools": set()}

    # host b's daemon stops: a clear error naming it; with --skip-unreachable host a converges
    daemons["b"].stop()
    variables({k: v for k, v in uris.items() if k != "c"}, {"web": "b", "cache": "b", "extra": "a"})
    failed = run("plan", "--var-file", "hosts.json", check=1)
    assert "Host unreachable" in failed.stderr and f"cannot connect to host b ({uris['b']})" in failed.stderr
    assert "--skip-unreachable" in failed.stderr
    skipped = run("apply", "--auto-approve", "--skip-unreachable", "--var-file", "hosts.json")
    assert "Warning: host b was NOT planned" in skipped.stdout
    assert names(daemons["a"].uri)["domains"] == {"extra"}
    again = run("plan", "--skip-unreachable", "--var-file", "hosts.json", "--detailed-exitcode")
    assert "No changes." in again.stdout
