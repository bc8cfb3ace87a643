"""The resource models of the libvirt provider: what a user may write for each type.

Every field says in its metadata how a change is applied (`x-update`) and, when it
names another resource, which type (`x-ref`). Fields whose default is None are
left to libvirt when unset and are then never compared.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kvmstate.units import Size

MAC_PATTERN = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"
BRIDGE_PATTERN = r"^[A-Za-z0-9_.-]{1,15}$"


def _f(default, update: str, ref: str | None = None, **kw):
    extra = {"x-update": update}
    if ref:
        extra["x-ref"] = ref
    return Field(default, json_schema_extra=extra, **kw)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DhcpRange(_Model):
    start: ipaddress.IPv4Address = Field(description="First address handed out.")
    end: ipaddress.IPv4Address = Field(description="Last address handed out.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.start > self.end:
            raise ValueError(f"the DHCP range starts at {self.start}, after its end {self.end}")
        return self


class Network(_Model):
    """A libvirt virtual network: a bridge, optionally with NAT or routing, DHCP and DNS."""

    model_config = ConfigDict(extra="forbid", title="network")

    mode: Literal["nat", "route", "isolated", "open"] = _f("nat", "replace", description="How the network reaches the outside.")
    bridge: str | None = _f(None, "replace", pattern=BRIDGE_PATTERN,
                            description="Bridge device name, at most 15 characters; libvirt picks one when unset.")
    ipv4: str | None = _f(None, "replace", description="IPv4 network in CIDR form; the host takes its first address.")
    dhcp: DhcpRange | None = _f(None, "live", description="DHCP range inside `ipv4`; no DHCP when unset.")
    active: bool = _f(True, "live", description="Whether the network is started; one stopped outside kvmstate is started again.")
    autostart: bool = _f(False, "live", description="Start the network when libvirtd starts.")

    @field_validator("ipv4")
    @classmethod
    def _cidr(cls, value: str | None):
        if value is None:
            return value
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 network in CIDR form such as 192.168.150.0/24 ({exc})") from None
        if net.prefixlen > 30:
            raise ValueError(f"{value} is too small for a host address and clients; use a prefix of /30 or shorter")
        return str(net)

    @model_validator(mode="after")
    def _consistent(self):
        if self.mode in ("nat", "route") and self.ipv4 is None:
            raise ValueError(f"a {self.mode} network needs `ipv4`")
        if self.dhcp is not None:
            if self.ipv4 is None:
                raise ValueError("`dhcp` needs `ipv4`")
            net = ipaddress.IPv4Network(self.ipv4)
            gateway = next(net.hosts())
            for addr in (self.dhcp.start, self.dhcp.end):
                if addr not in net or addr in (net.network_address, net.broadcast_address, gateway):
                    raise ValueError(f"DHCP address {addr} must be a client address inside {net} (not {gateway}, the host's)")
        return self


class Pool(_Model):
    """A libvirt storage pool."""

    model_config = ConfigDict(extra="forbid", title="pool")

    type: Literal["dir"] = _f("dir", "replace", description="Pool type.")
    path: str = _f(..., "replace", description="Absolute path of the pool's directory; created when missing.")
    active: bool = _f(True, "live", description="Whether the pool is started; one stopped outside kvmstate is started again.")
    autostart: bool = _f(False, "live", description="Start the pool when libvirtd starts.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str):
        if not value.startswith("/") or any(part == ".." for part in value.split("/")):
            raise ValueError(f"{value!r} must be an absolute path without '..'")
        if any(c in value for c in "\0\n"):
            raise ValueError("the path contains a control character")
        return value.rstrip("/") or "/"


class Volume(_Model):
    """A volume (disk image) inside a storage pool."""

    model_config = ConfigDict(extra="forbid", title="volume")

    pool: str = _f(..., "replace", ref="pool", description="The pool that holds the volume.")
    capacity: Size = _f(..., "live", description="Virtual size, for example 10GiB; growing resizes in place.")
    format: Literal["qcow2", "raw"] = _f("qcow2", "replace", description="Image format.")


class Disk(_Model):
    volume: str = _f(..., "restart", ref="volume", description="The volume attached as this disk.")
    bus: Literal["virtio", "sata", "scsi"] = _f("virtio", "restart", description="Disk bus.")


class Interface(_Model):
    network: str = _f(..., "restart", ref="network", description="The network this interface joins.")
    mac: str | None = _f(None, "restart", pattern=MAC_PATTERN,
                         description="Fixed MAC address; libvirt generates one (kept stable) when unset.")
    model: Literal["virtio", "e1000", "rtl8139"] = _f("virtio", "restart", description="NIC model.")


class Domain(_Model):
    """A virtual machine."""

    model_config = ConfigDict(extra="forbid", title="domain")

    type: Literal["kvm", "qemu"] = _f("kvm", "restart", description="Hypervisor: kvm, or qemu for software emulation.")
    vcpu: int = _f(1, "restart", ge=1, le=256, description="Number of virtual CPUs.")
    memory: Size = _f(512 * 1024**2, "restart", description="Memory, for example 1GiB.")
    machine: str | None = _f(None, "restart", description="Machine type such as q35 or pc; libvirt's default when unset.")
    disks: list[Disk] = _f([], "restart", description="Disks, in boot order.")
    interfaces: list[Interface] = _f([], "restart", description="Network interfaces.")
    autostart: bool = _f(False, "live", description="Start the domain when libvirtd starts.")
    power: Literal["running", "stopped"] = _f("running", "live", description="Desired power state.")
    description: str | None = _f(None, "live", max_length=4096, description="Free text shown by virsh desc.")

    @model_validator(mode="after")
    def _unique(self):
        macs = [i.mac.lower() for i in self.interfaces if i.mac]
        dup = {m for m in macs if macs.count(m) > 1}
        if dup:
            raise ValueError(f"MAC address {sorted(dup)[0]} is used by two interfaces")
        vols = [d.volume for d in self.disks]
        dupv = {v for v in vols if vols.count(v) > 1}
        if dupv:
            raise ValueError(f"volume {sorted(dupv)[0]} is attached twice")
        return self
