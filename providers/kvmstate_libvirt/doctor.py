"""`kvmstate doctor` for libvirt hosts: the checks virt-host-validate makes, each with what to fix.

The CPU flags and /dev/kvm are read on this machine, so they are skipped for a
remote URI; everything else comes from libvirt at the URI.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import libvirt

from kvmstate.provider import HostCheck

from . import capabilities, features, host_devices, placement, storage
from .connection import Host
from .errors import connect_hint, message


def diagnose(uri: str, name: str = "default") -> list[HostCheck]:
    """The host checks; the CPU flags are weighed against what libvirt offers, so the checks never disagree."""
    local = not urlparse(uri).hostname
    checks = [_dev_kvm()] if local else []
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as err:
        cpu = [_cpu_flags(None)] if local else []
        return cpu + checks + [HostCheck("libvirtd", False, f"cannot connect to {uri}: {message(err)}",
                                         connect_hint(err))]
    try:
        host = Host(name, conn, 0)
        version = conn.getLibVersion()
        offered = _offered(host)
        cpu = [_cpu_flags("kvm" in offered)] if local else []
        checks = cpu + checks + [HostCheck("libvirtd", True, f"reachable at {uri} (libvirt {version // 1000000}."
                                                             f"{version // 1000 % 1000}.{version % 1000})")]
        checks += _emulator(host, offered) + [_ovmf(host)] + features.doctor_checks(host) + [placement.doctor_check(host)]
        checks += [host_devices.doctor_check()] if local else []
        checks += storage.doctor_checks(host)
    finally:
        conn.close()
    return checks


def _offered(host: Host) -> dict[str, str]:
    """The domain types this host runs, each with how: libvirt's domain capabilities answer for a type only
    when its emulator and accelerator work."""
    found = {}
    for virttype in capabilities.domain_types(host):
        domcaps = capabilities.domain_caps(host, virttype, None)
        if domcaps is not None:
            found[virttype] = domcaps.findtext("machine") or ""
    return found


def _cpu_flags(kvm_offered: bool | None) -> HostCheck:
    """The CPU's virtualisation flags; missing flags only warn when libvirt offers kvm all the same (a VM
    with nested virtualisation may hide them)."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    except OSError:
        flags = []
    found = [f for f in ("vmx", "svm") if f in flags]
    if found:
        return HostCheck("CPU virtualisation", True, f"the CPU has {found[0]} ({'Intel VT-x' if found[0] == 'vmx' else 'AMD-V'})")
    if kvm_offered:
        return HostCheck("CPU virtualisation", True, "/proc/cpuinfo shows neither vmx nor svm, but KVM works "
                         "(libvirt offers domain type kvm, as in a VM with nested virtualisation)", warn=True)
    return HostCheck("CPU virtualisation", False, "the CPU shows neither vmx nor svm",
                     "enable VT-x or AMD-V in the firmware setup (or nested virtualisation for a VM); "
                     "until then only domains of type qemu (software emulation, slow) run")


def _dev_kvm() -> HostCheck:
    if not os.path.exists("/dev/kvm"):
        return HostCheck("/dev/kvm", False, "/dev/kvm does not exist",
                         "load the module: modprobe kvm_intel (or kvm_amd); use type qemu meanwhile")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return HostCheck("/dev/kvm", False, "/dev/kvm is not readable and writable by this user",
                         "add the user to the kvm group, or run as root")
    return HostCheck("/dev/kvm", True, "present and accessible")


def _emulator(host: Host, offered: dict[str, str]) -> list[HostCheck]:
    arch = capabilities.arch(host)
    caps = capabilities.host_caps(host)
    emulator = caps.findtext(f"guest/arch[@name='{arch}']/emulator")
    if not emulator:
        return [HostCheck("QEMU", False, f"libvirt knows no QEMU emulator for {arch}",
                          "install qemu-system-x86 and restart libvirtd")]
    machines = capabilities.machines(host, "kvm" if "kvm" in offered else "qemu")
    checks = [HostCheck("QEMU", True, f"{emulator}; machine types include {', '.join(m for m in machines if m in ('pc', 'q35')) or ', '.join(machines[:3])} ({len(machines)} in all)")]
    runs = {"kvm": "hardware-accelerated", "qemu": "software emulation"}
    what = ", ".join(f"{t} ({runs.get(t, 'other')}{', default machine ' + m if m else ''})"
                     for t, m in sorted(offered.items()))
    if "kvm" in offered:
        checks.append(HostCheck("domain types", True, f"libvirt runs {what}"))
    else:
        checks.append(HostCheck("domain types", False, f"libvirt runs {what or 'nothing'}; not kvm",
                                "make /dev/kvm usable (see above) and restart libvirtd; use type qemu meanwhile"))
    return checks


def _ovmf(host: Host) -> HostCheck:
    types = capabilities.domain_types(host)
    domcaps = capabilities.domain_caps(host, "kvm" if "kvm" in types else "qemu", None)
    if domcaps is not None and "efi" in capabilities.firmwares(domcaps):
        loaders = [v.text for v in domcaps.findall("os/loader/value") if v.text]
        return HostCheck("UEFI firmware", True, f"OVMF found{': ' + loaders[0] if loaders else ''}")
    return HostCheck("UEFI firmware", False, "libvirt finds no OVMF image, so firmware uefi cannot be used",
                     "install Debian's ovmf package (apt-get install ovmf)")
