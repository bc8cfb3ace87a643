"""A domain's memory and CPU placement: `<memoryBacking>` (hugepages, shared access), `<cputune>`
(vCPU and emulator pinning) and `<numatune>`.

Shared memory is the one home of what virtiofs needs: `filesystems` turn it on
unless the user set `memory_backing` otherwise (which the model refuses).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.units import UNITS, format_size

from ..schema import Domain, cpuset, cpuset_text
from .util import sub


def shared_memory(spec: Domain) -> bool:
    """Whether the guest's memory is shared: asked for, or needed by virtiofs."""
    backing = spec.memory_backing
    return bool(backing is not None and backing.shared) or bool(spec.filesystems)


def memory_backing(root: ET.Element, spec: Domain) -> None:
    backing = spec.memory_backing
    hugepages = backing is not None and bool(backing.hugepages)
    shared = shared_memory(spec)
    if not (hugepages or shared):
        return
    el = sub(root, "memoryBacking")
    if hugepages:
        pages = sub(el, "hugepages")
        if backing.hugepage_size is not None:
            sub(pages, "page", size=str(backing.hugepage_size // 1024), unit="KiB")
    if shared and not hugepages:
        sub(el, "source", type="memfd")       # shared memory without hugepages
    if shared:
        sub(el, "access", mode="shared")


def placement(root: ET.Element, spec: Domain) -> None:
    """`<cputune>` and `<numatune>`, after `<vcpu>`."""
    tune = spec.cputune
    if tune is not None and (tune.vcpu_pins or tune.emulator_pin):
        el = sub(root, "cputune")
        for vcpu, cpus in enumerate(tune.vcpu_pins or []):
            sub(el, "vcpupin", vcpu=str(vcpu), cpuset=cpus)
        if tune.emulator_pin:
            sub(el, "emulatorpin", cpuset=tune.emulator_pin)
    if spec.numatune is not None:
        sub(sub(root, "numatune"), "memory", mode=spec.numatune.mode, nodeset=spec.numatune.nodeset)


def parse(root: ET.Element) -> dict[str, Any]:
    """Memory backing (the parts it has), pinning and NUMA placement, when the domain has them."""
    out: dict[str, Any] = {}
    el = root.find("memoryBacking")
    if el is not None:
        backing = {key: True for key, path in (("hugepages", "hugepages"), ("shared", "access[@mode='shared']"))
                   if el.find(path) is not None}
        page = el.find("hugepages/page")
        if page is not None and (page.get("size") or "").isdigit():
            backing["hugepage_size"] = format_size(int(page.get("size")) * UNITS[(page.get("unit") or "KiB").lower()])
        if backing:
            out["memory_backing"] = backing
    tune = root.find("cputune")
    if tune is not None:
        pins = {int(p.get("vcpu")): _canonical(p.get("cpuset")) for p in tune.findall("vcpupin")}
        cputune: dict[str, Any] = {}
        if pins:
            cputune["vcpu_pins"] = [pins.get(i, "") for i in range(max(pins) + 1)]
        emulator = tune.find("emulatorpin")
        if emulator is not None and emulator.get("cpuset"):
            cputune["emulator_pin"] = _canonical(emulator.get("cpuset"))
        if cputune:
            out["cputune"] = cputune
    memory = root.find("numatune/memory")
    if memory is not None and memory.get("nodeset"):
        out["numatune"] = {"mode": memory.get("mode", "strict"), "nodeset": _canonical(memory.get("nodeset"))}
    return out


def _canonical(text: str | None) -> str:
    try:
        return cpuset_text(cpuset(text or ""))
    except ValueError:
        return text or ""
