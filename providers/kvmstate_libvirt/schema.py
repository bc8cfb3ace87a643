"""The resource models of the libvirt provider: what a user may write for each type.

Every field says in its metadata how a change is applied (`x-update`) and, when it
names another resource, which type (`x-ref`). Fields whose default is None are
left to libvirt when unset and are then never compared.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from kvmstate.units import Size

MAC_PATTERN = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"
BRIDGE_PATTERN = r"^[A-Za-z0-9_.-]{1,15}$"


def _f(default, update: str, ref: str | None = None, recorded: bool = False, sensitive: bool = False, **kw):
    extra: dict = {"x-update": update}
    if ref:
        extra["x-ref"] = ref
    if recorded:
        extra["x-recorded"] = True
    if sensitive:
        extra["x-sensitive"] = True
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


def _base_dir(info: ValidationInfo) -> Path | None:
    """The folder of the configuration file being validated (relative paths start there)."""
    return Path(info.context["base_dir"]) if isinstance(info.context, dict) and "base_dir" in info.context else None


class Volume(_Model):
    """A volume (disk image) inside a storage pool."""

    model_config = ConfigDict(extra="forbid", title="volume")

    pool: str = _f(..., "replace", ref="pool", description="The pool that holds the volume.")
    capacity: Size | None = _f(None, "live", description="Virtual size, for example 10GiB; growing resizes in place, "
                               "shrinking is refused. Required unless `source` (default: the image's virtual size) "
                               "or `backing_store` (default: the base's size) is set.")
    format: Literal["qcow2", "raw"] = _f("qcow2", "replace", description="Image format; with `source`, the image's.")
    source: str | None = _f(None, "replace", recorded=True,
                            description="A local image file (relative to the configuration file) or an http(s) URL "
                                        "whose content fills the volume when it is created, streamed through libvirt.")
    checksum: str | None = _f(None, "replace", recorded=True, pattern=r"^sha256:[0-9a-f]{64}$",
                              description="`sha256:<hex>` of the `source` image, verified while it is uploaded.")
    backing_store: str | None = _f(None, "replace", ref="volume",
                                   description="A base volume: this one is a qcow2 copy-on-write overlay on it.")

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
        if self.source and self.backing_store:
            raise ValueError("a volume is filled from `source` or is an overlay on `backing_store`, not both")
        if self.backing_store and self.format != "qcow2":
            raise ValueError("an overlay on `backing_store` must have format qcow2")
        if self.capacity is None and not (self.source or self.backing_store):
            raise ValueError("`capacity` is required for an empty volume (without `source` or `backing_store`)")
        return self


class Cloudinit(_Model):
    """A cloud-init NoCloud seed: an ISO labelled cidata with user-data, meta-data and network-config."""

    model_config = ConfigDict(extra="forbid", title="cloudinit")

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
    cloudinit: str | None = _f(None, "restart", ref="cloudinit",
                               description="A cloud-init seed attached as a read-only SATA CD-ROM.")

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
