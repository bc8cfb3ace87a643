"""Whether a host can give a domain what its devices and placement ask for, on libvirt's test driver (no PCI
or USB devices) and from node device XML: plan-time problems at their attribute, and the doctor lines."""

import xml.etree.ElementTree as ET

import pytest

from kvmstate_libvirt import host_devices, placement
from kvmstate_libvirt.connection import Host
from kvmstate_libvirt.schema import Domain

from provider_helpers import desired, request

PCI = """<device><name>pci_0000_01_00_0</name><capability type='pci'><class>0x030000</class><domain>0</domain>
  <bus>1</bus><slot>0</slot><function>0</function><product id='0x2484'>GA104</product>
  <vendor id='0x10DE'>NVIDIA Corporation</vendor>{group}</capability></device>"""
USB = """<device><name>usb_1_5</name><capability type='usb_device'><bus>1</bus><device>5</device>
  <product id='0xc52b'>Unifying Receiver</product><vendor id='0x046d'>Logitech, Inc.</vendor></capability></device>"""


@pytest.fixture
def default_host():
    """libvirt's test:///default: 16 CPUs on two NUMA nodes, no hugepages reserved (only read here)."""
    import libvirt
    conn = libvirt.open("test:///default")
    yield Host("h1", conn, 0)
    conn.close()


def placed(host, **attrs) -> dict[str, str]:
    return {p.path: p.message for p in placement.check(host, Domain(type="qemu", **attrs))}


def test_pinning_numa_and_hugepages_beyond_the_host_are_refused(default_host):
    found = placed(default_host, vcpu=2, cputune={"vcpu_pins": ["0-1", "17"], "emulator_pin": "15-16"},
                   numatune={"nodeset": "1-2"}, memory_backing={"hugepages": True, "hugepage_size": "2MiB"})
    assert set(found) == {"cputune.vcpu_pins[1]", "cputune.emulator_pin", "numatune.nodeset",
                          "memory_backing.hugepage_size"}
    assert "has no CPU 17; its CPUs are 0, 1, 2" in found["cputune.vcpu_pins[1]"]
    assert "(16 in all)" in found["cputune.vcpu_pins[1]"] and "has no CPU 16" in found["cputune.emulator_pin"]
    assert "has no NUMA node 2; its nodes are 0, 1" in found["numatune.nodeset"]
    assert "no 2MiB hugepages reserved (reserved: none)" in found["memory_backing.hugepage_size"]


def test_placement_the_host_has_passes(default_host):
    assert placed(default_host, vcpu=2, cputune={"vcpu_pins": ["0", "8-15"], "emulator_pin": "0"},
                  numatune={"mode": "interleave", "nodeset": "0-1"}, memory_backing={"shared": True}) == {}


def problems(provider, **attrs) -> dict[str, str]:
    found = provider.check(request("domain", "d", desired("domain", type="qemu", **attrs)), None)
    return {p.path: p.message for p in found}


def test_missing_host_devices_name_the_devices_there_are(provider):
    found = problems(provider, hostdevs=[{"pci": "0000:01:00.0"}, {"usb_bus": 1, "usb_device": 5}])
    assert set(found) == {"hostdevs[0].pci", "hostdevs[1].usb_bus"}
    assert "has no PCI device 0000:01:00.0; its PCI devices: none" in found["hostdevs[0].pci"]
    assert "has no USB device 1:5 (bus:device)" in found["hostdevs[1].usb_bus"]


@pytest.fixture
def devices(monkeypatch):
    def use(*xmls: str):
        found = [host_devices._parse(ET.fromstring(x)) for x in xmls]
        monkeypatch.setattr(host_devices, "node_devices", lambda host: found)
    return use


class FakeHost:
    name = "h1"


def test_a_pci_device_without_an_iommu_group_cannot_be_passed_through(devices):
    devices(PCI.format(group=""), USB)
    spec = Domain(hostdevs=[{"pci": "0000:01:00.0"}, {"vendor": "0x046D", "product": "0xC52B"},
                            {"vendor": "0x046d", "product": "0x0001"}])
    found = {p.path: p.message for p in host_devices.check(FakeHost(), spec)}
    assert set(found) == {"hostdevs[0].pci", "hostdevs[2].vendor"}
    assert "NVIDIA Corporation GA104" in found["hostdevs[0].pci"] and "intel_iommu=on" in found["hostdevs[0].pci"]
    assert "its USB devices: 1:5 [046d:c52b] Logitech, Inc. Unifying Receiver" in found["hostdevs[2].vendor"]


def test_a_pci_device_in_an_iommu_group_passes(devices):
    devices(PCI.format(group="<iommuGroup number='14'><address domain='0x0000' bus='0x01' slot='0x00' "
                             "function='0x0'/></iommuGroup>"))
    assert host_devices.check(FakeHost(), Domain(hostdevs=[{"pci": "0000:01:00.0"}])) == []


def test_doctor_lines_for_hugepages_and_the_iommu(default_host, monkeypatch):
    check = placement.doctor_check(default_host)
    assert check.ok and check.warn and "nr_hugepages" in check.fix
    monkeypatch.setattr(host_devices.os.path, "isdir", lambda path: False)
    iommu = host_devices.doctor_check()
    assert iommu.ok and iommu.warn and "intel_iommu=on" in iommu.fix
    monkeypatch.setattr(host_devices.os.path, "isdir", lambda path: True)
    monkeypatch.setattr(host_devices.os, "listdir", lambda path: ["0", "1"])
    assert host_devices.doctor_check() == host_devices.HostCheck(
        "IOMMU", True, "2 IOMMU groups: PCI devices can be passed through (`hostdevs`)")
