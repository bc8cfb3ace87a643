"""Domains: read, check against the host's capabilities, normalise aliases, create, update (live or by
redefining and restarting), adopt and delete. Identity: the UUID.

Live changes are made in `hotplug` and addresses awaited in `addresses`.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import libvirt

from kvmstate.provider import LiveObject, Owner, Problem, Request

from .. import addresses, capabilities, features, host_devices, hotplug, overlays, placement, storage
from ..connection import Host
from ..declarations import DOMAIN
from ..errors import doing, find
from ..schema import Domain, Volume
from ..xml import domain as document
from ..xml import ownership, patches, validate
from ..xml.util import parse
from .base import ResourceOperations, changed, deferred, fingerprint, names

_POWER = {libvirt.VIR_DOMAIN_RUNNING: "running", libvirt.VIR_DOMAIN_BLOCKED: "running",
          libvirt.VIR_DOMAIN_PAUSED: "paused"}
TRANSIENT = " (transient)"      # a running domain without a persistent definition: it vanishes when it stops


class Domains(ResourceOperations):
    declaration = DOMAIN

    def live(self, host: Host, dom: libvirt.virDomain, power: str | None = None, autostart: bool | None = None,
             stats: dict[str, Any] | None = None, lazy: bool = False) -> LiveObject:
        """One domain; its power state ("running", "paused" or "stopped", " (transient)" added when it has no
        persistent definition), autostart and live statistics are asked for when the caller does not know them.
        Its fingerprint holds the live vCPUs (compared) and the host's versions (machine aliases)."""
        name, identity = dom.name(), dom.UUIDString()
        with doing(f"reading domain {name}"):
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            if power is None:
                power = _POWER.get(dom.state()[0], "stopped") + ("" if dom.isPersistent() else TRANSIENT)
            autostart = bool(dom.autostart()) if autostart is None else autostart
            if stats is None and power != "stopped":
                info = dom.info()       # state, max memory (KiB), memory (KiB), vCPUs, CPU time
                stats = {"balloon.current": info[2], "vcpu.current": info[3]}
        stats = stats or {}
        stamp = fingerprint(xml, power, autostart, stats.get("vcpu.current"), _versions(host))

        def whole() -> LiveObject:
            root = parse(xml)
            attrs = document.from_xml(root, autostart=autostart, power=power)
            return LiveObject(DOMAIN.name, name, host.name, identity, attrs, ownership.parse_owner(root),
                              running=_running(attrs, stats), fingerprint=stamp)
        return deferred(DOMAIN, host, name, identity, stamp, whole, lazy)

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Six list calls (all, running, paused, other states, autostart, transient), one call for the live
        vCPUs and memory of every running domain, and one XML read per domain; only a domain in an unusual
        state (blocked, shutting down, crashed) is asked for its state."""
        with doing("listing domains"):
            doms = host.conn.listAllDomains(0)
            running = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING))
            paused = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED))
            other = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_OTHER))
            autostart = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART))
            transient = names(host.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT))
            stats = _live_stats(host) if running or paused else {}

        def power(name: str) -> str | None:
            if name in other:
                return None
            state = "running" if name in running else "paused" if name in paused else "stopped"
            return state + TRANSIENT if name in transient and state != "stopped" else state

        return [self.live(host, dom, power(dom.name()), dom.name() in autostart, stats.get(dom.name(), {}), lazy=True)
                for dom in doms]

    def check(self, host: Host, request: Request, live: LiveObject | None) -> list[Problem]:
        """What the host does not offer: domain type, machine type, firmware, CPU mode, the devices' helpers
        (swtpm, virtiofsd, Secure Boot firmware), the files and devices disks, kernel and initrd name by path,
        host devices, CPUs, NUMA nodes and hugepages, XML patches libvirt's schema refuses, and disks taken off a
        snapshot's overlay, before any change."""
        spec = Domain.model_validate(request.attributes)
        problems = (capabilities.check(host, spec) + features.check(host, spec)
                    + storage.path_problems(host, spec, _volumes(request, spec))
                    + host_devices.check(host, spec) + placement.check(host, spec)
                    + (overlays.detach_problems(host, live.attributes, request.attributes) if live else []))
        if spec.xml_patches:
            bare = spec.model_copy(update={"xml_patches": None})
            problems += validate.check_patches(document.to_xml(bare, request.name, volumes=_volumes(request, spec),
                                                               owner=request.owner, seed_pool=_seed_pool(request, spec)),
                                               spec.xml_patches)
        return problems

    def normalize(self, host: Host, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        """Live attributes with aliases of the desired values (machine type, MAC case) in the desired form, a
        disk on an external snapshot's overlay as its configured volume, and
        what the definition has at the paths of the desired XML patches (one more XML read, only then)."""
        aliases: dict[str, set[str]] = {}
        if desired.get("machine") and desired.get("machine") != live.attributes.get("machine"):
            aliases = capabilities.machine_aliases(host, live.attributes.get("type"))
        attrs = overlays.as_configured(host, in_desired_form(live.attributes, desired, aliases), desired)
        for key, value in live.running.items():
            if attrs.get(key) == desired.get(key):      # the definition is as wanted: show the running value
                attrs = {**attrs, key: value}
        if desired.get("xml_patches"):
            dom = find(f"looking up domain {live.name}", host.conn.lookupByUUIDString, live.identity)
            if dom is not None:
                with doing(f"reading domain {live.name}"):
                    root = parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
                attrs = {**attrs, "xml_patches": patches.read_back(root, desired["xml_patches"])}
        return attrs

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Domain.model_validate(request.attributes)
        name = request.name
        xml = document.to_xml(spec, name, volumes=_volumes(request, spec), owner=request.owner,
                              seed_pool=_seed_pool(request, spec))
        with doing(f"defining domain {name}"):
            dom = host.conn.defineXML(xml)
        with doing(f"setting autostart of domain {name}"):
            dom.setAutostart(int(spec.autostart))
        if spec.power == "running":
            with doing(f"starting domain {name}"):
                dom.create()
        return self._result(host, dom, spec)

    def update(self, host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        spec = Domain.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up domain {name}"):
            dom = host.conn.lookupByUUIDString(current.identity)
        top = changed(paths)
        stale: dict[str, float] = {}
        if not dom.isPersistent():
            _persist(host, dom, name)       # first: a transient domain that stops is gone
        if restart:
            stale = addresses.leases(host, dom, spec) if dom.isActive() else {}
            dom = self._redefine(host, request, spec, dom)
        else:
            hotplug.apply(dom, name, spec, _volumes(request, spec), top)
        if "description" in top:
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
            with doing(f"setting the description of domain {name}"):
                dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, spec.description, None, None, flags)
        if "autostart" in top:
            with doing(f"setting autostart of domain {name}"):
                dom.setAutostart(int(spec.autostart))
        if "power" in top:
            if spec.power == "running" and dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                with doing(f"resuming domain {name}"):
                    dom.resume()
            elif spec.power == "running" and not dom.isActive():
                with doing(f"starting domain {name}"):
                    dom.create()
            elif spec.power == "stopped":
                _stop(dom, name, host.shutdown_timeout)
        return self._result(host, dom, spec, stale)

    def adopt(self, host: Host, current: LiveObject, owner: Owner) -> LiveObject:
        """Write the ownership mark into the domain's metadata, live and persistent; nothing else changes."""
        with doing(f"marking domain {current.name} as managed by kvmstate"):
            dom = host.conn.lookupByUUIDString(current.identity)
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
            dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, ownership.owner_xml(owner), ownership.PREFIX,
                            ownership.NAMESPACE, flags)
        return self.live(host, dom)

    def delete_notes(self, host: Host, live: LiveObject) -> list[str]:
        """A domain with external snapshots merges their overlays into its volumes before it goes."""
        dom = find(f"looking up domain {live.name}", host.conn.lookupByUUIDString, live.identity)
        return overlays.leftover_notes(dom) if dom is not None else []

    def delete(self, host: Host, name: str, identity: str) -> None:
        dom = find(f"looking up domain {name}", host.conn.lookupByUUIDString, identity)
        if dom is None:
            return
        persistent = dom.isPersistent()
        overlays.merge_all(host, dom)       # a replaced domain's volumes keep what its snapshots' overlays hold
        _stop(dom, name, host.shutdown_timeout)
        if not persistent:
            return                  # a transient domain is gone once stopped
        # A replaced domain's snapshots are replaced after it: their metadata goes with the old definition.
        kept = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        flags = libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | kept
        with doing(f"undefining domain {name}"):
            try:
                dom.undefineFlags(flags)
            except libvirt.libvirtError as err:
                if err.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                    raise
                # Drivers without NVRAM support (the test driver) reject the flag.
                dom.undefineFlags(kept)

    def _result(self, host: Host, dom: libvirt.virDomain, spec: Domain,
                stale: dict[str, float] | None = None) -> LiveObject:
        """The domain as it is now, with the addresses it was asked to wait for as computed values."""
        obj = self.live(host, dom)
        obj.computed = addresses.computed(host, dom, spec, stale)
        return obj

    def _redefine(self, host: Host, request: Request, spec: Domain, dom: libvirt.virDomain) -> libvirt.virDomain:
        """Define the new XML (same UUID, libvirt's MACs kept by position, disks on their snapshot overlays) and
        restart a running domain."""
        name = request.name
        with doing(f"reading domain {name}"):
            root = parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        macs = [iface.get("mac") for iface in document.from_xml(root, autostart=False, power="stopped")["interfaces"]]
        xml = document.to_xml(spec, name, volumes=_volumes(request, spec), owner=request.owner, uuid=dom.UUIDString(),
                              macs=macs, seed_pool=_seed_pool(request, spec))
        xml = overlays.kept_on_overlays(host, xml, root)      # disks stay on their external snapshots' overlays
        with doing(f"defining domain {name}"):
            dom = host.conn.defineXML(xml)
        if dom.isActive() and spec.power == "running":
            _stop(dom, name, host.shutdown_timeout)
            with doing(f"starting domain {name}"):
                dom.create()
        return dom


def _versions(host: Host) -> tuple[int, int]:
    """libvirt's and the hypervisor's versions (read once per connection): what machine aliases depend on."""
    return capabilities.lib_version(host), capabilities.hypervisor_version(host)


def _live_stats(host: Host) -> dict[str, dict[str, Any]]:
    """The live vCPU count and memory (KiB) of every running domain, by name, in one call; empty when the
    driver cannot say (libvirt's test driver)."""
    try:
        found = host.conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_VCPU | libvirt.VIR_DOMAIN_STATS_BALLOON,
                                            libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    except libvirt.libvirtError:
        return {}
    return {dom.name(): stats for dom, stats in found}


def _running(attrs: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
    """The live vCPU count where it differs from the definition. Live memory is not compared: libvirt reports
    what the guest's balloon driver has handed over, which lags a change by seconds, or never moves without
    a driver, so it cannot be told from a change made outside kvmstate."""
    vcpu = stats.get("vcpu.current")
    return {"vcpu": vcpu} if vcpu is not None and vcpu != attrs["vcpu"] else {}


def _persist(host: Host, dom: libvirt.virDomain, name: str) -> None:
    """Give a transient domain (undefined while it ran) its persistent definition back, from its own XML."""
    with doing(f"defining domain {name} persistently again"):
        host.conn.defineXML(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE))


def _volumes(request: Request, spec: Domain) -> dict[str, Volume]:
    """The desired volume behind each disk and CD-ROM, by its object name."""
    found = {}
    for kind, devices in (("disks", spec.disks), ("cdroms", spec.cdroms)):
        for i, device in enumerate(devices):
            if device.volume is None:
                continue            # a disk attached by path
            dep = request.referenced(f"{kind}[{i}].volume")
            found[dep.name] = Volume.model_validate(dep.attributes)
    return found


def _seed_pool(request: Request, spec: Domain) -> str | None:
    return request.referenced("cloudinit").attributes.get("pool") if spec.cloudinit else None


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


def _absent_as_off(attrs: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """What the XML leaves out, in the desired form: no redirection channel is `usb_redirects = 0`, no
    `<memoryBacking>` part is false (the document reads back only the parts it has)."""
    if "usb_redirects" in desired and "usb_redirects" not in attrs:
        attrs = {**attrs, "usb_redirects": 0}
    want = desired.get("memory_backing")
    if isinstance(want, dict):
        have = attrs.get("memory_backing") or {}
        attrs = {**attrs, "memory_backing": {**{k: False for k in ("hugepages", "shared") if k in want}, **have}}
    return attrs


def in_desired_form(attrs: dict[str, Any], desired: dict[str, Any], aliases: dict[str, set[str]]) -> dict[str, Any]:
    """A copy of `attrs` where values meaning the same as `desired` take its form; `aliases`: alias -> canonicals."""
    attrs = _absent_as_off(attrs, desired)
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
