"""The `<domain>` document; its devices are built and parsed in `devices`, `platform` and `peripherals`, memory
and CPU placement in `tuning`.

Vocabulary: see `schema.Domain`; autostart and power are kept outside it. A
cloud-init seed is attached as a read-only CD-ROM that kvmstate marks with a user
alias, so it is told apart from the user's CD-ROMs.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.provider import Owner, ProviderError
from kvmstate.units import format_size

from .. import seed as seeds
from ..schema import Domain, Volume
from . import devices as devs
from . import ownership, patches, peripherals, platform, tuning
from .util import parse, render, size_bytes, sub

SEED_ALIAS = "ua-kvmstate-seed"      # a user alias marks the cloud-init CD-ROM kvmstate attached


def to_xml(spec: Domain, name: str, *, volumes: dict[str, Volume], owner: Owner | None = None,
           uuid: str | None = None, macs: list[str | None] | None = None, seed_pool: str | None = None) -> str:
    """The `<domain>` document for a desired domain.

    `volumes` maps each attached volume's name to its desired model (for its pool
    and format); `seed_pool` is the pool of the cloudinit seed; `uuid` and `macs`
    (by interface position) keep what libvirt chose when a domain is redefined.
    """
    root = ET.Element("domain", type=spec.type)
    sub(root, "name", name)
    if uuid:
        sub(root, "uuid", uuid)
    if spec.description is not None:
        sub(root, "description", spec.description)
    if owner:
        ownership.add_owner(sub(root, "metadata"), owner)
    sub(root, "memory", _kib(spec.max_memory), unit="KiB")
    sub(root, "currentMemory", _kib(spec.memory), unit="KiB")
    tuning.memory_backing(root, spec)
    vcpu = sub(root, "vcpu", str(spec.max_vcpu), placement="static")
    if spec.vcpu != spec.max_vcpu:
        vcpu.set("current", str(spec.vcpu))
    if spec.iothreads:
        sub(root, "iothreads", str(spec.iothreads))
    tuning.placement(root, spec)
    _os(sub(root, "os"), spec)
    features = sub(root, "features")
    sub(features, "acpi")
    sub(features, "apic")
    platform.build_features(features, spec)
    if spec.cpu is not None:
        _cpu(root, spec)
    platform.build_events(root, spec)
    devices = sub(root, "devices")
    used: set[str] = set()
    drives = [*spec.disks, *spec.cdroms]
    orders = platform.boot_orders(spec)
    kinds = [("disk", i) for i in range(len(spec.disks))] + [("cdrom", i) for i in range(len(spec.cdroms))]
    for kind, drive in zip(kinds, drives):
        vol = devs.volume_of(name, volumes, drive.volume)
        devices.append(devs.disk(drive, vol, devs.free_dev(drive.bus, used), orders.get(kind)))
    if spec.cloudinit:
        _add_seed(devices, name, spec.cloudinit, seed_pool, devs.free_dev("sata", used))
    if any(d.bus == "scsi" for d in drives):
        sub(devices, "controller", type="scsi", model="virtio-scsi")
    for index, iface in enumerate(spec.interfaces):
        el = devs.interface(iface, iface.mac or (macs[index] if macs and index < len(macs) else None))
        if ("network", index) in orders:
            sub(el, "boot", order=str(orders[("network", index)]))
        devices.append(el)
    devs.graphics(devices, spec.graphics)
    devs.serial(devices, spec.serial)
    platform.build_devices(devices, spec)
    peripherals.build(devices, spec)
    patches.apply(root, spec.xml_patches or [])
    return render(root)


def _add_seed(devices: ET.Element, name: str, seed: str, pool: str | None, dev: str) -> None:
    """The cloud-init seed ISO as a read-only SATA CD-ROM."""
    if pool is None:
        raise ProviderError(f"domain {name}: the attributes of cloudinit {seed} were not given")
    el = sub(devices, "disk", type="volume", device="cdrom")
    sub(el, "driver", name="qemu", type="raw")
    sub(el, "source", pool=pool, volume=seeds.volume_name(seed))
    sub(el, "target", dev=dev, bus="sata")
    sub(el, "readonly")
    sub(el, "alias", name=SEED_ALIAS)


def _is_seed(disk: ET.Element) -> bool:
    alias = disk.find("alias")
    return disk.get("device") == "cdrom" and alias is not None and alias.get("name") == SEED_ALIAS


def _seed(root: ET.Element) -> str | None:
    """The cloudinit whose seed ISO is in the CD-ROM kvmstate marked with its alias, if any."""
    for disk in root.findall("devices/disk"):
        source = disk.find("source")
        if _is_seed(disk) and source is not None:
            volume = source.get("volume") or os.path.basename(source.get("file") or "")
            return volume.removesuffix(seeds.SUFFIX)
    return None


def _kib(size: int) -> str:
    return str(-(-size // 1024))


def _os(el: ET.Element, spec: Domain) -> None:
    """Machine, firmware (UEFI through libvirt's firmware auto-selection, Secure Boot on request), direct boot
and the boot menu."""
    if spec.firmware == "uefi":
        el.set("firmware", "efi")
    os_type = sub(el, "type", "hvm")
    if spec.machine:
        os_type.set("machine", spec.machine)
    if spec.firmware == "uefi":
        firmware = sub(el, "firmware")
        if spec.secure_boot:
            sub(firmware, "feature", enabled="yes", name="enrolled-keys")
            sub(firmware, "feature", enabled="yes", name="secure-boot")
        else:
            sub(firmware, "feature", enabled="no", name="secure-boot")
    for tag in ("kernel", "initrd", "cmdline"):
        if getattr(spec, tag) is not None:
            sub(el, tag, getattr(spec, tag))
    platform.build_os(el, spec)


def _cpu(root: ET.Element, spec: Domain) -> None:
    cpu = spec.cpu
    el = sub(root, "cpu", mode=cpu.mode)
    if cpu.mode == "custom":
        el.set("match", "exact")
        sub(el, "model", cpu.model, fallback="forbid")
    if cpu.sockets is not None:
        sub(el, "topology", sockets=str(cpu.sockets), dies="1", cores=str(cpu.cores), threads=str(cpu.threads))


def from_xml(xml: str | ET.Element, *, autostart: bool, power: str) -> dict[str, Any]:
    """Attributes of a domain in the model's vocabulary, from libvirt's XML."""
    root = parse(xml)
    vcpu = root.find("vcpu")
    most = int((vcpu.text if vcpu is not None else "1").strip())
    attrs: dict[str, Any] = {"type": root.get("type"), "vcpu": int(vcpu.get("current", most)) if vcpu is not None else 1,
                             "max_vcpu": most}
    for key, tag in (("memory", "currentMemory"), ("max_memory", "memory")):
        size = size_bytes(root.find(tag), default_unit="KiB")
        if size:
            attrs[key] = format_size(size)
    attrs.setdefault("memory", attrs.get("max_memory"))
    if root.findtext("iothreads"):
        attrs["iothreads"] = int(root.findtext("iothreads"))
    os_el = root.find("os")
    machine = root.find("os/type")
    if machine is not None and machine.get("machine"):
        attrs["machine"] = machine.get("machine")
    efi = os_el is not None and (os_el.get("firmware") == "efi" or os_el.find("loader[@type='pflash']") is not None)
    attrs["firmware"] = "uefi" if efi else "bios"
    cpu = _parse_cpu(root.find("cpu"))
    if cpu:
        attrs["cpu"] = cpu
    drives = root.findall("devices/disk")
    attrs["disks"] = [devs.parse_disk(d) for d in drives if d.get("device", "disk") == "disk"]
    attrs["cdroms"] = [devs.parse_disk(d) for d in drives if d.get("device") == "cdrom" and not _is_seed(d)]
    attrs["interfaces"] = [devs.parse_interface(i) for i in root.findall("devices/interface")]
    attrs["graphics"] = devs.parse_graphics(root.find("devices"))
    attrs["serial"] = devs.parse_serial(root.find("devices"))
    for tag in ("kernel", "initrd", "cmdline"):
        if os_el is not None and os_el.find(tag) is not None:
            attrs[tag] = os_el.findtext(tag) or ""
    attrs["autostart"] = autostart
    attrs["power"] = power
    if root.find("description") is not None:
        attrs["description"] = root.findtext("description") or ""
    seed = _seed(root)
    if seed:
        attrs["cloudinit"] = seed
    attrs.update(platform.parse(root))
    attrs.update(peripherals.parse(root))
    attrs.update(tuning.parse(root))
    return attrs


def _parse_cpu(el: ET.Element | None) -> dict[str, Any]:
    if el is None or not el.get("mode"):
        return {}
    cpu: dict[str, Any] = {"mode": el.get("mode")}
    if el.get("mode") == "custom" and el.findtext("model"):
        cpu["model"] = el.findtext("model")
    topology = el.find("topology")
    if topology is not None:
        for key in ("sockets", "cores", "threads"):
            cpu[key] = int(topology.get(key, "1"))
    return cpu
