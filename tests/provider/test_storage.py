"""Images, overlays, shrink checks and cloud-init seeds: the provider on the test driver, and its pure parts."""

from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate.provider import ProviderError
from kvmstate_libvirt import schema
from kvmstate_libvirt.xml import domain
from kvmstate_libvirt.seed import build_iso, read_iso, seed_files
from kvmstate_libvirt.template import render_file

from provider_helpers import compared, desired, request


@pytest.fixture
def pool(provider, tmp_path):
    return provider.create(request("pool", "images", desired("pool", path=str(tmp_path / "images"))))


@pytest.fixture
def qcow2(tmp_path) -> Path:
    path = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path


def test_overlay_names_its_base_as_backing_store_and_takes_its_size(provider, conn, pool):
    base_want = desired("volume", pool="images", capacity="1GiB")
    base = provider.create(request("volume", "base", base_want))
    want = desired("volume", pool="images", backing_store="base")
    overlay = provider.create(request("volume", "web", want, {"volume.base": base_want}))

    root = ET.fromstring(conn.storageVolLookupByKey(overlay.identity).XMLDesc())
    assert root.findtext("backingStore/path") == conn.storageVolLookupByKey(base.identity).path()
    assert root.find("backingStore/format").get("type") == "qcow2"
    assert root.find("target/format").get("type") == "qcow2"
    assert overlay.attributes["capacity"] == "1GiB"
    (live,) = [v for v in provider.read("h1", ["volume"]) if v.name == "web"]
    assert compared(provider, live, want) == want


def test_shrinking_is_a_problem_at_plan_time_and_growing_is_not(provider, pool):
    want = desired("volume", pool="images", capacity="2GiB")
    live = provider.create(request("volume", "disk", want))
    (problem,) = provider.check(request("volume", "disk", {**want, "capacity": "1GiB"}), live)
    assert problem.path == "capacity"
    assert "cannot shrink from 2GiB to 1GiB" in problem.message and "replace the volume" in problem.message
    assert provider.check(request("volume", "disk", {**want, "capacity": "3GiB"}), live) == []


def test_a_local_image_of_another_format_or_larger_than_the_capacity_is_a_problem(provider, pool, qcow2):
    raw = desired("volume", pool="images", source=str(qcow2), format="raw")
    (problem,) = provider.check(request("volume", "disk", raw), None)
    assert problem.path == "format" and 'is a qcow2 image: set format = "qcow2"' in problem.message
    small = desired("volume", pool="images", source=str(qcow2), capacity="8MiB")
    (problem,) = provider.check(request("volume", "disk", small), None)
    assert problem.path == "capacity" and "smaller than the image's virtual size 16MiB" in problem.message
    missing = desired("volume", pool="images", source=str(qcow2) + ".gone")
    (problem,) = provider.check(request("volume", "disk", missing), None)
    assert problem.path == "source" and "No such file" in problem.message
    assert provider.check(request("volume", "disk", desired("volume", pool="images", source=str(qcow2))), None) == []


def test_a_failed_upload_leaves_no_volume_behind(provider, conn, pool, qcow2):
    # The test driver has no volume upload: the create fails after the volume was made.
    with pytest.raises(ProviderError, match="uploading .* into volume disk"):
        provider.create(request("volume", "disk", desired("volume", pool="images", source=str(qcow2))))
    assert conn.storagePoolLookupByName("images").listVolumes() == []
    with pytest.raises(ProviderError, match="the seed ISO of cloudinit seed"):
        provider.create(request("cloudinit", "seed", desired("cloudinit", pool="images", user_data="#cloud-config\n")))
    assert conn.storagePoolLookupByName("images").listVolumes() == []


def test_relative_source_and_template_start_at_the_configuration_file(tmp_path):
    (tmp_path / "ud.j2").write_text("host: {{ name }}\n")
    context = {"base_dir": tmp_path}
    vol = schema.Volume.model_validate({"pool": "p", "source": "img/base.qcow2"}, context=context)
    assert vol.source == str(tmp_path / "img" / "base.qcow2")
    seed = schema.Cloudinit.model_validate({"pool": "p", "user_data_template": "ud.j2",
                                            "template_vars": {"name": "web"}}, context=context)
    assert seed.user_data == "host: web\n"
    again = schema.Cloudinit.model_validate(seed.model_dump(mode="json", exclude_none=True))
    assert again.user_data == "host: web\n"       # what a provider receives validates as it is


def test_template_is_sandboxed_and_strict(tmp_path):
    (tmp_path / "t.j2").write_text("{{ hostname }} {{ ssh_key }}")
    with pytest.raises(ValueError, match="uses 'ssh_key', which `template_vars` does not define"):
        render_file(tmp_path / "t.j2", {"hostname": "web"})
    (tmp_path / "evil.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ValueError, match="is invalid"):
        render_file(tmp_path / "evil.j2", {})


def test_seed_iso_is_reproducible_and_holds_the_files(tmp_path, monkeypatch):
    files = seed_files("web", "#cloud-config\nhostname: web\n", None, "version: 2\n")
    first = build_iso(files)
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    try:
        assert build_iso(files) == first
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert build_iso({**files, "user-data": b"#cloud-config\nhostname: db\n"}) != first
    (tmp_path / "seed.iso").write_bytes(first)
    assert read_iso(str(tmp_path / "seed.iso")) == {
        "user-data": b"#cloud-config\nhostname: web\n", "network-config": b"version: 2\n",
        "meta-data": b"instance-id: web\nlocal-hostname: web\n"}
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", str(tmp_path / "seed.iso")],
                           capture_output=True, text=True).stdout.strip()
    assert label == "cidata"


def test_domain_with_a_seed_has_a_read_only_sata_cdrom_and_reads_it_back():
    spec = schema.Domain.model_validate({"type": "qemu", "disks": [{"volume": "root", "bus": "sata"}],
                                         "cloudinit": "web-seed"})
    volumes = {"root": schema.Volume(pool="images", capacity=1024)}
    xml = domain.to_xml(spec, "web", volumes=volumes, seed_pool="images")
    cdrom = ET.fromstring(xml).find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").attrib == {"pool": "images", "volume": "web-seed.iso"}
    assert cdrom.find("target").attrib == {"dev": "sdb", "bus": "sata"}
    assert cdrom.find("readonly") is not None
    assert domain.from_xml(xml, autostart=False, power="stopped")["cloudinit"] == "web-seed"
    with pytest.raises(ProviderError, match="attributes of cloudinit web-seed were not given"):
        domain.to_xml(spec, "web", volumes=volumes)
