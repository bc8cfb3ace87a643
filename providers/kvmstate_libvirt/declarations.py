"""The libvirt provider's resource types, declared with their models and nothing else.

Importable without libvirt: the engine's commands, the fake provider of the engine
tests and the renderers read these without opening a connection. `read` lists
types in this order.
"""

from __future__ import annotations

from kvmstate.provider import ResourceType

from . import schema

NETWORK = ResourceType("network", "networks", schema.Network, "A libvirt virtual network.", marks_owner=True)
POOL = ResourceType("pool", "pools", schema.Pool, "A libvirt storage pool.")
VOLUME = ResourceType("volume", "volumes", schema.Volume, "A volume inside a storage pool.", scope="pool")
CLOUDINIT = ResourceType("cloudinit", "cloudinits", schema.Cloudinit,
                         "A cloud-init NoCloud seed ISO inside a storage pool.", scope="pool")
DOMAIN = ResourceType("domain", "domains", schema.Domain, "A virtual machine.", marks_owner=True)
SNAPSHOT = ResourceType("snapshot", "snapshots", schema.Snapshot, "A snapshot of a domain.", scope="domain",
                        reverts="domain")

TYPES: tuple[ResourceType, ...] = (NETWORK, POOL, VOLUME, CLOUDINIT, DOMAIN, SNAPSHOT)
