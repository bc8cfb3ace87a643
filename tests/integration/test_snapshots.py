"""Snapshots on a real libvirtd: two internal snapshots of a shut-off domain booting the test guest, made
through `for_each` under names that differ from their addresses; the second plan is empty; a description
changes in place (live class: the same snapshot, redefined); `--revert` puts the domain's definition back;
`import` adopts a snapshot the state forgot; a replaced domain's snapshots are replaced after it;
an internal snapshot of a domain on a raw disk is refused at plan time at its place in the file; destroy
leaves nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt
import pytest

from .snapshot_lab import exit_code, lab, redescribed, snapshots  # noqa: F401 (lab: the fixture)

pytestmark = pytest.mark.libvirtd


def test_snapshots_describe_revert_and_destroy(lab, conn) -> None:
    lab.write()
    lab("apply", "--auto-approve")
    found = snapshots(conn)
    assert sorted(found) == ["clean-install", "pre-upgrade"]
    assert found["pre-upgrade"].findtext("description") == "taken before"
    assert found["clean-install"].findtext("state") == "shutoff"
    assert exit_code(lab) == 0

    # A description is changed in place: the same snapshots (creation time kept), redefined.
    redescribed(lab, conn, "pre-upgrade", "kept before")

    # Revert: a title set behind kvmstate's back (kvmstate does not manage titles) is gone afterwards.
    dom = conn.lookupByName("snap-guest")
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "changed after the snapshot", None, None,
                    libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    assert exit_code(lab) == 0
    target = 'snapshot.points["before"]'
    plan = lab("plan", "--revert", target).stdout
    assert f"domain.vm will be reverted to snapshot pre-upgrade ({target})" in plan, plan
    assert "1 to revert." in plan
    lab("apply", "--auto-approve", "--revert", target)
    root = ET.fromstring(conn.lookupByName("snap-guest").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert root.find("title") is None
    assert conn.lookupByName("snap-guest").snapshotCurrent(0).getName() == "pre-upgrade"
    assert exit_code(lab) == 0

    # The same through a saved plan: `plan --revert --out`, then `apply FILE`.
    conn.lookupByName("snap-guest").setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "again", None, None,
                                                libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    lab("plan", "--revert", 'snapshot.points["baseline"]', "--out", "revert.plan")
    lab("apply", "revert.plan")
    root = ET.fromstring(conn.lookupByName("snap-guest").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert root.find("title") is None
    assert conn.lookupByName("snap-guest").snapshotCurrent(0).getName() == "clean-install"

    # Import: a snapshot forgotten by the state is adopted again under its address (by its libvirt name).
    lab("state", "rm", 'snapshot.points["baseline"]')
    assert "not managed by kvmstate" in lab("plan", check=1).stderr       # a conflict until it is imported
    lab("import", 'snapshot.points["baseline"]', "clean-install")
    assert exit_code(lab) == 0

    # A replaced domain (renamed) takes its snapshots along: they are replaced after it, on the new one.
    lab.write(description="kept", domain="snap-renamed")
    plan = lab("plan").stdout
    assert plan.count("must be replaced") == 3, plan
    lab("apply", "--auto-approve")
    assert sorted(snapshots(conn, "snap-renamed")) == ["clean-install", "pre-upgrade"]
    assert exit_code(lab) == 0

    lab("destroy", "--auto-approve", "--shutdown-timeout", "2")
    assert [d.name() for d in conn.listAllDomains()] == []


def test_internal_snapshot_of_a_raw_disk_is_refused_at_plan_time(lab, conn) -> None:
    lab.write(fmt="raw")
    result = lab("plan", check=1)
    assert "on snapshots.hcl line 1, column 1" in result.stderr, result.stderr
    assert 'kind = "internal"' in result.stderr and "snap-disk is raw" in result.stderr, result.stderr
    assert conn.listAllDomains() == []
