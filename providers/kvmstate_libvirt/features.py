"""What a domain's devices need from the host: swtpm for a TPM, virtiofsd for shared folders, OVMF's Secure Boot
build, a libvirt that knows the device model. Read from libvirt's domain capabilities and version (cached per host
in `capabilities`), so a remote host is asked, not this machine.

`check` refuses a plan before any change; `doctor_checks` are the same facts as
`kvmstate doctor` lines, each with how to get what is missing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kvmstate.provider import HostCheck, Problem

from . import capabilities
from .connection import Host
from .schema import Domain

SWTPM_FIX = "install swtpm and swtpm-tools (apt-get install swtpm swtpm-tools) and restart libvirtd"
VIRTIOFS_FIX = "install virtiofsd (Debian 12: part of qemu-system-common, /usr/lib/qemu/virtiofsd; " \
               "Debian 13: apt-get install virtiofsd) and restart libvirtd"
SECURE_FIX = "install Debian's ovmf package (it has the Secure Boot build, OVMF_CODE_4M.ms.fd)"
# Device models libvirt's domain capabilities do not list, with the libvirt version that added them.
MODEL_SINCE = {("watchdog.model", "itco"): 9_001_000}


def _values(domcaps: ET.Element, path: str) -> list[str]:
    return [v.text for v in domcaps.findall(path) if v.text]


def has_tpm_emulator(domcaps: ET.Element) -> bool | None:
    tpm = domcaps.find("devices/tpm")
    if tpm is None:
        return None                 # libvirt too old to say
    return tpm.get("supported") == "yes" and "emulator" in _values(tpm, "enum[@name='backendModel']/value")


def has_virtiofs(domcaps: ET.Element) -> bool | None:
    fs = domcaps.find("devices/filesystem")
    if fs is None:
        return None
    return "virtiofs" in _values(fs, "enum[@name='driverType']/value")


def has_secure_boot(domcaps: ET.Element) -> bool | None:
    secure = _values(domcaps, "os/loader/enum[@name='secure']/value")
    return "yes" in secure if secure else None


def check(host: Host, spec: Domain) -> list[Problem]:
    """Problems with the devices a domain asks for on this host."""
    if not {"kvm", "qemu"} & set(capabilities.domain_types(host)) or spec.type not in capabilities.domain_types(host):
        return []          # the test driver, or a type the host lacks (reported by capabilities.check)
    problems = _too_new(host, spec)
    if not (spec.tpm or spec.filesystems or spec.secure_boot):
        return problems
    domcaps = capabilities.domain_caps(host, spec.type, spec.machine)
    if domcaps is None:
        return problems
    if spec.tpm and has_tpm_emulator(domcaps) is False:
        problems.append(Problem("tpm", f"host {host.name} cannot emulate a TPM: libvirt finds no swtpm; {SWTPM_FIX}."))
    if spec.filesystems and has_virtiofs(domcaps) is False:
        problems.append(Problem("filesystems", f"host {host.name} offers no virtiofs shares; {VIRTIOFS_FIX}."))
    if spec.secure_boot and has_secure_boot(domcaps) is False:
        problems.append(Problem("secure_boot", f"host {host.name} has no Secure Boot firmware; {SECURE_FIX}."))
    return problems


def _too_new(host: Host, spec: Domain) -> list[Problem]:
    """Device models the host's libvirt is older than."""
    asked = {("watchdog.model", spec.watchdog.model)} if spec.watchdog else set()
    version = capabilities.lib_version(host)
    return [Problem(path, f"host {host.name} runs libvirt {capabilities.version_text(version)}, which does not know "
                          f"the {value} model; it needs libvirt {capabilities.version_text(since)} or later.")
            for (path, value), since in MODEL_SINCE.items() if (path, value) in asked and version < since]


def doctor_checks(host: Host) -> list[HostCheck]:
    """swtpm, virtiofsd and Secure Boot firmware, as libvirt sees them for q35 domains."""
    types = capabilities.domain_types(host)
    domcaps = capabilities.domain_caps(host, "kvm" if "kvm" in types else "qemu", "q35")
    if domcaps is None:
        return []
    checks = []
    for name, found, good, bad, fix in (
            ("TPM emulator", has_tpm_emulator(domcaps), "swtpm found: domains can have an emulated TPM 2.0",
             "libvirt finds no swtpm, so `tpm` cannot be used", SWTPM_FIX),
            ("virtiofs", has_virtiofs(domcaps), "virtiofsd found: domains can share host folders (`filesystems`)",
             "libvirt finds no virtiofsd, so `filesystems` cannot be used", VIRTIOFS_FIX),
            ("Secure Boot firmware", has_secure_boot(domcaps), "OVMF's Secure Boot build found (`secure_boot`)",
             "no Secure Boot build of OVMF, so `secure_boot` cannot be used", SECURE_FIX)):
        if found is not None:
            checks.append(HostCheck(name, True, good) if found else HostCheck(name, False, bad, fix))
    return checks
