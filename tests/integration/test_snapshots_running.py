"""Snapshots of running domains and external snapshots on a real libvirtd (the test guest booting under TCG):
an internal snapshot records the state `running` and a revert brings the domain back running; two external
disk-only snapshots made through `for_each` under names unlike their addresses put the disk onto overlay
volumes, the next plan is empty, a description changes in place, `--revert` to one is refused at plan time,
removing one merges its overlay back, a replaced domain merges them first, and destroy leaves nothing (no
overlay file, no snapshot, no domain, no pool); a domain keeps one kind of snapshot; a shut-off domain's
external snapshot survives a redefinition and merges back keeping what was written into the overlay."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .snapshot_lab import exit_code, lab, redescribed, snapshots  # noqa: F401 (lab: the fixture)

pytestmark = pytest.mark.libvirtd
TWO_EXTERNAL = 'first = "before-upgrade", second = "after-upgrade"'


def disk_file(conn, flags: int = 0, domain: str = "snap-guest") -> str:
    root = ET.fromstring(conn.lookupByName(domain).XMLDesc(flags))
    source = root.find("devices/disk[@device='disk']/source")
    return source.get("file") or source.get("volume")


def test_internal_snapshot_of_a_running_domain_reverts_it_running(lab, conn) -> None:
    lab.write(points='live = "while-running"', power="running")
    lab("apply", "--auto-approve")
    found = snapshots(conn)
    assert found["while-running"].findtext("state") == "running"
    assert found["while-running"].find("memory").get("snapshot") == "internal"
    assert exit_code(lab) == 0

    # Stopped through the configuration, then reverted: the snapshot's memory state runs again, and the next
    # plan shows that the file wants it stopped.
    lab.write(points='live = "while-running"', power="stopped")
    lab("apply", "--auto-approve", "--shutdown-timeout", "2")
    assert conn.lookupByName("snap-guest").state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    target = 'snapshot.points["live"]'
    assert "domain.vm will be reverted to snapshot while-running" in lab("plan", "--revert", target).stdout
    lab("apply", "--auto-approve", "--revert", target)
    dom = conn.lookupByName("snap-guest")
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert dom.snapshotCurrent(0).getName() == "while-running"
    plan = lab("plan").stdout
    assert "domain.vm will be updated in place" in plan and 'power = "running" -> "stopped"' in plan, plan


def test_external_snapshots_of_a_running_domain(lab, conn) -> None:
    lab.write(kind="external", points=TWO_EXTERNAL, power="running", memory=True)
    lab("apply", "--auto-approve")
    found = snapshots(conn)
    assert sorted(found) == ["after-upgrade", "before-upgrade"]
    assert found["before-upgrade"].find("disks/disk").get("snapshot") == "external"
    assert found["after-upgrade"].findtext("state") == "disk-snapshot"        # disk-only
    assert found["before-upgrade"].findtext("state") == "running"             # with its memory
    assert found["before-upgrade"].find("memory").get("file") == str(lab.pool / "snap-guest.before-upgrade.memory")
    pool = conn.storagePoolLookupByName("snap-pool")
    volumes = sorted(v.name() for v in pool.listAllVolumes())
    assert volumes == ["snap-disk", "snap-disk.after-upgrade", "snap-disk.before-upgrade",
                       "snap-guest.before-upgrade.memory"]
    top = Path(disk_file(conn)).name
    assert top in volumes[1:3] and Path(disk_file(conn, libvirt.VIR_DOMAIN_XML_INACTIVE)).name == top
    assert conn.lookupByName("snap-guest").state()[0] == libvirt.VIR_DOMAIN_RUNNING
    plan = lab("plan").stdout           # the disk on its overlay is the configured volume: no change, no drift
    assert "No changes" in plan and "outside kvmstate" not in plan, plan

    # A description changes in place: the same snapshots, their metadata redefined.
    redescribed(lab, conn, "before-upgrade", "kept first", kind="external", points=TWO_EXTERNAL, power="running",
                memory=True)

    # libvirt 9.0 cannot revert to an external snapshot: refused at plan time, at its place in the file.
    result = lab("plan", "--revert", 'snapshot.points["first"]', check=1)
    assert "cannot revert a domain to an external snapshot" in result.stderr, result.stderr
    assert "snapshots.hcl line" in result.stderr, result.stderr

    # Removing one snapshot merges its overlay back; the domain keeps running on the other.
    lab.write(kind="external", points='second = "after-upgrade"', description="kept", power="running")
    plan = lab("plan").stdout
    assert "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in plan, plan
    assert "(libvirt 9.0 cannot delete an external snapshot: the overlays snap-disk.before-upgrade are merged " \
        "into the files below them (block commit) and deleted first" in plan, plan
    assert "the memory file snap-guest.before-upgrade.memory is deleted" in plan, plan
    lab("apply", "--auto-approve")
    assert sorted(snapshots(conn)) == ["after-upgrade"]
    assert sorted(v.name() for v in pool.listAllVolumes()) == ["snap-disk", "snap-disk.after-upgrade"]
    assert Path(disk_file(conn)).name == "snap-disk.after-upgrade"
    assert conn.lookupByName("snap-guest").state()[0] == libvirt.VIR_DOMAIN_RUNNING
    assert exit_code(lab) == 0

    # A replaced domain (renamed) merges its overlays back first; its snapshot is taken again of the new one.
    lab.write(kind="external", points='second = "after-upgrade"', description="kept", power="running",
              domain="snap-renamed")
    plan = lab("plan").stdout
    assert plan.count("must be replaced") == 2, plan
    assert "before it goes, what its external snapshots leave: the overlays snap-disk.after-upgrade" in plan, plan
    lab("apply", "--auto-approve", "--shutdown-timeout", "2")
    assert sorted(v.name() for v in pool.listAllVolumes()) == ["snap-disk", "snap-disk.after-upgrade"]
    assert Path(disk_file(conn, domain="snap-renamed")).name == "snap-disk.after-upgrade"
    assert exit_code(lab) == 0

    lab("destroy", "--auto-approve", "--shutdown-timeout", "2")
    assert conn.listAllDomains() == [] and conn.listAllStoragePools() == []
    assert not lab.pool.exists() or list(lab.pool.iterdir()) == []


def test_mixing_kinds_on_one_domain_is_refused_at_plan_time(lab, conn) -> None:
    lab.write(kind="external", points='first = "outer"', power="running")
    lab("apply", "--auto-approve")
    lab.write(kind="external", points='first = "outer"', power="running")
    (lab.workdir / "more.hcl").write_text('snapshot "inner" {\n  name   = "inner-one"\n  domain = domain.vm\n}\n')
    result = lab("plan", check=1)
    assert "on more.hcl line 1" in result.stderr and "keeps one kind" in result.stderr, result.stderr
    (lab.workdir / "more.hcl").unlink()


def qemu_io(path: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, str(path)], capture_output=True, text=True)


def test_external_snapshot_of_a_stopped_domain_survives_a_redefinition_and_merges_back(lab, conn) -> None:
    lab.write(kind="external", points='only = "frozen"', power="stopped")
    lab("apply", "--auto-approve")
    overlay = lab.pool / "snap-disk.frozen"
    assert Path(disk_file(conn, libvirt.VIR_DOMAIN_XML_INACTIVE)) == overlay
    assert exit_code(lab) == 0
    written = qemu_io(overlay, "write -P 0xab 0 64k")       # what the guest wrote after the snapshot
    assert written.returncode == 0, written.stderr

    # A restart-class change redefines the domain: its disk stays on the overlay.
    lab.write(kind="external", points='only = "frozen"', power="stopped")
    main = lab.workdir / "main.hcl"
    main.write_text(main.read_text().replace('cmdline = "console=ttyS0"', 'cmdline = "console=ttyS0 quiet"'))
    lab("apply", "--auto-approve")
    assert Path(disk_file(conn, libvirt.VIR_DOMAIN_XML_INACTIVE)) == overlay
    assert exit_code(lab) == 0

    # Taking the disk off its overlay is refused at plan time, at the domain's disks in the file.
    kept = main.read_text()
    main.write_text(kept.replace("  disk {\n    volume = volume.disk\n  }\n", ""))
    result = lab("plan", check=1)
    assert "disk 1 runs on snap-disk.frozen, the overlay of an external snapshot of volume snap-disk" in \
        result.stderr and "main.hcl line" in result.stderr, result.stderr
    main.write_text(kept)

    # Removing the snapshot merges the overlay into the volume (the domain started paused for it, then off).
    (lab.workdir / "snapshots.hcl").unlink()
    assert "snap-guest is shut off, so it is started paused for it and stopped again" in lab("plan").stdout
    lab("apply", "--auto-approve")
    assert conn.lookupByName("snap-guest").state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
    assert conn.lookupByName("snap-guest").listAllSnapshots(0) == []
    assert Path(disk_file(conn, libvirt.VIR_DOMAIN_XML_INACTIVE)).name == "snap-disk"
    assert sorted(v.name() for v in conn.storagePoolLookupByName("snap-pool").listAllVolumes()) == ["snap-disk"]
    assert not overlay.exists()
    read = qemu_io(lab.pool / "snap-disk", "read -P 0xab 0 64k")
    assert read.returncode == 0 and "Pattern verification failed" not in read.stdout, read.stdout
    assert exit_code(lab) == 0
