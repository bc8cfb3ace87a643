"""Live changes to a domain: memory and vCPUs within their maximums, disks and interfaces attached or detached,
vCPU and emulator pinning, SPICE USB redirection channels added or removed.

Each change goes to the running guest and to its persistent definition at once
(`AFFECT_LIVE | AFFECT_CONFIG`), or to the definition alone when the domain is
stopped. Only the tail of a device list changes live (the planner classifies any
change to an existing device as a restart), so devices are matched by position.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from kvmstate.provider import ProviderError

from .errors import doing, message
from .schema import Domain, Volume, cpuset
from .xml import devices as devs
from .xml import peripherals


def apply(dom: libvirt.virDomain, name: str, spec: Domain, volumes: dict[str, Volume], changed: set[str]) -> None:
    """Carry out the live-class changes among the `changed` top-level attributes."""
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
    if "memory" in changed:
        with doing(f"setting the memory of domain {name} to {spec.memory // 1024**2} MiB"):
            dom.setMemoryFlags(-(-spec.memory // 1024), flags)
    if "vcpu" in changed:
        _set_vcpus(dom, name, spec.vcpu, flags)
    if "cputune" in changed:
        _pin(dom, name, spec, flags)
    if {"disks", "interfaces", "usb_redirects"} & changed:
        with doing(f"reading domain {name}"):
            root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        if "disks" in changed:
            _sync_disks(dom, name, root, spec, volumes, flags)
        if "interfaces" in changed:
            _sync_interfaces(dom, name, root, spec, flags)
        if "usb_redirects" in changed:
            _sync_redirects(dom, name, root, spec.usb_redirects or 0, flags)


def _set_vcpus(dom: libvirt.virDomain, name: str, vcpus: int, flags: int) -> None:
    """Set the vCPU count; a running guest that will not give vCPUs back (QEMU under TCG, a guest without CPU
    hot-unplug) gets the count in its definition, and the error says how to finish."""
    try:
        dom.setVcpusFlags(vcpus, flags)
        return
    except libvirt.libvirtError as err:
        if not flags & libvirt.VIR_DOMAIN_AFFECT_LIVE or dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) <= vcpus:
            raise ProviderError(f"setting the vCPUs of domain {name} to {vcpus}: {message(err)}") from None
        live = dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)
        detail = message(err)
    with doing(f"setting the vCPUs of domain {name} to {vcpus} in its definition"):
        dom.setVcpusFlags(vcpus, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    raise ProviderError(f"domain {name} runs with {live} vCPUs and its guest did not give {live - vcpus} back "
                        f"({detail}); its definition now has {vcpus}. Shut the guest down (virsh shutdown {name}) "
                        f"and apply again to start it with {vcpus}, or set vcpu = {live} to keep them")


def _pin(dom: libvirt.virDomain, name: str, spec: Domain, flags: int) -> None:
    """Pin each vCPU of `cputune.vcpu_pins` (one past the list's end may run on every host CPU again) and the
    emulator, when set. Offline vCPUs are pinned in the definition only."""
    tune = spec.cputune
    if tune is None:
        return
    count = dom.connect().getCPUMap()[0]
    online = dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE else 0
    pins = tune.vcpu_pins
    for vcpu in range(spec.max_vcpu if pins is not None else 0):
        cpus = cpuset(pins[vcpu]) if vcpu < len(pins) else set(range(count))
        where = flags if vcpu < online else libvirt.VIR_DOMAIN_AFFECT_CONFIG
        with doing(f"pinning vCPU {vcpu} of domain {name}"):
            dom.pinVcpuFlags(vcpu, tuple(cpu in cpus for cpu in range(count)), where)
    if tune.emulator_pin is not None:
        cpus = cpuset(tune.emulator_pin)
        with doing(f"pinning the emulator threads of domain {name}"):
            dom.pinEmulator(tuple(cpu in cpus for cpu in range(count)), flags)


def _sync_disks(dom: libvirt.virDomain, name: str, root: ET.Element, spec: Domain,
                volumes: dict[str, Volume], flags: int) -> None:
    have = [d for d in root.findall("devices/disk") if d.get("device", "disk") == "disk"]
    for el in have[len(spec.disks):]:
        _detach(dom, name, el, f"disk {devs.parse_disk(el).get('volume')}", flags)
    used = {t.get("dev") for t in root.findall("devices/disk/target")}
    orders = [int(b.get("order")) for b in root.findall("devices/*/boot") if b.get("order", "").isdigit()]
    order = max(orders, default=0)
    # A definition without boot orders boots by <os><boot dev=...>, which libvirt does not mix with them.
    bootable = root.find("os/boot") is None
    for disk in spec.disks[len(have):]:
        order += 1
        el = devs.disk(disk, devs.volume_of(name, volumes, disk.volume), devs.free_dev(disk.bus, used),
                       order if bootable else None)
        with doing(f"attaching disk {disk.volume or disk.host_path} to domain {name}"):
            dom.attachDeviceFlags(ET.tostring(el, encoding="unicode"), flags)


def _sync_interfaces(dom: libvirt.virDomain, name: str, root: ET.Element, spec: Domain, flags: int) -> None:
    have = root.findall("devices/interface")
    for el in have[len(spec.interfaces):]:
        _detach(dom, name, el, f"interface {devs.parse_interface(el).get('mac')}", flags)
    for iface in spec.interfaces[len(have):]:
        el = devs.interface(iface, iface.mac)
        with doing(f"attaching an interface on {iface.kind} {getattr(iface, iface.kind)} to domain {name}"):
            dom.attachDeviceFlags(ET.tostring(el, encoding="unicode"), flags)


def _sync_redirects(dom: libvirt.virDomain, name: str, root: ET.Element, count: int, flags: int) -> None:
    """Add or remove SPICE USB redirection channels until there are `count` (USB: no guest cooperation needed)."""
    have = peripherals.redirects(root.find("devices"))
    for el in have[count:]:
        _detach(dom, name, el, "a USB redirection channel", flags)
    for _ in range(count - len(have)):
        with doing(f"attaching a USB redirection channel to domain {name}"):
            dom.attachDeviceFlags(ET.tostring(peripherals.redirect(), encoding="unicode"), flags)


def _detach(dom: libvirt.virDomain, name: str, el: ET.Element, what: str, flags: int) -> None:
    """Detach a device as the persistent definition has it (libvirt matches it by target or MAC)."""
    with doing(f"detaching {what} from domain {name}"):
        dom.detachDeviceFlags(ET.tostring(el, encoding="unicode"), flags)

