"""The folder both snapshot test files work in: a pool, a qcow2 (or raw) volume and a domain booting the test
guest in main.hcl, and snapshots made through `for_each` under names unlike their addresses in snapshots.hcl;
destroyed afterwards, leaving no domain and no pool."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import Cli

MAIN = """
pool "images" {{
  name = "snap-pool"
  path = "{pool}"
}}

volume "disk" {{
  name     = "snap-disk"
  pool     = pool.images
  capacity = "16MiB"
  format   = "{format}"
}}

domain "vm" {{
  name    = "{domain}"
  type    = "qemu"
  machine = "pc"
  memory  = "128MiB"
  kernel  = "{guest}/vmlinuz"
  initrd  = "{guest}/initrd.img"
  cmdline = "console=ttyS0"
  power   = "{power}"

  disk {{
    volume = volume.disk
  }}
}}
"""

SNAPSHOTS = """snapshot "points" {{
  for_each    = {{ {points} }}
  name        = each.value
  domain      = domain.vm{kind}{memory}
  description = "{description} ${{each.key}}"
}}
"""

TWO = 'before = "pre-upgrade", baseline = "clean-install"'


@pytest.fixture
def lab(tmp_path: Path, guest: Path, conn):
    folder = tmp_path / "snap"
    folder.mkdir()
    cli = Cli(folder)

    def write(description: str = "taken", fmt: str = "qcow2", domain: str = "snap-guest", power: str = "stopped",
              kind: str | None = None, points: str = TWO, memory: bool = False) -> None:
        (folder / "main.hcl").write_text(MAIN.format(pool=cli.pool, guest=guest, format=fmt, domain=domain,
                                                     power=power))
        (folder / "snapshots.hcl").write_text(SNAPSHOTS.format(
            description=description, kind=f'\n  kind        = "{kind}"' if kind else "", points=points,
            memory='\n  memory      = each.key == "first"' if memory else ""))

    cli.write, cli.pool = write, tmp_path / "pool"
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "2", check=None)
    assert "snap-guest" not in [d.name() for d in conn.listAllDomains()]
    assert "snap-pool" not in [p.name() for p in conn.listAllStoragePools()]


def snapshots(conn, domain: str = "snap-guest") -> dict[str, ET.Element]:
    dom = conn.lookupByName(domain)
    return {s.getName(): ET.fromstring(s.getXMLDesc(0)) for s in dom.listAllSnapshots(0)}


def exit_code(cli: Cli, *args: str) -> int:
    return cli("plan", "--detailed-exitcode", *args, check=None).returncode


def redescribed(lab: Cli, conn, name: str, expected: str, **write) -> None:
    """Write the files again with another description: both snapshots are updated in place (the live class),
    the same snapshots (creation time kept) redefined, and the next plan is empty."""
    before = snapshots(conn)
    lab.write(description="kept", **write)
    plan = lab("plan").stdout
    assert plan.count("will be updated in place") == 2 and "Plan: 0 to add, 2 to change, 0 to replace" in plan, plan
    lab("apply", "--auto-approve")
    after = snapshots(conn)
    assert after[name].findtext("description") == expected
    assert after[name].findtext("creationTime") == before[name].findtext("creationTime")
    assert exit_code(lab) == 0
