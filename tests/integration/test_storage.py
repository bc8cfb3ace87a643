"""Volumes from images, overlays, resizing and cloud-init seeds on a real libvirtd."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import subprocess
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate_libvirt.seed import read_iso

from tests.integration.conftest import Cli

pytestmark = pytest.mark.libvirtd
MiB = 1024 * 1024
POOL_PATH = "/var/lib/libvirt/kvmstate-storage"
# Names differ from addresses: references are written as libvirt names (pool: st-pool) or expressions.
HEAD = f"pools:\n  images:\n    name: st-pool\n    path: {POOL_PATH}\n"


@pytest.fixture
def lab(tmp_path: Path, conn):
    """A working folder with a 16 MiB qcow2 image whose first 4 KiB hold the byte 0xab; destroyed afterwards."""
    work = tmp_path / "lab"
    work.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(work / "base.qcow2"), "16M"], check=True)
    subprocess.run(["qemu-io", "-c", "write -P 0xab 0 4k", str(work / "base.qcow2")], check=True,
                   capture_output=True)
    run = Cli(work)
    yield work, run
    run("destroy", "--auto-approve", "--shutdown-timeout", "1", check=None)
    assert not [p.name() for p in conn.listAllStoragePools() if p.name().startswith("st-")]
    assert not [d.name() for d in conn.listAllDomains() if d.name().startswith("st-")]


@pytest.fixture
def http_url(lab):
    """The image served over http by a server on 127.0.0.1 for the test's duration."""
    work, _ = lab
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(work))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/base.qcow2"
    server.shutdown()
    thread.join()


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def holds_marker(path: str, offset: str = "0") -> bool:
    result = subprocess.run(["qemu-io", "-r", "-U", "-c", f"read -P 0xab {offset} 4k", path],
                            capture_output=True, text=True)
    return result.returncode == 0 and "Pattern verification failed" not in result.stdout


def volume(conn, name: str):
    return conn.storagePoolLookupByName("st-pool").storageVolLookupByName(name)


def test_images_from_a_file_and_a_url_are_uploaded_verified_and_recorded(lab, http_url, conn) -> None:
    work, cli = lab
    checksum = sha256(work / "base.qcow2")
    (work / "main.yaml").write_text(HEAD + f"""volumes:
  st-file:
    pool: st-pool
    source: base.qcow2
    checksum: {checksum}
  st-url:
    pool: st-pool
    source: {http_url}
    checksum: {checksum}
    capacity: 32MiB
""")
    cli("apply", "--auto-approve")
    for name, size in (("st-file", 16 * MiB), ("st-url", 32 * MiB)):
        vol = volume(conn, name)
        assert vol.info()[1] == size
        assert ET.fromstring(vol.XMLDesc(0)).find("target/format").get("type") == "qcow2"
        assert holds_marker(vol.path()), f"{name} lost the image's data"
    state = json.loads((work / "kvmstate.state.json").read_text())
    recorded = {r["name"]: r["attributes"] for r in state["resources"] if r["type"] == "volume"}
    assert recorded["st-file"]["checksum"] == recorded["st-url"]["checksum"] == checksum
    assert recorded["st-file"]["source"] == str(work / "base.qcow2")
    cli("plan", "--detailed-exitcode")

    (work / "main.yaml").write_text((work / "main.yaml").read_text().replace("source: base.qcow2",
                                                                             "source: ./base.qcow2"))
    cli("plan", "--detailed-exitcode")     # the same file, written differently: no change


def test_wrong_checksum_is_refused_and_leaves_no_volume(lab, http_url, conn) -> None:
    work, cli = lab
    wrong = "sha256:" + "0" * 64
    (work / "main.yaml").write_text(HEAD + f"volumes:\n  st-url:\n    pool: st-pool\n    source: {http_url}\n"
                                           f"    checksum: {wrong}\n")
    result = cli("apply", "--auto-approve", check=1)
    assert "checksum mismatch" in result.stderr and sha256(work / "base.qcow2") in result.stderr
    assert "st-url" not in conn.storagePoolLookupByName("st-pool").listVolumes()
    assert not list(Path(POOL_PATH).iterdir())
    assert "volume.st-url" not in (work / "kvmstate.state.json").read_text()


def test_format_that_does_not_match_the_image_is_refused_at_plan_time(lab) -> None:
    work, cli = lab
    (work / "main.yaml").write_text(HEAD + "volumes:\n  st-raw:\n    pool: st-pool\n    source: base.qcow2\n"
                                           "    format: raw\n")
    result = cli("plan", check=1)
    assert 'is a qcow2 image: set format = "qcow2"' in result.stderr
    assert "main.yaml line 9" in result.stderr


def test_overlay_grows_in_place_keeping_its_data_and_refuses_to_shrink(lab, conn) -> None:
    work, cli = lab
    config = HEAD + """volumes:
  base:
    name: st-base
    pool: st-pool
    source: base.qcow2
  overlay:
    name: st-overlay
    pool: st-pool
    backing_store: ${volume.base}
"""
    (work / "main.yaml").write_text(config)
    cli("apply", "--auto-approve")
    base, overlay = volume(conn, "st-base"), volume(conn, "st-overlay")
    info = subprocess.run(["qemu-img", "info", "-U", overlay.path()], capture_output=True, text=True).stdout
    assert f"backing file: {base.path()}" in info and "backing file format: qcow2" in info
    assert overlay.info()[1] == 16 * MiB
    assert holds_marker(overlay.path()), "the overlay does not show the base's data"
    cli("plan", "--detailed-exitcode")

    subprocess.run(["qemu-io", "-c", "write -P 0xab 8M 4k", overlay.path()], check=True, capture_output=True)
    (work / "main.yaml").write_text(config + "    capacity: 64MiB\n")
    plan = cli("plan", "--detailed-exitcode", check=2).stdout
    assert '~ capacity = "16MiB" -> "64MiB"' in plan and "Plan: 0 to add, 1 to change, 0 to replace" in plan
    cli("apply", "--auto-approve")
    overlay = volume(conn, "st-overlay")
    assert overlay.info()[1] == 64 * MiB
    assert holds_marker(overlay.path(), "8M") and holds_marker(overlay.path())
    cli("plan", "--detailed-exitcode")

    (work / "main.yaml").write_text(config + "    capacity: 8MiB\n")
    for command in ("plan", "apply"):
        result = cli(command, "--auto-approve" if command == "apply" else "--detailed-exitcode", check=1)
        assert "cannot shrink from 64MiB to 8MiB" in result.stderr and "replace the volume" in result.stderr
        assert "main.yaml line 14" in result.stderr
    assert volume(conn, "st-overlay").info()[1] == 64 * MiB

    # A new base image replaces the base, and with it the overlay that refers to it.
    (work / "main.yaml").write_text(config.replace("source: base.qcow2", "source: base.qcow2\n    checksum: "
                                                   + sha256(work / "base.qcow2")))
    plan = cli("plan").stdout
    assert "refers through backing_store to volume.base, which is replaced" in plan
    assert "Plan: 0 to add, 0 to change, 2 to replace, 0 to destroy." in plan
    cli("apply", "--auto-approve")
    overlay = volume(conn, "st-overlay")
    assert overlay.info()[1] == 16 * MiB and holds_marker(overlay.path()) and not holds_marker(overlay.path(), "8M")
    cli("plan", "--detailed-exitcode")


def test_cloudinit_seed_is_attached_rendered_stable_and_replaced_when_its_input_changes(lab, conn) -> None:
    work, cli = lab
    (work / "user-data.j2").write_text("#cloud-config\nhostname: {{ hostname }}\npassword: {{ password }}\n")
    config = HEAD + """cloudinits:
  seed:
    name: st-seed
    pool: st-pool
    user_data_template: user-data.j2
    template_vars: {hostname: st-web, password: hunter2}
    network_config: "version: 2\\n"
domains:
  web:
    name: st-web
    type: qemu
    memory: 64MiB
    cloudinit: ${cloudinit.seed}
"""
    (work / "main.yaml").write_text(config)
    for args in (("plan",), ("plan", "--json")):
        assert "hunter2" not in cli(*args).stdout
    cli("apply", "--auto-approve")

    files = read_iso(volume(conn, "st-seed.iso").path())
    assert files == {"user-data": b"#cloud-config\nhostname: st-web\npassword: hunter2\n",
                     "meta-data": b"instance-id: st-seed\nlocal-hostname: st-seed\n",
                     "network-config": b"version: 2\n"}
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", volume(conn, "st-seed.iso").path()],
                           capture_output=True, text=True).stdout.strip()
    assert label == "cidata"
    dom = conn.lookupByName("st-web")
    assert dom.isActive()
    cdrom = ET.fromstring(dom.XMLDesc(0)).find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").get("volume") == "st-seed.iso" and cdrom.find("readonly") is not None
    assert cdrom.find("target").get("bus") == "sata"
    cli("plan", "--detailed-exitcode")

    (work / "main.yaml").write_text(config.replace("password: hunter2", "password: swordfish"))
    for args in (("plan", "--detailed-exitcode"), ("plan", "--json", "--detailed-exitcode")):
        out = cli(*args, check=2).stdout
        assert "hunter2" not in out and "swordfish" not in out and "(sensitive value)" in out
    plan = cli("plan").stdout
    assert "cloudinit.seed must be replaced" in plan and "it is used by domain.web" in plan
    cli("apply", "--auto-approve", "--shutdown-timeout", "1")
    assert b"password: swordfish" in read_iso(volume(conn, "st-seed.iso").path())["user-data"]
    cli("plan", "--detailed-exitcode")
