"""What a domain's memory and CPU placement needs from the host: the CPUs its vCPUs and emulator are pinned to,
the NUMA nodes of `numatune`, and reserved hugepages of the asked size. Read from the host's capabilities
(`<topology>`, cached per host in `capabilities`), so a remote host is asked, not this machine.

`check` refuses a plan before any change; `doctor_check` reports the hugepages
reserved, with how to reserve them.
"""

from __future__ import annotations

from kvmstate.provider import HostCheck, Problem
from kvmstate.units import format_size

from . import capabilities
from .connection import Host
from .schema import Domain, cpuset

HUGEPAGES_FIX = "reserve them: echo N > /proc/sys/vm/nr_hugepages (2 MiB pages; vm.nr_hugepages in " \
                "/etc/sysctl.d to keep it, or hugepagesz=1G hugepages=N on the kernel command line) and make " \
                "sure hugetlbfs is mounted (/dev/hugepages) before libvirtd starts"


def host_cpus(host: Host) -> set[int]:
    return {int(c.get("id")) for c in capabilities.host_caps(host).findall("host/topology/cells/cell/cpus/cpu")}


def numa_nodes(host: Host) -> set[int]:
    return {int(c.get("id")) for c in capabilities.host_caps(host).findall("host/topology/cells/cell")}


def reserved_hugepages(host: Host) -> dict[int, int]:
    """Reserved hugepages of each size (bytes) over all NUMA nodes; each node's smallest size, its base pages,
    is left out."""
    reserved: dict[int, int] = {}
    for cell in capabilities.host_caps(host).findall("host/topology/cells/cell"):
        sizes = sorted((int(p.get("size", "4")) * 1024, int(p.text or "0")) for p in cell.findall("pages"))
        for size, count in sizes[1:]:
            reserved[size] = reserved.get(size, 0) + count
    return reserved


def check(host: Host, spec: Domain) -> list[Problem]:
    """Pinning to CPUs the host has, NUMA nodes it has, hugepages it has reserved."""
    backing = spec.memory_backing
    if spec.cputune is None and spec.numatune is None and not (backing is not None and backing.hugepages):
        return []
    problems = []
    cpus = host_cpus(host)
    tune = spec.cputune
    if tune is not None and cpus:
        pins = [(f"cputune.vcpu_pins[{i}]", text) for i, text in enumerate(tune.vcpu_pins or [])]
        for path, text in pins + ([("cputune.emulator_pin", tune.emulator_pin)] if tune.emulator_pin else []):
            missing = sorted(cpuset(text) - cpus)
            if missing:
                problems.append(Problem(path, f"host {host.name} has no CPU {missing[0]}; its CPUs are "
                                              f"{_set(cpus)} ({len(cpus)} in all)."))
    nodes = numa_nodes(host)
    if spec.numatune is not None and nodes:
        missing = sorted(cpuset(spec.numatune.nodeset) - nodes)
        if missing:
            problems.append(Problem("numatune.nodeset", f"host {host.name} has no NUMA node {missing[0]}; its "
                                                        f"nodes are {_set(nodes)}."))
    if backing is not None and backing.hugepages and nodes:
        reserved = reserved_hugepages(host)
        size = backing.hugepage_size
        have = reserved.get(size, 0) if size else sum(reserved.values())
        if not have:
            what = f"{format_size(size)} hugepages" if size else "hugepages"
            offered = ", ".join(f"{n} of {format_size(s)}" for s, n in sorted(reserved.items()) if n) or "none"
            problems.append(Problem("memory_backing.hugepage_size" if size else "memory_backing.hugepages",
                                    f"host {host.name} has no {what} reserved (reserved: {offered}); "
                                    f"{HUGEPAGES_FIX}."))
    return problems


def doctor_check(host: Host) -> HostCheck:
    reserved = {s: n for s, n in reserved_hugepages(host).items() if n}
    if reserved:
        return HostCheck("hugepages", True, "reserved: " + ", ".join(f"{n} of {format_size(s)}"
                                                                   for s, n in sorted(reserved.items())))
    return HostCheck("hugepages", True, "none reserved, so `memory_backing.hugepages` cannot be used",
                     HUGEPAGES_FIX, warn=True)


def _set(items: set[int]) -> str:
    return ", ".join(map(str, sorted(items)))
