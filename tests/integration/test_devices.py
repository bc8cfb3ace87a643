"""Domain devices on a real libvirtd: peripherals (sound, inputs, USB controller, SPICE USB redirection),
memory backing, vCPU pinning and NUMA placement applied, planned again (empty), changed with the update class
the documentation promises, and destroyed; host devices, CPUs, NUMA nodes and hugepages the host lacks refused
at plan time at their file and line.

Hugepages: the test mounts hugetlbfs in the private daemon's mount namespace, names it in the daemon's private
qemu.conf, restarts the daemon, and reserves 2 MiB pages for the guest (vm.nr_hugepages is the machine's: it is
raised by what the guest needs and set back afterwards).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from .conftest import PIDFILE, Cli, daemon_up, restart_libvirtd

pytestmark = pytest.mark.libvirtd


@pytest.fixture
def dev(tmp_path: Path, guest: Path, conn):
    """A folder for one main.hcl (written by `write`, with the guest's kernel known as var.kernel); destroyed
    afterwards, leaving no domain."""
    folder = tmp_path / "devices"
    folder.mkdir()
    cli = Cli(folder)

    def write(body: str) -> None:
        (folder / "main.hcl").write_text(f'locals {{\n  kernel = "{guest / "vmlinuz"}"\n'
                                         f'  initrd = "{guest / "initrd.img"}"\n}}\n{body}')

    cli.write = write
    yield cli
    cli("destroy", "--auto-approve", "--shutdown-timeout", "2", check=None)
    assert [d.name() for d in conn.listAllDomains()] == []


GUEST = """
  type    = "qemu"
  machine = "pc"
  memory  = "160MiB"
  kernel  = local.kernel
  initrd  = local.initrd
  cmdline = "console=ttyS0"
"""


def no_changes(cli: Cli) -> None:
    result = cli("plan", "--detailed-exitcode", check=None)
    assert result.returncode == 0, result.stdout + result.stderr


def pci_devices(conn) -> list[tuple[str, bool]]:
    """The PCI node devices the daemon lists: (address 0000:00:05.0, whether it is in an IOMMU group)."""
    found = []
    for dev in conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV):
        cap = ET.fromstring(dev.XMLDesc(0)).find("capability")
        parts = (int(cap.findtext(k), 0) for k in ("domain", "bus", "slot", "function"))
        found.append(("{:04x}:{:02x}:{:02x}.{:x}".format(*parts), cap.find("iommuGroup") is not None))
    return sorted(found)


def live(conn, name: str) -> ET.Element:
    return ET.fromstring(conn.lookupByName(name).XMLDesc(0))


def kiosks(sound: dict[str, str], redirects: int) -> str:
    models = ", ".join(f'{k} = "{v}"' for k, v in sound.items())
    return f"""
domain "kiosk" {{
  for_each = {{ {models} }}
  name     = "dev-kiosk-${{each.key}}"
{GUEST}
  graphics {{
    type = "spice"
  }}
  sound          = each.value
  usb_controller = "qemu-xhci"
  usb_redirects  = {redirects}
  input {{
    type = "tablet"
  }}
  input {{
    type = "keyboard"
    bus  = "virtio"
  }}
}}
"""


def test_peripherals_apply_plan_empty_redirects_live_sound_by_restart(dev, conn) -> None:
    dev.write(kiosks({"a": "ich9", "b": "ac97"}, 1))
    dev("apply", "--auto-approve")
    for name, model in (("dev-kiosk-a", "ich9"), ("dev-kiosk-b", "ac97")):
        root = live(conn, name)
        assert conn.lookupByName(name).isActive()
        assert [s.get("model") for s in root.findall("devices/sound")] == [model]
        assert [c.get("model") for c in root.findall("devices/controller[@type='usb']")] == ["qemu-xhci"]
        inputs = {(i.get("type"), i.get("bus")) for i in root.findall("devices/input")}
        assert {("tablet", "usb"), ("keyboard", "virtio")} <= inputs
        assert [r.get("type") for r in root.findall("devices/redirdev")] == ["spicevmc"]
    no_changes(dev)

    # Live: one more redirection channel on each running guest (same QEMU process), in its definition too.
    first = conn.lookupByName("dev-kiosk-a").ID()
    dev.write(kiosks({"a": "ich9", "b": "ac97"}, 2))
    plan = dev("plan").stdout
    assert "will be updated in place" in plan and "requires restart" not in plan
    dev("apply", "--auto-approve")
    dom = conn.lookupByName("dev-kiosk-a")
    assert dom.ID() == first          # looked up again: a handle keeps the ID it was found with
    for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE):
        assert len(ET.fromstring(dom.XMLDesc(flags)).findall("devices/redirdev")) == 2
    no_changes(dev)

    # Restart class: a sound model (libvirt cannot attach a sound card live), with a channel fewer.
    dev.write(kiosks({"a": "ich6", "b": "ac97"}, 1))
    plan = dev("plan").stdout
    assert "# requires restart" in plan and "forces replacement" not in plan and 'domain.kiosk["a"]' in plan
    dev("apply", "--auto-approve", "--shutdown-timeout", "2")
    assert dom.isActive() and conn.lookupByName("dev-kiosk-a").ID() != first
    root = live(conn, "dev-kiosk-a")
    assert root.find("devices/sound").get("model") == "ich6" and len(root.findall("devices/redirdev")) == 1
    assert len(live(conn, "dev-kiosk-b").findall("devices/redirdev")) == 1
    no_changes(dev)


def pinned(pins: list[str], mode: str = "strict") -> str:
    listed = ", ".join(f'"{p}"' for p in pins)
    return f"""
domain "db" {{
  count = 1
  name  = "dev-db-${{count.index}}"
{GUEST}
  vcpu = 2
  memory_backing {{
    shared = true
  }}
  cputune {{
    vcpu_pins    = [{listed}]
    emulator_pin = "0-1"
  }}
  numatune {{
    mode    = "{mode}"
    nodeset = "0"
  }}
}}
"""


def test_memory_backing_and_pinning_pins_live_and_places_memory_by_restart(dev, conn) -> None:
    dev.write(pinned(["0", "1"]))
    dev("apply", "--auto-approve")
    dom = conn.lookupByName("dev-db-0")
    root = live(conn, "dev-db-0")
    assert root.find("memoryBacking/source").get("type") == "memfd"
    assert root.find("memoryBacking/access").get("mode") == "shared"
    assert dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE) == [(True, False), (False, True)]
    assert dom.emulatorPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE) == (True, True)
    assert root.find("numatune/memory").attrib == {"mode": "strict", "nodeset": "0"}
    no_changes(dev)

    # Live: the pins change on the running guest (same QEMU process) and in its definition; vCPU 1 may now run
    # on every host CPU, which libvirt keeps as a pin.
    first = dom.ID()
    dev.write(pinned(["1", "0-1"]))
    plan = dev("plan").stdout
    assert "will be updated in place" in plan and "requires restart" not in plan
    dev("apply", "--auto-approve")
    assert conn.lookupByName("dev-db-0").ID() == first
    assert dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE) == [(False, True), (True, True)]
    assert dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == [(False, True), (True, True)]
    no_changes(dev)

    # Restart: NUMA placement (libvirt changes it live only through the cgroup cpuset controller).
    dev.write(pinned(["1", "0-1"], mode="interleave"))
    assert "# requires restart" in dev("plan").stdout
    dev("apply", "--auto-approve", "--shutdown-timeout", "2")
    assert dom.isActive() and conn.lookupByName("dev-db-0").ID() != first
    assert live(conn, "dev-db-0").find("numatune/memory").get("mode") == "interleave"
    no_changes(dev)


def test_what_the_host_lacks_is_refused_at_plan_time_at_its_line(dev, conn) -> None:
    caps = ET.fromstring(conn.getCapabilities())
    cpus = len(caps.findall("host/topology/cells/cell/cpus/cpu"))
    giant = sum(int(p.text) for p in caps.findall("host/topology/cells/cell/pages[@size='1048576']"))
    dev.write(f"""
domain "gpu" {{
  name = "dev-gpu"
{GUEST}
  hostdev {{
    pci = "0000:7f:1f.7"
  }}
  hostdev {{
    vendor  = "0x1d6b"
    product = "0x0104"
  }}
  cputune {{
    vcpu_pins = ["{cpus}"]
  }}
  numatune {{
    nodeset = "7"
  }}
  memory_backing {{
    hugepages     = true
    hugepage_size = "1GiB"
  }}
}}
""")
    result = dev("plan", check=1)
    err = result.stderr
    assert "main.hcl line 17" in err and "has no PCI device 0000:7f:1f.7" in err          # pci = ... line
    listed = err.split("has no PCI device 0000:7f:1f.7")[1].split("\n\n")[0]
    for address, _ in pci_devices(conn)[:3]:          # the error lists the devices the host has
        assert address in listed.replace("\n", " ")
    assert "main.hcl line 20" in err and "has no USB device 0x1d6b:0x0104" in err
    assert "main.hcl line 24" in err and f"has no CPU {cpus}" in err
    assert "main.hcl line 27" in err and "has no NUMA node 7" in err
    assert ("1GiB hugepages reserved" in err and "nr_hugepages" in err) == (giant == 0)
    assert "main.hcl line 31" in err or giant
    assert [d.name() for d in conn.listAllDomains()] == []


def test_a_pci_device_the_host_has_needs_its_iommu(dev, conn) -> None:
    found = pci_devices(conn)
    assert found, "the private daemon lists no PCI device"
    address, in_group = found[0]
    dev.write(f"""
domain "gpu" {{
  name  = "dev-gpu"
{GUEST}
  power = "stopped"
  hostdev {{
    pci = "{address}"
  }}
}}
""")
    if not in_group:
        err = dev("plan", check=1).stderr
        assert "main.hcl line 18" in err and f"has PCI device {address}" in err and "intel_iommu=on" in err
    else:           # a host with an IOMMU: the plan passes; the device is not touched (no apply)
        assert f'pci = "{address}"' in dev("plan").stdout


NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")
GUEST_PAGES = 64                # the guest's 128 MiB in 2 MiB pages


def hugepages_free() -> int:
    return next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("HugePages_Free"))


@pytest.fixture
def hugepages(tmp_path: Path):
    """2 MiB hugepages the private libvirtd can use: hugetlbfs mounted in its namespace and named in its qemu.conf
    (read when it starts, so it is restarted), and pages reserved for one guest, released afterwards."""
    assert os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD") == "1", "mounts and restarts only the private daemon"
    mount = tmp_path / "hugepages"
    mount.mkdir()
    subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", str(mount)], check=True)
    with open("/etc/libvirt/qemu.conf", "a") as conf:
        conf.write(f'\nhugetlbfs_mount = "{mount}"\n')
    os.kill(int(PIDFILE.read_text()), signal.SIGTERM)
    while daemon_up():
        time.sleep(0.1)
    restart_libvirtd().close()
    before = int(NR_HUGEPAGES.read_text())
    NR_HUGEPAGES.write_text(str(before + GUEST_PAGES))
    try:
        assert int(NR_HUGEPAGES.read_text()) >= before + GUEST_PAGES, "the kernel could not reserve the pages"
        yield
    finally:
        NR_HUGEPAGES.write_text(str(before))


def huge_guest(on: bool) -> str:
    backing = 'hugepages     = true\n    hugepage_size = "2MiB"' if on else "hugepages = false"
    return f"""
domain "cache" {{
  name = "dev-cache"
{GUEST.replace('"160MiB"', '"128MiB"')}
  memory_backing {{
    {backing}
  }}
}}
"""


def test_hugepages_back_the_guest_and_leave_by_restart(hugepages, dev, conn) -> None:
    free = hugepages_free()
    dev.write(huge_guest(True))
    dev("apply", "--auto-approve")
    page = live(conn, "dev-cache").find("memoryBacking/hugepages/page")
    assert (page.get("size"), page.get("unit")) == ("2048", "KiB")
    assert free - hugepages_free() == GUEST_PAGES          # QEMU's memory is in the reserved pages
    no_changes(dev)

    dev.write(huge_guest(False))
    assert "# requires restart" in dev("plan").stdout
    dev("apply", "--auto-approve", "--shutdown-timeout", "2")
    assert conn.lookupByName("dev-cache").isActive()
    assert live(conn, "dev-cache").find("memoryBacking") is None and hugepages_free() == free
    no_changes(dev)
