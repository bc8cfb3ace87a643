"""The whole lab on a real libvirtd: a NAT network, a base image, an overlay, a cloud-init seed and a guest that
boots (under TCG) and takes a DHCP lease. What virsh and the files show must match what the state records."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmstate_libvirt.seed import read_iso

from .conftest import Cli

pytestmark = pytest.mark.libvirtd


def test_base_overlay_seed_and_address(tmp_path: Path, guest: Path, conn) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "64M"], check=True)
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "user-data.j2").write_text("#cloud-config\nhostname: {{ hostname }}\n")
    # Every name differs from its address; the overlay, the seed and the domain are made with for_each.
    doc = {
        "variables": {"vms": {"type": "map(string)", "default": {"web": "128MiB"}}},
        "networks": {"lan": {"name": "lnet", "mode": "nat", "ipv4": "192.168.152.0/24",
                             "dhcp": {"start": "192.168.152.10", "end": "192.168.152.99"}}},
        "pools": {"images": {"name": "lpool", "path": str(tmp_path / "pool")}},
        "volumes": {"base": {"name": "lbase.qcow2", "pool": "${pool.images}", "source": str(base), "format": "qcow2"},
                    "root": {"for_each": "${var.vms}", "name": "lroot-${each.key}.qcow2", "pool": "${pool.images}",
                             "backing_store": "${volume.base}", "capacity": "${each.value}"}},
        "cloudinits": {"seed": {"for_each": "${var.vms}", "name": "lseed-${each.key}", "pool": "${pool.images}",
                                "user_data_template": "user-data.j2", "template_vars": {"hostname": "lab-${each.key}"}}},
        "domains": {"vm": {"for_each": "${var.vms}", "name": "lvm-${each.key}", "type": "qemu", "memory": "160MiB",
                           "kernel": str(guest / "vmlinuz"), "initrd": str(guest / "initrd.img"),
                           "cmdline": "console=ttyS0", "disks": [{"volume": "${volume.root[each.key]}"}],
                           "cloudinit": "${cloudinit.seed[each.key]}",
                           "interfaces": [{"network": "${network.lan}", "wait_for_ip": True, "wait_timeout": 90}]}},
    }
    (folder / "main.yaml").write_text(json.dumps(doc, indent=2))
    cli = Cli(folder)
    try:
        cli("apply", "--auto-approve")
        dom = conn.lookupByName("lvm-web")
        assert dom.isActive()
        mac = ET.fromstring(dom.XMLDesc(0)).find("devices/interface/mac").get("address")
        (lease,) = conn.networkLookupByName("lnet").DHCPLeases(mac)
        state = json.loads((folder / "kvmstate.state.json").read_text())
        (recorded,) = [r for r in state["resources"] if r["address"] == 'domain.vm["web"]']
        assert recorded["computed"]["interfaces"][0]["ipv4"] == lease["ipaddr"]

        pool = conn.storagePoolLookupByName("lpool")
        root = pool.storageVolLookupByName("lroot-web.qcow2")
        info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", root.path()],
                                         capture_output=True, text=True, check=True).stdout)
        assert info["backing-filename"] == pool.storageVolLookupByName("lbase.qcow2").path()
        assert info["virtual-size"] == 128 * 1024 * 1024
        files = read_iso(pool.storageVolLookupByName("lseed-web.iso").path())
        assert files["user-data"] == b"#cloud-config\nhostname: lab-web\n"
        assert "No changes." in cli("plan", "--detailed-exitcode").stdout
    finally:
        cli("destroy", "--auto-approve", "--shutdown-timeout", "5", check=None)
    assert "lvm-web" not in [d.name() for d in conn.listAllDomains()]
