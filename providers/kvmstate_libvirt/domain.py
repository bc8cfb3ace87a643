"""libvirt domains: the `<domain>` document, its operations and the normalisation of aliases.

Vocabulary: see `schema.Domain`; the devices are built and parsed in `devices`,
live changes are made in `hotplug`, addresses are awaited in `addresses`, and the
host's capabilities are checked in `capabilities`; a cloud-init seed is attached as
a CD-ROM here. Identity: the domain's UUID.
"""

from __future__ import annotations

import copy
import os
import time
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from kvmstate.provider import LiveObject, Owner, Problem, ProviderError, Request
from kvmstate.units import format_size

from . import addresses, capabilities, cloudinit, hotplug, ownership
from . import devices as devs
from .connection import Host, doing, find
from .schema import Domain, Volume
from .xmlutil import names, parse, render, size_bytes, sub

TYPE = "domain"
SEED_ALIAS = "ua-kvmstate-seed"      # a user alias marks the cloud-init CD-ROM kvmstate attached
_RUNNING = {libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_BLOCKED}


# ---- document ---------------------------------------------------------------

def to_xml(name: str, spec: Domain, volumes: dict[str, Volume], owner: Owner | None = None,
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
    vcpu = sub(root, "vcpu", str(spec.max_vcpu), placement="static")
    if spec.vcpu != spec.max_vcpu:
        vcpu.set("current", str(spec.vcpu))
    _os(sub(root, "os"), spec)
    features = sub(root, "features")
    sub(features, "acpi")
    sub(features, "apic")
    if spec.cpu is not None:
        _cpu(root, spec)
    devices = sub(root, "devices")
    used: set[str] = set()
    drives = [*spec.disks, *spec.cdroms]
    for order, drive in enumerate(drives, start=1):
        vol = devs.volume_of(name, volumes, drive.volume)
        devices.append(devs.disk(drive, vol, devs.free_dev(drive.bus, used), order))
    if spec.cloudinit:
        _add_seed(devices, name, spec.cloudinit, seed_pool, devs.free_dev("sata", used))
    if any(d.bus == "scsi" for d in drives):
        sub(devices, "controller", type="scsi", model="virtio-scsi")
    for index, iface in enumerate(spec.interfaces):
        devices.append(devs.interface(iface, iface.mac or (macs[index] if macs and index < len(macs) else None)))
    devs.graphics(devices, spec.graphics)
    devs.serial(devices, spec.serial)
    return render(root)


def _add_seed(devices: ET.Element, name: str, seed: str, pool: str | None, dev: str) -> None:
    """The cloud-init seed ISO as a read-only SATA CD-ROM."""
    if pool is None:
        raise ProviderError(f"domain {name}: the attributes of cloudinit {seed} were not given")
    el = sub(devices, "disk", type="volume", device="cdrom")
    sub(el, "driver", name="qemu", type="raw")
    sub(el, "source", pool=pool, volume=cloudinit.volume_name(seed))
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
            return volume.removesuffix(cloudinit.SUFFIX)
    return None


def _kib(size: int) -> str:
    return str(-(-size // 1024))


def _os(el: ET.Element, spec: Domain) -> None:
    """Machine, firmware (UEFI through libvirt's firmware auto-selection, without secure boot) and direct boot."""
    if spec.firmware == "uefi":
        el.set("firmware", "efi")
    os_type = sub(el, "type", "hvm")
    if spec.machine:
        os_type.set("machine", spec.machine)
    if spec.firmware == "uefi":
        sub(sub(el, "firmware"), "feature", enabled="no", name="secure-boot")
    for tag in ("kernel", "initrd", "cmdline"):
        if getattr(spec, tag) is not None:
            sub(el, tag, getattr(spec, tag))


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
    if _seed(root):
        attrs["cloudinit"] = _seed(root)
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


# ---- machine aliases --------------------------------------------------------

def machine_aliases(caps_xml: str) -> dict[str, dict[str, set[str]]]:
    """domain type -> alias -> canonical machine types, from `<machine canonical='pc-i440fx-7.2'>pc</machine>`."""
    aliases: dict[str, dict[str, set[str]]] = {}
    for arch in ET.fromstring(caps_xml).findall("guest/arch"):
        for dom in arch.findall("domain"):
            table = aliases.setdefault(dom.get("type"), {})
            for machine in arch.findall("machine") + dom.findall("machine"):
                if machine.get("canonical") and machine.text:
                    table.setdefault(machine.text.strip(), set()).add(machine.get("canonical"))
    return aliases


def normalize(host: Host, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
    """Live attributes with aliases of the desired values (machine type, MAC case) in the desired form."""
    aliases: dict[str, set[str]] = {}
    if desired.get("machine") and desired.get("machine") != live.attributes.get("machine"):
        if "machines" not in host.cache:
            with doing(f"reading the capabilities of host {host.name}"):
                host.cache["machines"] = machine_aliases(host.conn.getCapabilities())
        aliases = host.cache["machines"].get(live.attributes.get("type"), {})
    return in_desired_form(live.attributes, desired, aliases)


def in_desired_form(attrs: dict[str, Any], desired: dict[str, Any], aliases: dict[str, set[str]]) -> dict[str, Any]:
    """A copy of `attrs` where values meaning the same as `desired` take its form; `aliases`: alias -> canonicals."""
    want, have = desired.get("machine"), attrs.get("machine")
    alias = want and have and want != have and (have in aliases.get(want, ()) or want in aliases.get(have, ()))
    macs = {i: want_iface["mac"] for i, (want_iface, have_iface)
            in enumerate(zip(desired.get("interfaces", []), attrs.get("interfaces", [])))
            if want_iface.get("mac") and have_iface.get("mac", "").lower() == want_iface["mac"].lower()}
    if not alias and all(attrs["interfaces"][i].get("mac") == mac for i, mac in macs.items()):
        return dict(attrs)        # nothing to rewrite (the common case): no deep copy
    attrs = copy.deepcopy(attrs)
    if alias:
        attrs["machine"] = want
    for i, mac in macs.items():
        attrs["interfaces"][i]["mac"] = mac
    return attrs


# ---- operations -------------------------------------------------------------

def live(host: Host, dom: libvirt.virDomain, running: bool | None = None, autostart: bool | None = None) -> LiveObject:
    """One domain; `running` and `autostart` are asked for when the caller does not know them."""
    name = dom.name()
    with doing(f"reading domain {name}"):
        root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        running = dom.state()[0] in _RUNNING if running is None else running
        autostart = bool(dom.autostart()) if autostart is None else autostart
    attrs = from_xml(root, autostart=autostart, power="running" if running else "stopped")
    return LiveObject(TYPE, name, host.name, dom.UUIDString(), attrs, ownership.parse_owner(root))


def read_all(host: Host) -> list[LiveObject]:
    """Four list calls (all, running or paused, other states, autostart) and one XML read per domain;
    only a domain in an unusual state (blocked, shutting down, crashed) is asked for its state."""
    with doing("listing domains"):
        doms = host.conn.listAllDomains(0)
        running = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING |
                                                 libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED))
        other = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_OTHER))
        autostart = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART))
    return [live(host, dom, None if dom.name() in other else dom.name() in running, dom.name() in autostart)
            for dom in doms]


def _volumes(request: Request, spec: Domain) -> dict[str, Volume]:
    """The desired volume behind each disk and CD-ROM, by its object name."""
    found = {}
    for kind, devices in (("disks", spec.disks), ("cdroms", spec.cdroms)):
        for i, device in enumerate(devices):
            dep = request.referenced(f"{kind}[{i}].volume")
            found[dep.name] = Volume.model_validate(dep.attributes)
    return found


def _seed_pool(request: Request, spec: Domain) -> str | None:
    return request.referenced("cloudinit").attributes.get("pool") if spec.cloudinit else None


def create(host: Host, request: Request) -> LiveObject:
    spec = Domain.model_validate(request.attributes)
    name = request.name
    xml = to_xml(name, spec, _volumes(request, spec), request.owner, seed_pool=_seed_pool(request, spec))
    with doing(f"defining domain {name}"):
        dom = host.conn.defineXML(xml)
    with doing(f"setting autostart of domain {name}"):
        dom.setAutostart(int(spec.autostart))
    if spec.power == "running":
        with doing(f"starting domain {name}"):
            dom.create()
    return _result(host, dom, spec)


def update(host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
    spec = Domain.model_validate(request.attributes)
    name = request.name
    with doing(f"looking up domain {name}"):
        dom = host.conn.lookupByUUIDString(current.identity)
    changed = {p.split(".")[0].split("[")[0] for p in paths}
    stale: dict[str, float] = {}
    if restart:
        stale = addresses.leases(host, dom, spec) if dom.isActive() else {}
        dom = _redefine(host, request, spec, dom)
    else:
        hotplug.apply(dom, name, spec, _volumes(request, spec), changed)
    if "description" in changed:
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
        with doing(f"setting the description of domain {name}"):
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, spec.description, None, None, flags)
    if "autostart" in changed:
        with doing(f"setting autostart of domain {name}"):
            dom.setAutostart(int(spec.autostart))
    if "power" in changed:
        if spec.power == "running" and not dom.isActive():
            with doing(f"starting domain {name}"):
                dom.create()
        elif spec.power == "stopped":
            _stop(dom, name, host.shutdown_timeout)
    return _result(host, dom, spec, stale)


def _result(host: Host, dom: libvirt.virDomain, spec: Domain, stale: dict[str, float] | None = None) -> LiveObject:
    """The domain as it is now, with the addresses it was asked to wait for as computed values."""
    obj = live(host, dom)
    obj.computed = addresses.computed(host, dom, spec, stale)
    return obj


def _redefine(host: Host, request: Request, spec: Domain, dom: libvirt.virDomain) -> libvirt.virDomain:
    """Define the new XML (same UUID, libvirt's MACs kept by position) and restart a running domain."""
    name = request.name
    with doing(f"reading domain {name}"):
        old = from_xml(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), autostart=False, power="stopped")
    macs = [iface.get("mac") for iface in old["interfaces"]]
    xml = to_xml(name, spec, _volumes(request, spec), request.owner, uuid=dom.UUIDString(), macs=macs,
                 seed_pool=_seed_pool(request, spec))
    with doing(f"defining domain {name}"):
        dom = host.conn.defineXML(xml)
    if dom.isActive() and spec.power == "running":
        _stop(dom, name, host.shutdown_timeout)
        with doing(f"starting domain {name}"):
            dom.create()
    return dom


def adopt(host: Host, current: LiveObject, owner: Owner) -> LiveObject:
    """Write the ownership mark into the domain's metadata, live and persistent; nothing else changes."""
    with doing(f"marking domain {current.name} as managed by kvmstate"):
        dom = host.conn.lookupByUUIDString(current.identity)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, ownership.owner_xml(owner), ownership.PREFIX,
                        ownership.NAMESPACE, flags)
    return live(host, dom)


def _stop(dom: libvirt.virDomain, name: str, timeout: float) -> None:
    """Ask the guest to shut down, wait up to `timeout` seconds, then pull the plug."""
    if not dom.isActive():
        return
    try:
        dom.shutdown()
    except libvirt.libvirtError:
        pass  # no ACPI or agent: fall through to destroy
    deadline = time.monotonic() + timeout
    while dom.isActive() and time.monotonic() < deadline:
        time.sleep(0.2)
    if dom.isActive():
        with doing(f"forcing off domain {name} after {timeout:g}s without a clean shutdown"):
            dom.destroy()


def check(host: Host, request: Request, live: LiveObject | None) -> list[Problem]:
    """What the host does not offer: domain type, machine type, firmware, CPU mode (before any change)."""
    return capabilities.check(host, Domain.model_validate(request.attributes))


def delete(host: Host, name: str, identity: str) -> None:
    dom = find(f"looking up domain {name}", host.conn.lookupByUUIDString, identity)
    if dom is None:
        return
    _stop(dom, name, host.shutdown_timeout)
    flags = libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    with doing(f"undefining domain {name}"):
        try:
            dom.undefineFlags(flags)
        except libvirt.libvirtError as err:
            if err.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                raise
            # Drivers without NVRAM support (the test driver) reject the flag.
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
