"""Lifecycle conditions on a real libvirtd: a precondition on the host's memory (the facts libvirt reports)
fails the plan before anything is made; conditions that hold plan, apply and destroy; a postcondition that
fails after an apply makes it exit 1, the objects applied and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd

CONFIG = '''domain "vm" {
  count  = 2
  name   = "cond-vm-${count.index}"
  type   = "qemu"
  memory = "MEMORY"
  power  = "stopped"
  lifecycle {
    precondition {
      condition     = parsesize(self.memory) * 2 <= host.memory && host.cpus >= 1
      error_message = "${self.name} wants ${self.memory}; host ${host.name} has ${host.memory} bytes."
    }
    postcondition {
      condition     = self.power == "stopped"
      error_message = "${self.name} should be stopped."
    }
  }
}
'''


def test_host_memory_precondition_then_conditions_that_hold(tmp_path: Path, conn) -> None:
    cli = Cli(tmp_path)
    (tmp_path / "main.hcl").write_text(CONFIG.replace("MEMORY", "512TiB"))
    refused = cli("plan", check=1)
    assert "Error: Resource precondition failed" in refused.stderr
    assert "on main.hcl line 9, column 7, in domain.vm[0]" in refused.stderr
    assert "cond-vm-0 wants 512TiB; host default has " in refused.stderr
    assert not [d for d in conn.listAllDomains() if d.name().startswith("cond-")]

    (tmp_path / "main.hcl").write_text(CONFIG.replace("MEMORY", "64MiB"))
    try:
        cli("apply", "--auto-approve")
        assert sorted(d.name() for d in conn.listAllDomains() if d.name().startswith("cond-")) == \
            ["cond-vm-0", "cond-vm-1"]
        assert cli("plan", "--detailed-exitcode").returncode == 0
        (tmp_path / "main.hcl").write_text(CONFIG.replace("MEMORY", "96MiB")
                                           .replace('self.power == "stopped"', 'self.power == "running"'))
        failed = cli("apply", "--auto-approve", check=1)           # the memory changes; they stay stopped
        assert "Error: Resource postcondition failed" in failed.stderr
        assert "on main.hcl line 13, column 7, in domain.vm[0]" in failed.stderr
        assert "cond-vm-1 should be stopped." in failed.stderr and "recorded in the state" in failed.stderr
        assert cli("plan", "--detailed-exitcode").returncode == 0       # applied and recorded all the same
    finally:
        cli("destroy", "--auto-approve", "--shutdown-timeout", "1")
    assert not [d for d in conn.listAllDomains() if d.name().startswith("cond-")]
