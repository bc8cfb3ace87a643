"""Domains on a real libvirtd: a tiny guest booted under TCG, its address, live and restart updates, delete.

The guest (Debian's cloud kernel and a busybox initramfs, see scripts/build-test-guest)
is booted with direct kernel boot; it asks for a DHCP lease and powers off on the ACPI
power button.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .conftest import Cli

pytestmark = pytest.mark.libvirtd
MiB = 1024 * 1024
QEMU_LOG = Path("/var/log/libvirt/qemu/guest.log")     # inside the private daemon's namespace


@pytest.fixture
def lab(tmp_path: Path, guest: Path, conn):
    """A folder with a NAT network, a pool, a data volume and one domain booting the guest; destroyed afterwards."""
    folder = tmp_path / "lab"
    folder.mkdir()
    cli = Cli(folder)
    pool = tmp_path / "pool"

    def write(**domain):
        spec = {"type": "qemu", "machine": "pc", "memory": "160MiB", "max_memory": "256MiB", "vcpu": 1, "max_vcpu": 2,
                "kernel": str(guest / "vmlinuz"), "initrd": str(guest / "initrd.img"), "cmdline": "console=ttyS0",
                "interfaces": [{"network": "${network.lan}", "wait_for_ip": True, "wait_timeout": 90}]}
        spec.update(domain)
        # Every name differs from its address (network.lan is gnet, volume.data is gdata, domain.vm is guest).
        doc = {"networks": {"lan": {"name": "gnet", "mode": "nat", "ipv4": "192.168.151.0/24",
                                    "dhcp": {"start": "192.168.151.10", "end": "192.168.151.99"}}},
               "pools": {"images": {"name": "gpool", "path": str(pool)}},
               "volumes": {"data": {"name": "gdata", "pool": "${pool.images}", "capacity": "16MiB"}},
               "domains": {"vm": {"name": "guest", **spec}}}
        (folder / "main.yaml").write_text(json.dumps(doc, indent=2))

    cli.write = write
    cli.state = lambda: json.loads((folder / "kvmstate.state.json").read_text())
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "5", check=None)
    assert [d.name() for d in conn.listAllDomains()] == []


def computed_ipv4(state: dict) -> str:
    (dom,) = [r for r in state["resources"] if r["address"] == "domain.vm"]
    return dom["computed"]["interfaces"][0]["ipv4"]


def lease(conn, mac: str) -> str:
    (entry,) = conn.networkLookupByName("gnet").DHCPLeases(mac)
    return entry["ipaddr"]


def test_address_live_updates_restart_and_graceful_delete(lab, conn) -> None:
    lab.write()
    lab("apply", "--auto-approve")
    dom = conn.lookupByName("guest")
    first_id = dom.ID()
    mac = ET.fromstring(dom.XMLDesc(0)).find("devices/interface/mac").get("address")
    address = computed_ipv4(lab.state())
    assert address == lease(conn, mac)
    assert f'ipv4 = "{address}"' in lab("show").stdout.replace(" ", "").replace("ipv4=", 'ipv4 = ')
    assert lab("plan", "--detailed-exitcode").returncode == 0

    # Live: memory and vCPUs within their maximums, a disk and an interface attached.
    lab.write(memory="192MiB", vcpu=2, disks=[{"volume": "${volume.data}"}],
              interfaces=[{"network": "${network.lan}", "wait_for_ip": True, "wait_timeout": 90}, {"network": "${network.lan}"}])
    out = lab("apply", "--auto-approve").stdout
    assert "will be updated in place" in out and "requires restart" not in out
    assert dom.isActive() and conn.lookupByName("guest").ID() == first_id
    assert dom.maxMemory() == 256 * MiB // 1024
    inactive = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert inactive.find("currentMemory").text == str(192 * 1024)
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 2
    for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE):
        root = ET.fromstring(dom.XMLDesc(flags))
        assert [d.find("source").get("volume") for d in root.findall("devices/disk")] == ["gdata"]
        assert len(root.findall("devices/interface")) == 2
    assert lab("plan", "--detailed-exitcode").returncode == 0

    # Restart class: a CPU topology; the guest restarts once and comes back running.
    lab.write(memory="192MiB", vcpu=2, disks=[{"volume": "${volume.data}"}], cpu={"mode": "custom", "model": "qemu64",
                                                                          "sockets": 1, "cores": 2},
              interfaces=[{"network": "${network.lan}", "wait_for_ip": True, "wait_timeout": 90}, {"network": "${network.lan}"}])
    out = lab("apply", "--auto-approve").stdout
    assert "will be updated and restarted" in out and "# requires restart" in out
    assert dom.isActive() and conn.lookupByName("guest").ID() == first_id + 1
    assert QEMU_LOG.read_text().count("shutting down, reason=") == 1                # stopped once,
    assert QEMU_LOG.read_text().count("shutting down, reason=shutdown") == 1        # gracefully
    topology = ET.fromstring(dom.XMLDesc(0)).find("cpu/topology")
    assert (topology.get("sockets"), topology.get("cores")) == ("1", "2")
    assert computed_ipv4(lab.state()) == lease(conn, mac)
    assert lab("plan", "--detailed-exitcode").returncode == 0

    # Delete: the guest shuts down on the power button well before the timeout.
    lab("destroy", "--auto-approve", "--shutdown-timeout", "60")
    assert [d.name() for d in conn.listAllDomains()] == []
    log = QEMU_LOG.read_text()
    assert log.rstrip().splitlines()[-1].endswith("shutting down, reason=shutdown")


def test_uefi_nvram_survives_update_and_goes_with_the_domain(lab, conn) -> None:
    lab.write(firmware="uefi", machine="q35", power="stopped", interfaces=[{"network": "${network.lan}"}])
    lab("apply", "--auto-approve")
    dom = conn.lookupByName("guest")
    dom.create()                      # libvirt creates the NVRAM from the template on first start
    nvram = Path(ET.fromstring(dom.XMLDesc(0)).findtext("os/nvram"))
    assert nvram.exists()
    assert ET.fromstring(dom.XMLDesc(0)).find("os/loader").get("type") == "pflash"
    lab.write(firmware="uefi", machine="q35", interfaces=[{"network": "${network.lan}"}], description="now described",
              memory="200MiB", max_memory="300MiB")
    lab("apply", "--auto-approve")
    assert dom.isActive() and nvram.exists()
    assert ET.fromstring(dom.XMLDesc(0)).findtext("os/nvram") == str(nvram)
    lab("destroy", "--auto-approve", "--shutdown-timeout", "1")
    assert not nvram.exists()


def test_plan_refuses_what_the_host_does_not_offer(lab, conn) -> None:
    lab.write(machine="pc-q99")
    result = lab("plan", check=1)
    assert "in domain.vm" in result.stderr and "machine type 'pc-q99'" in result.stderr
    assert re.search(r"it offers [^.]*\bpc\b[^.]*\bq35\b", result.stderr), result.stderr
    assert conn.listAllDomains() == [] and conn.listAllNetworks() == []


def test_doctor_on_the_private_daemon(lab) -> None:
    result = lab("doctor", "--uri", "qemu:///system", check=None)
    out = result.stdout
    assert "ok   libvirtd: reachable at qemu:///system" in out
    assert "ok   QEMU: /usr/bin/qemu-system-x86_64; machine types include pc, q35" in out
    assert "ok   UEFI firmware: OVMF found" in out
    kvm_ok = Path("/dev/kvm").exists()
    assert ("ok   /dev/kvm" in out) == kvm_ok
    assert result.returncode == (0 if "FAIL" not in out else 1)
    # What the host can really do, never contradicted: where libvirt runs kvm domains, no check fails (CPU
    # flags hidden by a VM only warn), and the command succeeds.
    assert re.search(r"ok   domain types: libvirt runs .*\bqemu \(software emulation", out), out
    if "libvirt runs kvm (hardware-accelerated" in out:
        assert "FAIL" not in out and result.returncode == 0, out
    if "vmx" not in Path("/proc/cpuinfo").read_text() and "svm" not in Path("/proc/cpuinfo").read_text() \
            and "runs kvm" in out:
        assert "warn CPU virtualisation: /proc/cpuinfo shows neither vmx nor svm, but KVM works" in out
