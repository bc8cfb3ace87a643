"""What a host offers, from libvirt's capabilities and domain capabilities, each read once per host and
cached on its `Host`: the one home of host feature probes (`doctor` and the domain type use them) and
of the host facts lifecycle conditions read (`facts`).

`check` compares a desired domain with it before any change: domain type, machine
type, firmware and CPU mode, each reported at its attribute with what the host offers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import libvirt

from kvmstate.provider import Problem

from .connection import Host
from .errors import doing, message
from .schema import Domain


def host_caps(host: Host) -> ET.Element:
    """The host's `<capabilities>`: architectures, emulators, domain types and machine types."""
    if "caps" not in host.cache:
        with doing(f"reading the capabilities of host {host.name}"):
            host.cache["caps"] = ET.fromstring(host.conn.getCapabilities())
    return host.cache["caps"]


def lib_version(host: Host) -> int:
    """libvirt's version on the host, as libvirt numbers it (9.1.0 is 9001000)."""
    if "version" not in host.cache:
        with doing(f"reading the libvirt version of host {host.name}"):
            host.cache["version"] = host.conn.getLibVersion()
    return host.cache["version"]


def hypervisor_version(host: Host) -> int:
    """The hypervisor's version on the host (QEMU's, numbered as libvirt numbers its own); 0 when the driver
    cannot say."""
    if "hypervisor version" not in host.cache:
        try:
            host.cache["hypervisor version"] = host.conn.getVersion()
        except libvirt.libvirtError:
            host.cache["hypervisor version"] = 0
    return host.cache["hypervisor version"]


def version_text(version: int) -> str:
    return f"{version // 1000000}.{version // 1000 % 1000}.{version % 1000}"


def facts(host: Host) -> dict[str, int | str]:
    """Memory (total and free, in bytes), logical CPUs and architecture: `host` in lifecycle conditions."""
    if "facts" not in host.cache:
        with doing(f"reading the memory and CPUs of host {host.name}"):
            info = host.conn.getInfo()
            host.cache["facts"] = {"memory": info[1] * 1024**2, "cpus": info[2], "arch": arch(host)}
    with doing(f"reading the free memory of host {host.name}"):
        return {**host.cache["facts"], "free_memory": host.conn.getFreeMemory()}


def arch(host: Host) -> str:
    return host_caps(host).findtext("host/cpu/arch") or "x86_64"


def domain_types(host: Host) -> list[str]:
    return sorted({d.get("type") for d in host_caps(host).findall(f"guest/arch[@name='{arch(host)}']/domain")})


def machines(host: Host, virttype: str) -> list[str]:
    """Machine types (aliases included) the host offers for a domain type on its own architecture."""
    found: set[str] = set()
    for guest_arch in host_caps(host).findall(f"guest/arch[@name='{arch(host)}']"):
        for dom in guest_arch.findall("domain"):
            if dom.get("type") == virttype:
                found.update(m.text.strip() for m in guest_arch.findall("machine") + dom.findall("machine") if m.text)
    return sorted(found, key=lambda m: (re.search(r"\d\.\d", m) is not None, m))    # aliases (pc, q35) first


def machine_aliases(host: Host, virttype: str) -> dict[str, set[str]]:
    """alias -> canonical machine types for a domain type, from `<machine canonical='pc-i440fx-7.2'>pc</machine>`."""
    aliases: dict[str, set[str]] = {}
    for guest_arch in host_caps(host).findall("guest/arch"):
        for dom in guest_arch.findall("domain"):
            if dom.get("type") == virttype:
                for machine in guest_arch.findall("machine") + dom.findall("machine"):
                    if machine.get("canonical") and machine.text:
                        aliases.setdefault(machine.text.strip(), set()).add(machine.get("canonical"))
    return aliases


def domain_caps(host: Host, virttype: str, machine: str | None) -> ET.Element | None:
    """`<domainCapabilities>` for a domain type and machine; None when the host or driver cannot say."""
    key = ("domcaps", virttype, machine)
    if key not in host.cache:
        try:
            host.cache[key] = ET.fromstring(host.conn.getDomainCapabilities(None, arch(host), machine, virttype, 0))
        except libvirt.libvirtError as err:
            host.cache[key] = None if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT else message(err)
    value = host.cache[key]
    return value if isinstance(value, ET.Element) or value is None else None


def firmwares(domcaps: ET.Element) -> list[str]:
    """Firmware kinds offered: 'efi' when an OVMF image is installed (and 'bios' for SeaBIOS)."""
    values = [v.text for v in domcaps.findall("os/enum[@name='firmware']/value") if v.text]
    if not values and domcaps.findall("os/loader/value"):
        values = ["efi"]
    return values


def cpu_modes(domcaps: ET.Element) -> list[str]:
    return [m.get("name") for m in domcaps.findall("cpu/mode") if m.get("supported") == "yes"]


def cpu_models(domcaps: ET.Element) -> list[str]:
    return [m.text for m in domcaps.findall("cpu/mode[@name='custom']/model") if m.text and m.get("usable") != "no"]


def check(host: Host, spec: Domain) -> list[Problem]:
    """Problems with the domain's type, machine, firmware and CPU mode on this host."""
    types = domain_types(host)
    if not {"kvm", "qemu"} & set(types):
        return []          # a driver that describes neither (libvirt's test driver emulates both): nothing to check
    if spec.type not in types:
        hint = " Use type qemu (software emulation), or enable KVM (`kvmstate doctor` says how)." \
            if spec.type == "kvm" else ""
        return [Problem("type", f"host {host.name} does not offer domain type {spec.type}; it offers "
                                f"{_list(types)}.{hint}")]
    problems = []
    offered = machines(host, spec.type)
    if spec.machine and offered and spec.machine not in offered:
        problems.append(Problem("machine", f"host {host.name} does not offer machine type {spec.machine!r} for "
                                           f"{spec.type} domains; it offers {_list(offered)}."))
        return problems
    domcaps = domain_caps(host, spec.type, spec.machine)
    if domcaps is None:
        return problems
    if spec.firmware == "uefi" and "efi" not in firmwares(domcaps):
        problems.append(Problem("firmware", f"host {host.name} has no UEFI firmware for {spec.type} domains"
                                            f"{' of machine ' + spec.machine if spec.machine else ''}; install "
                                            "Debian's ovmf package, or use firmware bios."))
    if spec.cpu is not None:
        modes = cpu_modes(domcaps)
        if spec.cpu.mode not in modes:
            problems.append(Problem("cpu.mode", f"host {host.name} does not offer CPU mode {spec.cpu.mode} for "
                                                f"{spec.type} domains; it offers {_list(modes)}."))
        elif spec.cpu.model and spec.cpu.model not in cpu_models(domcaps):
            problems.append(Problem("cpu.model", f"host {host.name} cannot run CPU model {spec.cpu.model!r} for "
                                                 f"{spec.type} domains; usable models: {_list(cpu_models(domcaps))}."))
    return problems


def _list(items: list[str], most: int = 12) -> str:
    shown = ", ".join(items[:most]) or "none"
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")
