"""The resource models of the libvirt provider: what a user may write for each type.

Every field says in its metadata how a change is applied (`x-update`) and, when it
names another resource, which type (`x-ref`). Fields whose default is None are
left to libvirt when unset and are then never compared.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kvmstate.units import Size, format_size

from .xml import patches

MAC_PATTERN = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"
BRIDGE_PATTERN = r"^[A-Za-z0-9_.-]{1,15}$"
DUID_PATTERN = r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){1,129}$"
HOSTNAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"


def _f(default, update: str, ref: str | None = None, recorded: bool = False, sensitive: bool = False,
       local: bool = False, unique: str | None = None, filled: bool = False, follows: bool = False, **kw):
    extra: dict = {"x-update": update}
    if filled:
        extra["x-filled"] = True
    if follows:
        extra["x-follows"] = True
    if ref:
        extra["x-ref"] = ref
    if recorded:
        extra["x-recorded"] = True
    if sensitive:
        extra["x-sensitive"] = True
    if local:
        extra["x-local"] = True
    if unique:
        extra["x-unique"] = unique
    return Field(default, json_schema_extra=extra, **kw)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class XmlPatch(_Model):
    """One change to the libvirt XML kvmstate renders: the escape hatch for what the model does not name."""

    xpath: str = _f(..., "restart", min_length=2, max_length=1024,
                    description="Absolute path in ElementTree's XPath subset, e.g. /domain/memoryBacking/nosharepages "
                                "or /domain/features/kvm/hidden/@state (a last step /@name is an attribute).")
    set: str | None = _f(None, "restart", max_length=65536,
                         description="Text of the matching elements, or value of the attribute; missing elements "
                                     "along a simple path are created.")
    remove: bool | None = _f(None, "restart", description="Delete the matching elements or attributes.")
    add: str | None = _f(None, "restart", max_length=65536,
                         description="An element as an XML snippet, e.g. <watchdog model='i6300esb'/>, appended under "
                                     "every matching element (missing ones along a simple path are created).")

    @field_validator("xpath")
    @classmethod
    def _xpath(cls, value: str):
        if not value.startswith("/") or value.startswith("//"):
            raise ValueError(f"{value!r} must be an absolute path such as /domain/… or /network/…")
        patches.check(value, value[1:].split("/")[0])
        return value

    @field_validator("add")
    @classmethod
    def _snippet(cls, value: str | None):
        if value is not None:
            patches.snippet(value)
        return value

    @model_validator(mode="after")
    def _one(self):
        if [self.set is not None, bool(self.remove), self.add is not None].count(True) != 1:
            raise ValueError("an XML patch needs exactly one of `set`, `remove = true` and `add`")
        if self.remove:
            patches.check_remove(self.xpath)
        if self.add is not None and patches.split(self.xpath)[2] is not None:
            raise ValueError(f"`add` puts an element under the elements {self.xpath!r} selects, so the path "
                             "cannot end in an attribute (/@name)")
        return self


def _patches(value: list[XmlPatch] | None, root: str) -> list[XmlPatch] | None:
    """The patches of a `root` document: each xpath starts at that root (each is checked on its own)."""
    for i, patch in enumerate(value or []):
        if not patch.xpath.startswith(f"/{root}/"):
            raise ValueError(f"xml_patches[{i}]: {patch.xpath!r} must start with /{root}/, the root of a "
                             f"{root}'s document")
    return value


def _patches_field(root: str):
    return _f(None, "restart", description=f"XML patches applied after kvmstate renders the <{root}> document "
                                           "(they win over its own values), compared on every plan "
                                           "(HCL: `xml_patch { }` blocks).")


class DhcpRange(_Model):
    start: ipaddress.IPv4Address = Field(description="First address handed out.")
    end: ipaddress.IPv4Address = Field(description="Last address handed out.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.start > self.end:
            raise ValueError(f"the DHCP range starts at {self.start}, after its end {self.end}")
        return self


class DhcpHost(_Model):
    mac: str = _f(..., "live", pattern=MAC_PATTERN, description="The guest interface's MAC address.")
    ip: ipaddress.IPv4Address = _f(..., "live", description="The address always handed to that MAC.")
    name: str | None = _f(None, "live", pattern=HOSTNAME_PATTERN, max_length=253,
                          description="Host name given to the guest and resolved by the network's DNS.")

    @field_validator("mac")
    @classmethod
    def _lower(cls, value: str):
        return value.lower()


class Dhcp(_Model):
    """DHCP on a network: `start`-`end` is the first range, `ranges` more, `hosts` fixed addresses."""

    _range: ClassVar[type[DhcpRange]] = DhcpRange       # the range model of the family (Dhcp6 has its own)

    start: ipaddress.IPv4Address | None = _f(None, "live", description="First address of the first range.")
    end: ipaddress.IPv4Address | None = _f(None, "live", description="Last address of the first range.")
    ranges: list[DhcpRange] = _f([], "live", description="More ranges after the first (HCL: `range { }` blocks).")
    hosts: list[DhcpHost] = _f([], "live", description="Static hosts: a fixed address (and name) per MAC "
                                                       "(HCL: `host { }` blocks).")

    @model_validator(mode="after")
    def _first_range(self):
        """`range` blocks alone are allowed: the first becomes `start`-`end`, so one form is compared."""
        if (self.start is None) != (self.end is None):
            raise ValueError("a DHCP range needs both `start` and `end`")
        if self.start is None and self.ranges:
            first, *self.ranges = self.ranges
            self.start, self.end = first.start, first.end
        if self.start is not None and self.start > self.end:
            raise ValueError(f"the DHCP range starts at {self.start}, after its end {self.end}")
        for key in ("mac", "id", "ip", "name"):
            values = [getattr(h, key, None) for h in self.hosts if getattr(h, key, None) is not None]
            dup = sorted({str(v) for v in values if values.count(v) > 1})
            if dup:
                raise ValueError(f"two DHCP hosts have the {key} {dup[0]}")
        return self

    def all_ranges(self) -> list[DhcpRange]:
        first = [self._range(start=self.start, end=self.end)] if self.start is not None else []
        return first + list(self.ranges)


class Dhcp6Range(DhcpRange):
    start: ipaddress.IPv6Address = Field(description="First address handed out.")
    end: ipaddress.IPv6Address = Field(description="Last address handed out.")


class Dhcp6Host(_Model):
    """A DHCPv6 static host: libvirt matches IPv6 clients by DUID or host name, never by MAC."""

    id: str | None = _f(None, "live", pattern=DUID_PATTERN, max_length=390,
                        description="The client's DUID, hex bytes separated by colons (e.g. 0:3:0:1:52:54:0:0:0:10).")
    name: str | None = _f(None, "live", pattern=HOSTNAME_PATTERN, max_length=253,
                          description="The client's host name; with `id`, the name given to it.")
    ip: ipaddress.IPv6Address = _f(..., "live", description="The address always handed to that client.")

    @model_validator(mode="after")
    def _known(self):
        if self.id is None and self.name is None:
            raise ValueError(f"the DHCPv6 host {self.ip} needs `id` (the client's DUID) or `name`: "
                             "IPv6 clients are not matched by MAC")
        return self


class Dhcp6(Dhcp):
    """DHCPv6 on a network: the same shape as `dhcp`, with IPv6 addresses and hosts by DUID or name."""

    _range: ClassVar[type[DhcpRange]] = Dhcp6Range
    start: ipaddress.IPv6Address | None = _f(None, "live", description="First address of the first range.")
    end: ipaddress.IPv6Address | None = _f(None, "live", description="Last address of the first range.")
    ranges: list[Dhcp6Range] = _f([], "live", description="More ranges after the first (HCL: `range { }` blocks).")
    hosts: list[Dhcp6Host] = _f([], "live", description="Static hosts: a fixed address per DUID or host name "
                                                        "(HCL: `host { }` blocks).")


class DnsHost(_Model):
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = _f(..., "live", description="The address the names resolve to.")
    hostnames: list[str] = _f(..., "live", min_length=1, description="Names that resolve to `ip`.")

    @field_validator("hostnames")
    @classmethod
    def _names(cls, value: list[str]):
        for name in value:
            if len(name) > 253 or not re.fullmatch(HOSTNAME_PATTERN, name):
                raise ValueError(f"{name!r} is not a host name (letters, digits, '-' and '.')")
        return value


class DnsSrv(_Model):
    """An SRV record: `_SERVICE._PROTOCOL.DOMAIN` points at `target`:`port`."""

    service: str = _f(..., "live", pattern=r"^[A-Za-z0-9-]{1,15}$", description="Service name, e.g. ldap (no underscore).")
    protocol: Literal["tcp", "udp"] = _f(..., "live", description="Transport protocol.")
    domain: str | None = _f(None, "live", pattern=HOSTNAME_PATTERN, max_length=253,
                            description="Domain of the record; dnsmasq's own domain when unset.")
    target: str | None = _f(None, "live", pattern=HOSTNAME_PATTERN, max_length=253,
                            description="Host offering the service; unset: the service is not offered.")
    port: int | None = _f(None, "live", ge=1, le=65535, description="Port of the service on `target`.")
    priority: int | None = _f(None, "live", ge=0, le=65535, description="Lower is tried first.")
    weight: int | None = _f(None, "live", ge=0, le=65535, description="Share among targets of equal priority.")

    @model_validator(mode="after")
    def _target(self):
        if (self.port is not None or self.priority is not None or self.weight is not None) and self.target is None:
            raise ValueError(f"the SRV record {self.service}/{self.protocol} has a port, priority or weight "
                             "but no `target`")
        return self


class DnsTxt(_Model):
    name: str = _f(..., "live", pattern=HOSTNAME_PATTERN, max_length=253, description="Name of the record.")
    value: str = _f(..., "live", min_length=1, max_length=255, description="Text of the record.")


class DnsForwarder(_Model):
    """Where the network's dnsmasq sends queries it cannot answer: all of them, or those for `domain`."""

    addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None = _f(None, "restart",
                                                                   description="The DNS server to ask.")
    domain: str | None = _f(None, "restart", pattern=HOSTNAME_PATTERN, max_length=253,
                            description="Only queries for this domain; without `addr`, they are answered locally.")

    @model_validator(mode="after")
    def _either(self):
        if self.addr is None and self.domain is None:
            raise ValueError("a DNS forwarder needs `addr`, `domain` or both")
        return self


class Dns(_Model):
    forwarders: list[DnsForwarder] = _f([], "restart", description="Upstream DNS servers, instead of the host's "
                                                                   "resolv.conf (HCL: `forwarder { }` blocks).")
    hosts: list[DnsHost] = _f([], "live", description="Extra host entries served by the network's DNS "
                                                      "(HCL: `host { }` blocks).")
    srv: list[DnsSrv] = _f([], "live", description="SRV records (HCL: `srv { }` blocks).")
    txt: list[DnsTxt] = _f([], "live", description="TXT records (HCL: `txt { }` blocks).")

    @field_validator("hosts")
    @classmethod
    def _unique(cls, value: list[DnsHost]):
        ips = [str(h.ip) for h in value]
        dup = sorted({ip for ip in ips if ips.count(ip) > 1})
        if dup:
            raise ValueError(f"two DNS hosts have the address {dup[0]}; list all its names in one entry")
        return value


class Network(_Model):
    """A libvirt virtual network: a bridge, optionally with NAT or routing, DHCP and DNS."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="network")

    mode: Literal["nat", "route", "isolated", "open", "bridge", "macvtap", "hostdev"] = _f(
        "nat", "replace", description="How the network reaches the outside; `bridge`: an existing host bridge; "
                                      "`macvtap`: host interfaces shared through macvtap; `hostdev`: SR-IOV "
                                      "virtual functions of a host interface.")
    bridge: str | None = _f(None, "replace", filled=True, pattern=BRIDGE_PATTERN,
                            description="Bridge device name, at most 15 characters; libvirt picks one when unset. "
                                        "With mode bridge, the existing host bridge (required).")
    ipv4: str | None = _f(None, "replace", description="IPv4 network in CIDR form; the host takes its first address.")
    host_interfaces: list[str] | None = _f(None, "replace", min_length=1,
                                           description="With mode macvtap: the host network interfaces guests "
                                                       "are attached to (a pool; libvirt picks one per guest).")
    macvtap_mode: Literal["bridge", "private", "vepa", "passthrough"] | None = _f(
        None, "replace", description="With mode macvtap: how guests on one host interface reach each other "
                                     "(libvirt's forward mode); `bridge` when unset.")
    pf: str | None = _f(None, "replace", pattern=BRIDGE_PATTERN,
                        description="With mode hostdev: the SR-IOV physical function whose virtual functions "
                                    "guests are given.")
    dhcp: Dhcp | None = _f(None, "live", description="DHCP ranges and static hosts inside `ipv4`; no DHCP when unset.")
    ipv6: str | None = _f(None, "replace", description="IPv6 network in CIDR form, beside or instead of `ipv4`; "
                                                       "the host takes its first address.")
    dhcp6: Dhcp6 | None = _f(None, "live", description="DHCPv6 ranges and static hosts inside `ipv6`; no DHCPv6 "
                                                       "when unset.")
    domain: str | None = _f(None, "restart", pattern=HOSTNAME_PATTERN, max_length=253,
                            description="DNS domain of the network: guests' names resolve as NAME.DOMAIN.")
    dns: Dns | None = _f(None, "live", description="DNS host entries, SRV and TXT records served by the network.")
    isolate_ports: bool | None = _f(None, "restart", description="Guests on the network reach the host and the "
                                                                 "outside but not each other (libvirt's port isolation).")
    mtu: int | None = _f(None, "restart", ge=68, le=65535, description="MTU of the bridge and the guests' "
                                                                      "interfaces; libvirt's default (1500) when unset.")
    active: bool = _f(True, "live", description="Whether the network is started; one stopped outside kvmstate is started again.")
    autostart: bool = _f(False, "live", description="Start the network when libvirtd starts.")
    xml_patches: list[XmlPatch] | None = _patches_field("network")

    @field_validator("xml_patches")
    @classmethod
    def _xpaths(cls, value: list[XmlPatch] | None):
        return _patches(value, "network")

    @field_validator("ipv4", "ipv6")
    @classmethod
    def _cidr(cls, value: str | None, info: ValidationInfo):
        if value is None:
            return value
        kind, network, example, longest = (("IPv6", ipaddress.IPv6Network, "fd00:150::/64", 126)
                                           if info.field_name == "ipv6" else
                                           ("IPv4", ipaddress.IPv4Network, "192.168.150.0/24", 30))
        try:
            net = network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an {kind} network in CIDR form such as {example} ({exc})") from None
        if net.prefixlen > longest:
            raise ValueError(f"{value} is too small for a host address and clients; use a prefix of /{longest} "
                             "or shorter")
        return str(net)

    @field_validator("host_interfaces")
    @classmethod
    def _devices(cls, value: list[str] | None):
        for name in value or []:
            if not re.fullmatch(BRIDGE_PATTERN, name):
                raise ValueError(f"{name!r} is not a host interface name (at most 15 letters, digits, '_', '.', '-')")
        dup = sorted({name for name in value or [] if value.count(name) > 1})
        if dup:
            raise ValueError(f"the host interface {dup[0]} is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if self.mode == "nat" and self.ipv4 is None:
            raise ValueError("a nat network needs `ipv4` (libvirt NATs IPv4 only; route IPv6 with mode `route`)")
        if self.mode == "route" and self.ipv4 is None and self.ipv6 is None:
            raise ValueError("a route network needs `ipv4` or `ipv6`")
        _device_mode(self)
        if self.mode == "bridge":
            if self.bridge is None:
                raise ValueError("a bridge network needs `bridge`, the name of an existing host bridge")
            extra = [k for k in ("ipv4", "dhcp", "ipv6", "dhcp6", "domain", "dns", "mtu", "isolate_ports")
                     if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"a bridge network only joins the host bridge; {', '.join(extra)} belong to "
                                 "the network the bridge is on")
        for family, key in (("ipv4", "dhcp"), ("ipv6", "dhcp6")):
            if getattr(self, key) is not None and getattr(self, family) is None:
                raise ValueError(f"`{key}` needs `{family}`")
        return self

    @field_validator("dhcp", "dhcp6")
    @classmethod
    def _inside(cls, value: Dhcp | None, info: ValidationInfo):
        """Checked on the field (after its network's field), so an error names the `dhcp`/`dhcp6` block."""
        family = "ipv6" if info.field_name == "dhcp6" else "ipv4"
        if value is not None and info.data.get(family) is not None:
            _dhcp_inside(value, ipaddress.ip_network(info.data[family]))
        return value


DEVICE_MODES = {"macvtap": ("host_interfaces", "macvtap_mode"), "hostdev": ("pf",)}
ADDRESSED = ("bridge", "ipv4", "dhcp", "ipv6", "dhcp6", "domain", "dns", "mtu", "isolate_ports")


def _device_mode(net: Network) -> None:
    """A macvtap or hostdev network hands guests host devices: it has its own attributes and no bridge or addresses."""
    for mode, keys in DEVICE_MODES.items():
        if net.mode != mode:
            stray = [k for k in keys if getattr(net, k) is not None]
            if stray:
                raise ValueError(f"{', '.join(f'`{k}`' for k in stray)} only go with mode {mode}, not {net.mode}")
        elif getattr(net, keys[0]) is None:
            raise ValueError(f"a {mode} network needs `{keys[0]}`")
    if net.mode in DEVICE_MODES:
        extra = [k for k in ADDRESSED if getattr(net, k) is not None]
        if extra:
            raise ValueError(f"a {net.mode} network puts guests on host devices; {', '.join(extra)} belong to "
                             "the networks those devices are on")


def _dhcp_inside(dhcp: Dhcp, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
    """Every address of `dhcp` is a client address of `net`, and no two ranges overlap."""
    label = "DHCP" if net.version == 4 else "DHCPv6"
    if net.version == 6 and net.prefixlen < 64:
        raise ValueError(f"DHCPv6 needs a prefix of /64 or longer in `ipv6` (dnsmasq refuses {net})")
    gateway = next(net.hosts())
    addrs = [a for r in dhcp.all_ranges() for a in (r.start, r.end)] + [h.ip for h in dhcp.hosts]
    for addr in addrs:
        if addr not in net or addr in (net.network_address, net.broadcast_address, gateway):
            raise ValueError(f"{label} address {addr} must be a client address inside {net} (not {gateway}, the host's)")
    ranges = sorted(dhcp.all_ranges(), key=lambda r: r.start)
    for a, b in zip(ranges, ranges[1:]):
        if b.start <= a.end:
            raise ValueError(f"the {label} ranges {a.start}-{a.end} and {b.start}-{b.end} overlap")


POOL_TYPES = Literal["dir", "logical", "netfs", "iscsi", "disk"]
VOLUME_FORMATS = Literal["qcow2", "raw", "vmdk", "vdi", "qed", "vpc"]


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or any(part == ".." for part in value.split("/")):
        raise ValueError(f"{value!r} must be an absolute path without '..'")
    if any(c in value for c in "\0\n"):
        raise ValueError("the path contains a control character")
    return value.rstrip("/") or "/"


class PoolSource(_Model):
    """Where a pool's storage comes from; which keys a pool type takes is checked by `Pool`."""

    host: str | None = _f(None, "replace", pattern=HOSTNAME_PATTERN + "|^[0-9.:]+$", max_length=253,
                          description="netfs, iscsi: the server's host name or address.")
    dir: str | None = _f(None, "replace", description="netfs: the exported directory on the server.")
    format: Literal["nfs", "cifs", "glusterfs", "auto", "dos", "gpt"] | None = _f(
        None, "replace", description="netfs: nfs (libvirt's default auto when unset), cifs or glusterfs; "
                                     "disk: the partition table, dos or gpt.")
    devices: list[str] | None = _f(None, "replace", min_length=1,
                                   description="logical: the physical volumes a new volume group is built on; "
                                               "disk: the one whole block device.")
    name: str | None = _f(None, "replace", pattern=r"^[A-Za-z0-9+_.-]{1,127}$",
                          description="logical: the volume group's name (the pool's name when unset).")
    iqn: str | None = _f(None, "replace", pattern=r"^(iqn\.|eui\.|naa\.)[^\s]{1,220}$",
                         description="iscsi: the target's IQN, e.g. iqn.2024-01.org.example:store.")

    @field_validator("dir")
    @classmethod
    def _dir(cls, value: str | None):
        return None if value is None else _absolute_path(value)

    @field_validator("devices")
    @classmethod
    def _devices(cls, value: list[str] | None):
        return None if value is None else [_absolute_path(v) for v in value]


# What `source` takes for each pool type: required keys, then optional ones.
POOL_SOURCE_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "dir": (set(), set()), "logical": (set(), {"devices", "name"}), "netfs": ({"host", "dir"}, {"format"}),
    "iscsi": ({"host", "iqn"}, set()), "disk": ({"devices"}, {"format"})}
SOURCE_FORMATS = {"netfs": {"nfs", "cifs", "glusterfs", "auto"}, "disk": {"dos", "gpt"}}


class Pool(_Model):
    """A libvirt storage pool."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="pool")

    type: POOL_TYPES = _f("dir", "replace", description="Pool type: dir (a directory), logical (an LVM volume "
                          "group), netfs (an NFS export), iscsi (an iSCSI target's LUNs), disk (a whole disk).")
    path: str | None = _f(None, "replace", description="Absolute path of the pool's directory (dir: created when "
                          "missing; netfs: the mount point); for logical /dev/VG, iscsi /dev/disk/by-path and "
                          "disk /dev when unset.", validate_default=True)
    source: PoolSource | None = _f(None, "replace", description="Where the storage comes from (every type but dir).",
                                   validate_default=True)
    active: bool = _f(True, "live", description="Whether the pool is started; one stopped outside kvmstate is started again.")
    autostart: bool = _f(False, "live", description="Start the pool when libvirtd starts.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None, info: ValidationInfo):
        if value is None and info.data.get("type") in ("dir", "netfs"):
            raise PydanticCustomError("missing", "a {kind} pool needs `path`", {"kind": info.data["type"]})
        return None if value is None else _absolute_path(value)

    @field_validator("source")
    @classmethod
    def _source_fits_type(cls, value: PoolSource | None, info: ValidationInfo):
        """What `source` must and may hold for the pool's type; an error lands on `source`."""
        kind = info.data.get("type")
        if kind is None:
            return value                # the type is wrong: reported there
        required, optional = POOL_SOURCE_KEYS[kind]
        given = set(value.model_dump(exclude_none=True)) if value is not None else set()
        if required - given:
            raise ValueError(f"a {kind} pool needs `source` with {', '.join(sorted(required))}; "
                             f"missing: {', '.join(sorted(required - given))}")
        if given - required - optional:
            raise ValueError(f"a {kind} pool's `source` takes "
                             f"{', '.join(sorted(required | optional)) or 'nothing'}, not "
                             f"{', '.join(sorted(given - required - optional))}")
        if "format" in given and value.format not in SOURCE_FORMATS[kind]:
            raise ValueError(f"a {kind} pool's source format is one of "
                             f"{', '.join(sorted(SOURCE_FORMATS[kind]))}, not {value.format}")
        if kind == "disk" and len(value.devices) != 1:
            raise ValueError("a disk pool's `source.devices` names exactly one block device")
        return None if kind == "dir" else value          # an empty source block says nothing


def _base_dir(info: ValidationInfo) -> Path | None:
    """The folder of the configuration file being validated (relative paths start there)."""
    return Path(info.context["base_dir"]) if isinstance(info.context, dict) and "base_dir" in info.context else None


class Volume(_Model):
    """A volume (disk image) inside a storage pool."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="volume")

    pool: str = _f(..., "replace", ref="pool", description="The pool that holds the volume.")
    capacity: Size | None = _f(None, "live", description="Virtual size, for example 10GiB; growing resizes in place, "
                               "shrinking is refused. Required unless `source` (default: the image's virtual size) "
                               "or `backing_store` (default: the base's size) is set.")
    format: VOLUME_FORMATS = _f("qcow2", "replace", description="Image format; with `source`, the image's. "
                                "A logical pool holds raw volumes only.")
    source: str | None = _f(None, "replace", recorded=True,
                            description="A local image file (relative to the configuration file) or an http(s) URL "
                                        "whose content fills the volume when it is created, streamed through libvirt.")
    checksum: str | None = _f(None, "replace", recorded=True, pattern=r"^sha256:[0-9a-f]{64}$",
                              description="`sha256:<hex>` of the `source` image, verified while it is uploaded.")
    backing_store: str | None = _f(None, "replace", ref="volume",
                                   description="A base volume: this one is a qcow2 copy-on-write overlay on it.")
    clone_of: str | None = _f(None, "replace", ref="volume", recorded=True,
                              description="A volume this one is a full copy of when it is created (converted to "
                                          "`format`); unlike `backing_store`, independent of it afterwards.")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None, info: ValidationInfo):
        if value is None or value.startswith(("http://", "https://")):
            return value
        if "://" in value:
            raise ValueError(f"{value!r}: only local files and http(s) URLs are supported")
        base = _base_dir(info)
        return str((base / value).resolve()) if base is not None and not value.startswith("/") else value

    @model_validator(mode="after")
    def _consistent(self):
        if self.checksum and not self.source:
            raise ValueError("`checksum` needs `source`: it is the checksum of the image uploaded into the volume")
        filled = [key for key in ("source", "backing_store", "clone_of") if getattr(self, key) is not None]
        if len(filled) > 1:
            raise ValueError(f"a volume is filled from `source`, is an overlay on `backing_store` or is a copy of "
                             f"`clone_of`: one of them, not {' and '.join(filled)}")
        if self.backing_store and self.format != "qcow2":
            raise ValueError("an overlay on `backing_store` must have format qcow2")
        if self.capacity is None and not (self.source or self.backing_store or self.clone_of):
            raise ValueError("`capacity` is required for an empty volume (without `source`, `backing_store` or "
                             "`clone_of`)")
        return self


class Cloudinit(_Model):
    """A cloud-init NoCloud seed: an ISO labelled cidata with user-data, meta-data and network-config."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="cloudinit")

    pool: str = _f(..., "replace", ref="pool", description="The pool that holds the ISO (volume `NAME.iso`).")
    user_data: str | None = _f(None, "replace", recorded=True, sensitive=True,
                               description="The user-data document (`#cloud-config ...`); with "
                                           "`user_data_template`, the rendered template. Sensitive.")
    user_data_template: str | None = _f(None, "replace", recorded=True,
                                        description="A Jinja2 template file for user-data, relative to the "
                                                    "configuration file, rendered in a sandbox.")
    template_vars: dict[str, Any] = _f({}, "replace", recorded=True, sensitive=True,
                                       description="Values for `user_data_template`; an unknown variable is an "
                                                   "error. Sensitive.")
    meta_data: str | None = _f(None, "replace", recorded=True,
                               description="The meta-data document; default: instance-id and local-hostname = NAME.")
    network_config: str | None = _f(None, "replace", recorded=True,
                                    description="The network-config document; no such file when unset.")

    @model_validator(mode="after")
    def _render(self, info: ValidationInfo):
        from .template import render_file   # jinja2 is only needed to read a configuration

        base = _base_dir(info)
        if self.user_data_template is None:
            if self.template_vars:
                raise ValueError("`template_vars` needs `user_data_template`")
        elif base is not None:      # reading the configuration: render; a provider re-validates the result
            if self.user_data is not None:
                raise ValueError("set `user_data` or `user_data_template`, not both")
            self.user_data = render_file(base / self.user_data_template, self.template_vars)
        if self.user_data is None:
            raise ValueError("a cloudinit needs `user_data` or `user_data_template`")
        return self


class Disk(_Model):
    volume: str | None = _f(None, "restart", ref="volume", description="The volume attached as this disk.")
    file: str | None = _f(None, "restart", description="Instead of `volume`: an image file on the host, by its "
                                                      "absolute path (raw).")
    block: str | None = _f(None, "restart", description="Instead of `volume`: a block device on the host, by its "
                                                       "absolute path, e.g. /dev/vg0/data.")
    bus: Literal["virtio", "sata", "scsi"] = _f("virtio", "restart", description="Disk bus.")
    cache: Literal["default", "none", "writethrough", "writeback", "directsync", "unsafe"] | None = _f(
        None, "restart", description="Host page cache mode; QEMU's default (writeback) when unset.")
    io: Literal["threads", "native", "io_uring"] | None = _f(None, "restart",
                                                              description="Asynchronous I/O backend; native needs "
                                                                          "cache none or directsync.")
    discard: Literal["unmap", "ignore"] | None = _f(None, "restart", description="Pass the guest's TRIM/discard "
                                                                                  "requests to the image (unmap).")
    serial: str | None = _f(None, "restart", pattern=r"^[A-Za-z0-9_.-]{1,20}$",
                            description="Serial number the guest sees (/dev/disk/by-id/virtio-SERIAL).")
    readonly: bool | None = _f(None, "restart", description="Attach the disk read-only.")
    shareable: bool | None = _f(None, "restart", description="Let several domains attach the disk at once "
                                                              "(raw images only; the guests must coordinate).")
    iothread: int | None = _f(None, "restart", ge=1, description="The domain's I/O thread (1 to `iothreads`) that "
                                                                 "serves this virtio disk.")

    @field_validator("file", "block")
    @classmethod
    def _host_path(cls, value: str | None):
        return None if value is None else _absolute_path(value)

    @property
    def host_path(self) -> str | None:
        """The file or block device attached by path, or None for a volume."""
        return self.file or self.block

    @model_validator(mode="after")
    def _native_io(self):
        kinds = [k for k in ("volume", "file", "block") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a disk needs exactly one of `volume`, `file` or `block`"
                             + (f"; it has {', '.join(kinds)}" if kinds else ""))
        if self.io == "native" and self.cache not in ("none", "directsync"):
            raise ValueError("io native needs cache none or directsync (QEMU refuses it otherwise)")
        return self


class Cdrom(_Model):
    volume: str = _f(..., "restart", ref="volume", description="The volume attached read-only as this CD-ROM.")
    bus: Literal["sata", "scsi"] = _f("sata", "restart", description="CD-ROM bus.")


class Interface(_Model):
    network: str | None = _f(None, "restart", ref="network", follows=True,
                             description="The libvirt network this interface joins. A running domain restarts when "
                                         "its network is replaced or restarted: libvirt does not plug a running "
                                         "guest into a network made again.")
    bridge: str | None = _f(None, "restart", pattern=BRIDGE_PATTERN,
                            description="A host bridge this interface joins (instead of `network`).")
    macvtap: str | None = _f(None, "restart", pattern=BRIDGE_PATTERN,
                             description="A host network device this interface joins through macvtap in bridge mode "
                                         "(instead of `network`).")
    mac: str | None = _f(None, "restart", filled=True, pattern=MAC_PATTERN, unique="MAC address",
                         description="Fixed MAC address; libvirt generates one (kept stable) when unset.")
    model: Literal["virtio", "e1000", "rtl8139"] = _f("virtio", "restart", description="NIC model.")
    wait_for_ip: bool = _f(False, "live", local=True, description="Apply waits until the guest has an IPv4 address on this "
                                                      "interface and records it in the state.")
    wait_timeout: int = _f(300, "live", local=True, ge=1, le=3600, description="Seconds `wait_for_ip` waits before apply fails.")

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in ("network", "bridge", "macvtap") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an interface needs exactly one of `network`, `bridge` or `macvtap`"
                             + (f"; it has {', '.join(kinds)}" if kinds else ""))
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("network", "bridge", "macvtap") if getattr(self, k) is not None)


class Cpu(_Model):
    mode: Literal["host-passthrough", "host-model", "custom"] = _f("host-model", "restart", description="CPU mode.")
    model: str | None = _f(None, "restart", description="Named CPU model for mode custom, e.g. Skylake-Server.")
    sockets: int | None = _f(None, "restart", ge=1, description="Sockets; the topology's unset parts default to 1.")
    cores: int | None = _f(None, "restart", ge=1, description="Cores per socket.")
    threads: int | None = _f(None, "restart", ge=1, description="Threads per core.")

    @model_validator(mode="after")
    def _consistent(self):
        if self.mode == "custom" and not self.model:
            raise ValueError("CPU mode custom needs `model`")
        if self.mode != "custom" and self.model:
            raise ValueError(f"`model` is only for CPU mode custom, not {self.mode}")
        if any(v is not None for v in (self.sockets, self.cores, self.threads)):
            self.sockets, self.cores, self.threads = self.sockets or 1, self.cores or 1, self.threads or 1
        return self


class Graphics(_Model):
    type: Literal["none", "vnc", "spice"] = _f("none", "restart", description="Graphical console.")
    listen: ipaddress.IPv4Address | ipaddress.IPv6Address | None = _f(
        None, "restart", description="Address the console listens on; libvirt's default (127.0.0.1) when unset.")


class Serial(_Model):
    type: Literal["pty", "file"] = _f("pty", "restart", description="pty: an interactive console (virsh console); "
                                                                    "file: the output is written to `path`.")
    path: str | None = _f(None, "restart", description="Absolute path of the log file, for type file.")

    @model_validator(mode="after")
    def _path(self):
        if (self.type == "file") != (self.path is not None):
            raise ValueError("a serial console of type file needs `path`, and only that type takes one")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"{self.path!r} must be an absolute path")
        return self


class Tpm(_Model):
    model: Literal["tpm-tis", "tpm-crb"] = _f("tpm-tis", "restart", description="TPM interface; tpm-crb is "
                                                                                   "TPM 2.0 only.")
    version: Literal["2.0", "1.2"] = _f("2.0", "restart", description="TPM version; Windows 11 needs 2.0.")

    @model_validator(mode="after")
    def _consistent(self):
        if self.model == "tpm-crb" and self.version != "2.0":
            raise ValueError("a tpm-crb TPM is version 2.0")
        return self


class Watchdog(_Model):
    model: Literal["i6300esb", "itco", "ib700"] = _f("i6300esb", "restart",
                                                     description="Watchdog device; itco needs a q35 machine.")
    action: Literal["reset", "shutdown", "poweroff", "pause", "none", "dump", "inject-nmi"] = _f(
        "reset", "restart", description="What happens when the guest stops feeding the watchdog.")


class Filesystem(_Model):
    source: str = _f(..., "restart", description="Absolute path of the host folder shared with the guest.")
    target: str = _f(..., "restart", pattern=r"^[A-Za-z0-9_.-]{1,36}$",
                     description="Mount tag the guest mounts: mount -t virtiofs TAG /mnt.")

    @field_validator("source")
    @classmethod
    def _absolute(cls, value: str):
        if not value.startswith("/") or any(part == ".." for part in value.split("/")):
            raise ValueError(f"{value!r} must be an absolute path without '..'")
        return value


CPUSET_PATTERN = r"^\^?\d{1,4}(-\d{1,4})?(,\^?\d{1,4}(-\d{1,4})?)*$"


def cpuset(text: str) -> set[int]:
    """The host CPUs (or NUMA nodes) of a libvirt set such as "0-3,^2,6"; a range runs low to high."""
    found: set[int] = set()
    for part in text.split(","):
        low, _, high = part.lstrip("^").partition("-")
        if int(high or low) < int(low):
            raise ValueError(f"{text!r}: the range {part} runs backwards")
        items = set(range(int(low), int(high or low) + 1))
        found = found - items if part.startswith("^") else found | items
    if not found:
        raise ValueError(f"{text!r} names no CPU")
    return found


def cpuset_text(found: set[int]) -> str:
    """libvirt's form of a CPU set: runs as "0-3", others alone, in order ({0, 1, 2, 5} -> "0-2,5")."""
    runs: list[list[int]] = []
    for cpu in sorted(found):
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)


class Input(_Model):
    type: Literal["tablet", "keyboard", "mouse"] = _f(..., "restart", description="Input device; a tablet gives "
                                                                                   "absolute pointing in VNC/SPICE.")
    bus: Literal["usb", "virtio"] = _f("usb", "restart", description="Bus (the PS/2 mouse and keyboard libvirt "
                                                                     "adds on its own are not listed).")


class Hostdev(_Model):
    """A host device passed through to the guest: a PCI device by address, or a USB device by vendor and product
    or by bus and device number."""

    pci: str | None = _f(None, "restart", pattern=r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$",
                         description="PCI address domain:bus:slot.function, e.g. 0000:01:00.0 (lspci -D).")
    vendor: str | None = _f(None, "restart", pattern=r"^0x[0-9a-fA-F]{4}$",
                            description="USB vendor id, e.g. 0x046d (lsusb); with `product`.")
    product: str | None = _f(None, "restart", pattern=r"^0x[0-9a-fA-F]{4}$", description="USB product id.")
    usb_bus: int | None = _f(None, "restart", ge=0, le=999, description="USB bus number (lsusb); with `usb_device`.")
    usb_device: int | None = _f(None, "restart", ge=0, le=999, description="USB device number on `usb_bus`.")

    @field_validator("pci", "vendor", "product")
    @classmethod
    def _lower(cls, value: str | None):
        return value.lower() if value is not None else value

    @model_validator(mode="after")
    def _one_form(self):
        forms = {"pci": self.pci is not None, "vendor/product": self.vendor is not None or self.product is not None,
                 "usb_bus/usb_device": self.usb_bus is not None or self.usb_device is not None}
        if sum(forms.values()) != 1:
            raise ValueError("a host device needs exactly one of `pci`, `vendor` and `product`, or `usb_bus` and "
                             "`usb_device`" + (f"; it has {', '.join(k for k, v in forms.items() if v)}"
                                               if any(forms.values()) else ""))
        if forms["vendor/product"] and (self.vendor is None or self.product is None):
            raise ValueError("a USB device by id needs both `vendor` and `product`")
        if forms["usb_bus/usb_device"] and (self.usb_bus is None or self.usb_device is None):
            raise ValueError("a USB device by address needs both `usb_bus` and `usb_device`")
        return self

    @property
    def kind(self) -> str:
        return "pci" if self.pci is not None else "usb"


class MemoryBacking(_Model):
    hugepages: bool | None = _f(None, "restart", description="Back the guest's memory with the host's hugepages.")
    hugepage_size: Size | None = _f(None, "restart", description="Hugepage size, e.g. 2MiB or 1GiB; the host's "
                                                                 "default size when unset (needs `hugepages`).")
    shared: bool | None = _f(None, "restart", description="Shared memory access (memfd without hugepages); "
                                                          "virtiofs `filesystems` turn it on.")

    @model_validator(mode="after")
    def _size(self):
        if self.hugepage_size is not None and not self.hugepages:
            raise ValueError("`hugepage_size` needs `hugepages = true`")
        if self.hugepage_size is not None and (self.hugepage_size % 4096 or self.hugepage_size & (self.hugepage_size - 1)):
            raise ValueError(f"a hugepage size is a power of two such as 2MiB or 1GiB, not {format_size(self.hugepage_size)}")
        return self


class Cputune(_Model):
    vcpu_pins: list[str] | None = _f(None, "live", description="Host CPUs each vCPU may run on, by vCPU number "
                                                               "(list position): a CPU set such as \"0-3,^2\".")
    emulator_pin: str | None = _f(None, "live", pattern=CPUSET_PATTERN,
                                  description="Host CPUs QEMU's own threads may run on.")

    @field_validator("vcpu_pins")
    @classmethod
    def _sets(cls, value: list[str] | None):
        for i, text in enumerate(value or []):
            if not re.fullmatch(CPUSET_PATTERN, text):
                raise ValueError(f"vcpu_pins[{i}]: {text!r} is not a CPU set such as \"0\", \"0-3\" or \"0,2,^1\"")
        return [cpuset_text(cpuset(text)) for text in value] if value is not None else None

    @field_validator("emulator_pin")
    @classmethod
    def _set(cls, value: str | None):
        return cpuset_text(cpuset(value)) if value is not None else None


class Numatune(_Model):
    mode: Literal["strict", "preferred", "interleave", "restrictive"] = _f(
        "strict", "restart", description="How strictly the guest's memory stays on `nodeset`.")
    nodeset: str = _f(..., "restart", pattern=CPUSET_PATTERN, description="Host NUMA nodes the memory comes from.")

    @field_validator("nodeset")
    @classmethod
    def _set(cls, value: str):
        return cpuset_text(cpuset(value))


_NEEDS_USB = {"sound": lambda model: model == "usb", "usb_redirects": bool,
              "inputs": lambda inputs: any(i.bus == "usb" for i in inputs),
              "hostdevs": lambda devs: any(d.kind == "usb" for d in devs)}     # which values need a USB bus

LIFECYCLE = Literal["destroy", "restart", "preserve", "rename-restart"]
CRASH = Literal["destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"]


class Domain(_Model):
    """A virtual machine."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="domain")

    type: Literal["kvm", "qemu"] = _f("kvm", "restart", description="Hypervisor: kvm, or qemu for software emulation.")
    vcpu: int = _f(1, "live", ge=1, le=256, description="Number of virtual CPUs; changed live up to `max_vcpu`.")
    max_vcpu: int | None = _f(None, "restart", filled=True, ge=1, le=256,
                              description="Most virtual CPUs without a restart; `vcpu` when unset.")
    memory: Size = _f(512 * 1024**2, "live", description="Memory, for example 1GiB; changed live up to `max_memory`.")
    max_memory: Size | None = _f(None, "restart", filled=True, description="Most memory without a restart; `memory` when unset.")
    machine: str | None = _f(None, "restart", filled=True, description="Machine type such as q35 or pc; libvirt's default when unset.")
    firmware: Literal["bios", "uefi"] = _f("bios", "restart",
                                           description="bios (SeaBIOS) or uefi (OVMF, with a per-domain NVRAM).")
    cpu: Cpu | None = _f(None, "restart", filled=True, description="CPU mode, model and topology; libvirt's default when unset.")
    disks: list[Disk] = _f([], "live", description="Disks, in boot order; adding or removing the last ones is live.")
    cdroms: list[Cdrom] = _f([], "restart", description="Volumes attached read-only as CD-ROMs, booted after the disks.")
    iothreads: int | None = _f(None, "restart", ge=1, le=64, description="I/O threads for the disks' `iothread`; "
                                                                        "none when unset (QEMU's main loop).")
    interfaces: list[Interface] = _f([], "live", description="Network interfaces; adding or removing the last ones is live.")
    # model_construct(): the defaults need no validation, so importing this module builds no validator
    graphics: Graphics = _f(Graphics.model_construct(), "restart",
                            description="Graphical console: none, vnc or spice.")
    serial: Serial = _f(Serial.model_construct(), "restart", description="Serial console: pty, or a log file.")
    kernel: str | None = _f(None, "restart", description="Direct kernel boot: absolute path of a kernel on the host.")
    initrd: str | None = _f(None, "restart", description="Direct kernel boot: absolute path of an initrd on the host.")
    cmdline: str | None = _f(None, "restart", max_length=4096, description="Direct kernel boot: the kernel command line.")
    guest_agent: bool | None = _f(None, "restart", description="A virtio channel for the QEMU guest agent "
                                                                "(org.qemu.guest_agent.0).")
    tpm: Tpm | None = _f(None, "restart", description="An emulated TPM (swtpm), with its state kept per domain.")
    rng: bool | None = _f(None, "restart", description="A virtio-rng device fed from the host's /dev/urandom.")
    video: Literal["none", "vga", "cirrus", "virtio", "qxl", "bochs", "ramfb"] | None = _f(
        None, "restart", filled=True, description="Video card model; libvirt's choice with graphics when unset.")
    watchdog: Watchdog | None = _f(None, "restart", description="A watchdog device and its action.")
    filesystems: list[Filesystem] | None = _f(None, "restart", description="Host folders shared through virtiofs "
                                                                             "(shared memory backing is added).")
    boot_order: list[Literal["disk", "cdrom", "network"]] | None = _f(
        None, "restart", filled=True, description="Which devices boot, in order: the disks, the CD-ROMs, the interfaces (PXE); "
                                     "disks then CD-ROMs when unset.")
    boot_menu: bool | None = _f(None, "restart", description="Show the firmware's boot menu.")
    secure_boot: bool | None = _f(None, "restart", description="UEFI Secure Boot with Microsoft's keys enrolled "
                                                               "(needs firmware uefi and a q35 machine).")
    on_poweroff: LIFECYCLE | None = _f(None, "restart", filled=True, description="What a guest power-off does; libvirt: destroy.")
    on_reboot: LIFECYCLE | None = _f(None, "restart", filled=True, description="What a guest reboot does; libvirt: restart.")
    on_crash: CRASH | None = _f(None, "restart", filled=True, description="What a guest crash does; libvirt: destroy.")
    usb_controller: Literal["qemu-xhci", "nec-xhci", "ich9-ehci1", "piix3-uhci", "none"] | None = _f(
        None, "restart", filled=True, description="Model of the first USB controller (qemu-xhci: USB 3); none: no USB; "
                                     "libvirt's choice when unset.")
    sound: Literal["ich9", "ich6", "ac97", "es1370", "sb16", "usb"] | None = _f(
        None, "restart", description="A sound card of this model.")
    inputs: list[Input] | None = _f(None, "restart", description="Tablets, keyboards and mice on the USB or virtio "
                                                                  "bus (beside libvirt's PS/2 pair).")
    usb_redirects: int | None = _f(None, "live", ge=0, le=8, description="USB redirection channels through "
                                                                        "SPICE (spicevmc), for USB devices of "
                                                                        "the viewer's machine; changed live.")
    hostdevs: list[Hostdev] | None = _f(None, "restart", description="Host PCI and USB devices passed through; "
                                                                      "checked against the host's devices at plan.")
    memory_backing: MemoryBacking | None = _f(None, "restart", description="Hugepages or shared memory.")
    cputune: Cputune | None = _f(None, "live", description="vCPU and emulator pinning to host CPUs.")
    numatune: Numatune | None = _f(None, "restart", description="Host NUMA nodes the guest's memory comes from.")
    autostart: bool = _f(False, "live", description="Start the domain when libvirtd starts.")
    power: Literal["running", "stopped"] = _f("running", "live", description="Desired power state.")
    description: str | None = _f(None, "live", max_length=4096, description="Free text shown by virsh desc.")
    cloudinit: str | None = _f(None, "restart", ref="cloudinit",
                               description="A cloud-init seed attached as a read-only SATA CD-ROM.")
    xml_patches: list[XmlPatch] | None = _patches_field("domain")

    @field_validator("xml_patches")
    @classmethod
    def _xpaths(cls, value: list[XmlPatch] | None):
        return _patches(value, "domain")

    @field_validator("kernel", "initrd")
    @classmethod
    def _absolute(cls, value: str | None):
        if value is not None and not value.startswith("/"):
            raise ValueError(f"{value!r} must be an absolute path on the host")
        return value

    @model_validator(mode="after")
    def _maximums(self):
        """`max_memory` and `max_vcpu` default to `memory` and `vcpu`, and may not be below them."""
        if self.max_memory is None:
            self.max_memory = self.memory
        elif self.max_memory < self.memory:
            raise ValueError(f"memory {format_size(self.memory)} is more than max_memory {format_size(self.max_memory)}")
        if self.max_vcpu is None:
            self.max_vcpu = self.vcpu
        elif self.max_vcpu < self.vcpu:
            raise ValueError(f"vcpu {self.vcpu} is more than max_vcpu {self.max_vcpu}")
        if self.cpu is not None and self.cpu.sockets is not None:
            total = self.cpu.sockets * self.cpu.cores * self.cpu.threads
            if total != self.max_vcpu:
                raise ValueError(f"the CPU topology has {total} CPUs (sockets x cores x threads); "
                                 f"it must equal max_vcpu, {self.max_vcpu}")
        if (self.initrd or self.cmdline) and not self.kernel:
            raise ValueError("`initrd` and `cmdline` need `kernel`")
        return self

    @model_validator(mode="after")
    def _platform(self):
        """Secure Boot's needs, and a boot order naming only kinds of devices the domain has."""
        if self.secure_boot is False and self.firmware != "uefi":
            self.secure_boot = None             # BIOS has no Secure Boot to turn off
        if self.secure_boot:
            if self.firmware != "uefi":
                raise ValueError("`secure_boot` needs firmware uefi")
            if not self.machine or "q35" not in self.machine:
                raise ValueError("`secure_boot` needs a q35 machine (machine = \"q35\"): OVMF's Secure Boot "
                                 "build needs SMM")
        if self.boot_order is not None:
            if len(set(self.boot_order)) != len(self.boot_order):
                raise ValueError("`boot_order` names a kind of device twice")
            have = {"disk": self.disks, "cdrom": self.cdroms, "network": self.interfaces}
            self.boot_order = [kind for kind in self.boot_order if have[kind]]
        if self.filesystems:
            tags = [fs.target for fs in self.filesystems]
            dup = sorted({t for t in tags if tags.count(t) > 1})
            if dup:
                raise ValueError(f"two filesystems have the mount tag {dup[0]}")
        return self

    @field_validator("sound", "inputs", "usb_redirects", "hostdevs")
    @classmethod
    def _usb_bus(cls, value: Any, info: ValidationInfo):
        """What needs a USB bus, and SPICE for redirection; each error lands on the attribute that asks."""
        if value and _NEEDS_USB[info.field_name](value) and info.data.get("usb_controller") == "none":
            raise ValueError(f"usb_controller is none, but this `{info.field_name}` value needs a USB bus")
        graphics = info.data.get("graphics")
        if info.field_name == "usb_redirects" and value and graphics is not None and graphics.type != "spice":
            raise ValueError("USB redirection goes through SPICE: set graphics type spice")
        pci = [h.pci for h in value or [] if h.pci] if info.field_name == "hostdevs" else []
        dup = sorted({a for a in pci if pci.count(a) > 1})
        if dup:
            raise ValueError(f"the PCI device {dup[0]} is passed through twice")
        return value

    @field_validator("watchdog")
    @classmethod
    def _itco_on_q35(cls, value: Watchdog | None, info: ValidationInfo):
        machine = info.data.get("machine")
        if value is not None and value.model == "itco" and (not machine or "q35" not in machine):
            raise ValueError("the itco watchdog is part of the q35 chipset: set machine = \"q35\", or use "
                             "model i6300esb")
        return value

    @field_validator("memory_backing")
    @classmethod
    def _virtiofs_shares(cls, value: MemoryBacking | None, info: ValidationInfo):
        if value is not None and value.shared is False and info.data.get("filesystems"):
            raise ValueError("virtiofs `filesystems` need shared memory: remove shared = false")
        return value

    @field_validator("cputune")
    @classmethod
    def _pins(cls, value: Cputune | None, info: ValidationInfo):
        most = info.data.get("max_vcpu") or info.data.get("vcpu") or 1
        if value is not None and len(value.vcpu_pins or []) > most:
            raise ValueError(f"vcpu_pins pins {len(value.vcpu_pins)} vCPUs; the domain has at most {most} (max_vcpu)")
        return value

    @model_validator(mode="after")
    def _unique(self):
        macs = [i.mac.lower() for i in self.interfaces if i.mac]
        dup = {m for m in macs if macs.count(m) > 1}
        if dup:
            raise ValueError(f"MAC address {sorted(dup)[0]} is used by two interfaces")
        vols = [d.volume for d in self.disks if d.volume] + [c.volume for c in self.cdroms]
        dupv = {v for v in vols if vols.count(v) > 1}
        if dupv:
            raise ValueError(f"volume {sorted(dupv)[0]} is attached twice")
        for i, disk in enumerate(self.disks):
            if disk.iothread is not None and (disk.bus != "virtio" or disk.iothread > (self.iothreads or 0)):
                raise ValueError(f"disks[{i}].iothread {disk.iothread} needs a virtio disk and `iothreads` of at "
                                 f"least {disk.iothread} on the domain")
        paths = [d.host_path for d in self.disks if d.host_path]
        dupp = {p for p in paths if paths.count(p) > 1}
        if dupp:
            raise ValueError(f"{sorted(dupp)[0]} is attached twice")
        return self


class Snapshot(_Model):
    """A snapshot of a domain: its disks (and, when it runs, its memory) at one moment, to revert to."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="snapshot")

    domain: str = _f(..., "replace", ref="domain", description="The domain the snapshot is of.")
    kind: Literal["internal", "external"] = _f(
        "internal", "replace", description="internal: kept inside the domain's qcow2 disks (all of them must be "
                                           "qcow2). external: disk-only; each disk moves onto a new qcow2 overlay "
                                           "VOLUME.NAME in its volume's pool, and memory adds the running "
                                           "domain's memory (docs/configuration.md).")
    memory: bool | None = _f(None, "replace", description="external only: also save the running domain's memory, "
                             "to the file DOMAIN.NAME.memory beside its first disk's volume.")
    description: str | None = _f(None, "live", max_length=4096, description="Free text shown by "
                                 "virsh snapshot-info; changed in place (the snapshot's metadata is redefined).")
