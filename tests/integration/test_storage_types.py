"""A logical pool built on a loop device, volumes cloned and converted, and domains with shareable disks,
disks attached by file path and I/O threads, on a real libvirtd: applied, planned again (empty), changed with the update class
the documentation promises, and destroyed without a trace (virsh, vgs, pvs).

This machine's kernel has no device-mapper, so LVM cannot activate logical volumes here: the logical pool's
volume group is built, started and removed for real, while its volumes and a disk on one are checked at plan
time and in tests/provider (golden XML) only.
"""

from __future__ import annotations

import secrets
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate_libvirt import storage

from .conftest import Cli

pytestmark = pytest.mark.libvirtd
PREFIX = "sto"


def lvm(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True).stdout


@pytest.fixture
def loop(tmp_path: Path):
    """A loop device on a sparse 128 MiB file and a volume group name no one else uses; whatever is left of
    the group, its physical volume and the device is removed afterwards."""
    backing = tmp_path / "pv.img"
    backing.write_bytes(b"")
    subprocess.run(["truncate", "-s", "128M", str(backing)], check=True)
    dev = subprocess.run(["losetup", "-f", "--show", str(backing)], check=True, capture_output=True,
                         text=True).stdout.strip()
    vg = f"kvmst{secrets.token_hex(4)}"
    yield dev, vg
    subprocess.run(["vgremove", "-f", vg], capture_output=True)
    subprocess.run(["pvremove", "-ff", "-y", dev], capture_output=True)
    subprocess.run(["losetup", "-d", dev], check=True)


@pytest.fixture
def lab(tmp_path: Path, guest: Path, conn, loop):
    """A working folder, host files for the file disks, and a writer for main.hcl; destroyed afterwards."""
    work = tmp_path / "lab"
    work.mkdir()
    for key in ("a", "b"):
        subprocess.run(["truncate", "-s", "8M", str(tmp_path / f"scratch-{key}.img")], check=True)
    cli = Cli(work)
    dev, vg = loop

    def write(autostart: bool = False, copy_a: str = "", shared_file: bool = False, spare: str = "base",
              iothreads: int = 1) -> None:
        (work / "main.hcl").write_text(f'''
pool "lvm" {{
  name      = "{PREFIX}-lvm"
  type      = "logical"
  autostart = {str(autostart).lower()}
  source {{
    devices = ["{dev}"]
    name    = "{vg}"
  }}
}}

pool "images" {{
  name      = "{PREFIX}-images"
  autostart = {str(autostart).lower()}
  path      = "{tmp_path / 'images'}"
}}

volume "base" {{
  name     = "{PREFIX}-base"
  pool     = pool.images
  capacity = "16MiB"
  format   = "raw"
}}

volume "base2" {{
  name     = "{PREFIX}-base2"
  pool     = pool.images
  capacity = "16MiB"
}}

volume "copy" {{
  for_each = {{ a = "qcow2", b = "vmdk" }}
  name     = "{PREFIX}-copy-${{each.key}}"
  pool     = pool.images
  clone_of = volume.base
  format   = each.value
  {copy_a and f'capacity = each.key == "a" ? "{copy_a}" : null'}
}}

volume "spare" {{
  name     = "{PREFIX}-spare"
  pool     = pool.images
  clone_of = volume.{spare}
}}

volume "shared" {{
  name     = "{PREFIX}-shared"
  pool     = pool.images
  capacity = "8MiB"
  format   = "raw"
}}

domain "vm" {{
  for_each   = toset(["a", "b"])
  name       = "{PREFIX}-vm-${{each.key}}"
  type       = "qemu"
  machine    = "pc"
  memory     = "64MiB"
  kernel     = "{guest / 'vmlinuz'}"
  initrd     = "{guest / 'initrd.img'}"
  cmdline    = "console=ttyS0"
  iothreads  = {iothreads}
  disk {{
    volume   = volume.copy[each.key]
    iothread = {iothreads}
  }}
  disk {{
    volume    = volume.shared
    shareable = true
  }}
  disk {{
    file      = "{tmp_path}/scratch-${{each.key}}.img"
    shareable = {str(shared_file).lower()}
  }}
}}
''')

    cli.write = write
    cli.vg = vg
    cli.dev = dev
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert not [p.name() for p in conn.listAllStoragePools() if p.name().startswith(PREFIX)]
    assert not [d.name() for d in conn.listAllDomains() if d.name().startswith(PREFIX)]


def no_changes(cli: Cli) -> None:
    result = cli("plan", "--detailed-exitcode", check=None)
    assert result.returncode == 0, result.stdout + result.stderr


def disks(conn, name: str) -> list[ET.Element]:
    return ET.fromstring(conn.lookupByName(name).XMLDesc(0)).findall("devices/disk")


def vol_xml(conn, name: str) -> ET.Element:
    return ET.fromstring(conn.storagePoolLookupByName(f"{PREFIX}-images").storageVolLookupByName(name).XMLDesc(0))


def test_logical_pool_clones_and_disks_by_path_live_through_a_whole_cycle(lab, conn, tmp_path) -> None:
    lab.write()
    lab("apply", "--auto-approve")

    # The volume group was built on the loop device, and libvirt's pool is started on it.
    pool = conn.storagePoolLookupByName(f"{PREFIX}-lvm")
    root = ET.fromstring(pool.XMLDesc(0))
    assert pool.isActive() and root.get("type") == "logical" and root.findtext("source/name") == lab.vg
    assert lab.vg in lvm("vgs", "--noheadings", "-o", "vg_name") and lab.dev in lvm("pvs", "--noheadings", "-o", "pv_name")

    # Clones are full copies in the format asked for, with no backing store.
    for key, fmt in (("a", "qcow2"), ("b", "vmdk")):
        vol = vol_xml(conn, f"{PREFIX}-copy-{key}")
        assert vol.find("target/format").get("type") == fmt and vol.find("backingStore/path") is None
        assert int(vol.findtext("capacity")) == 16 * 1024 * 1024

    # Both running domains have the shareable raw volume and their own file disk, by path.
    for key in ("a", "b"):
        assert conn.lookupByName(f"{PREFIX}-vm-{key}").isActive()
        assert ET.fromstring(conn.lookupByName(f"{PREFIX}-vm-{key}").XMLDesc(0)).findtext("iothreads") == "1"
        copy, shared, scratch = disks(conn, f"{PREFIX}-vm-{key}")[:3]
        assert copy.find("driver").get("iothread") == "1"
        assert shared.find("shareable") is not None and shared.find("source").get("volume") == f"{PREFIX}-shared"
        assert scratch.get("type") == "file" and scratch.find("source").get("file") == f"{tmp_path}/scratch-{key}.img"
    no_changes(lab)

    # Live: autostart of both pools, and a clone grown while its domain runs.
    lab.write(autostart=True, copy_a="32MiB")
    plan = lab("plan").stdout
    assert "will be updated in place" in plan and "requires restart" not in plan and "forces" not in plan
    lab("apply", "--auto-approve")
    assert pool.autostart() and int(vol_xml(conn, f"{PREFIX}-copy-a").findtext("capacity")) == 32 * 1024 * 1024
    no_changes(lab)

    # Restart: a file disk made shareable, a second I/O thread serving the first disk; replace: a clone of
    # another original.
    lab.write(autostart=True, copy_a="32MiB", shared_file=True, spare="base2", iothreads=2)
    plan = lab("plan").stdout
    assert "# requires restart" in plan and "# forces replacement" in plan
    assert plan.count("forces replacement") == 1 and f"{PREFIX}-spare" in plan
    lab("apply", "--auto-approve")
    assert disks(conn, f"{PREFIX}-vm-a")[2].find("shareable") is not None
    assert disks(conn, f"{PREFIX}-vm-b")[0].find("driver").get("iothread") == "2"
    assert vol_xml(conn, f"{PREFIX}-spare").find("target/format").get("type") == "qcow2"
    no_changes(lab)

    # Destroy leaves no pool, volume, domain, volume group or physical volume.
    lab("destroy", "--auto-approve", "--shutdown-timeout", "1")
    assert not [p for p in conn.listAllStoragePools() if p.name().startswith(PREFIX)]
    assert lab.vg not in lvm("vgs", "--noheadings", "-o", "vg_name")
    assert lab.dev not in lvm("pvs", "--noheadings", "-o", "pv_name")
    assert not (tmp_path / "images").exists()


def test_storage_that_cannot_work_is_refused_at_plan_time(lab, conn, tmp_path) -> None:
    lab.write()
    text = (lab.workdir / "main.hcl").read_text()
    text += f'''
volume "lv" {{
  name     = "{PREFIX}-lv"
  pool     = pool.lvm
  capacity = "8MiB"
}}

domain "gone" {{
  name   = "{PREFIX}-gone"
  type   = "qemu"
  memory = "64MiB"
  disk {{
    file = "{tmp_path}/no-such.img"
  }}
  disk {{
    volume    = volume.base2
    shareable = true
  }}
}}
'''
    (lab.workdir / "main.hcl").write_text(text)
    result = lab("plan", check=1)
    out = result.stdout + result.stderr
    lines = text.splitlines()
    at = {key: next(i for i, line in enumerate(lines, 1) if line.strip().startswith(key) and i > start)
          for key, start in (("file", lines.index('domain "gone" {')), ("shareable", lines.index('domain "gone" {')),
                             ("pool", lines.index('volume "lv" {')))}
    assert "raw logical volumes only, not qcow2" in out, out
    assert f"has no file {tmp_path}/no-such.img" in out and f"main.hcl line {at['file']}," in out, out
    assert "a shareable disk must be raw" in out and f"main.hcl line {at['shareable']}," in out, out
    if not storage.has_device_mapper():
        assert "has no device-mapper" in out and f"main.hcl line {at['pool']}," in out, out
    assert not [p for p in conn.listAllStoragePools() if p.name().startswith(PREFIX)]   # nothing was changed


def test_doctor_says_what_each_pool_type_needs(tmp_path) -> None:
    out = Cli(tmp_path)("doctor").stdout
    assert "ok   logical pools: logical pools can be used" in out        # lvm2: scripts/host-setup
    for kind, fix in (("netfs", "nfs-common"), ("iscsi", "open-iscsi"), ("disk", "parted")):
        line = next(line for line in out.splitlines() if f" {kind} pools:" in line)
        program = storage.NEEDS[kind].programs[0]
        assert line.startswith("ok") == (storage.missing_programs(kind) == []), line
        assert (fix in out) == (storage.missing_programs(kind) != []), program
    assert ("device-mapper" in out) == (not storage.has_device_mapper())
