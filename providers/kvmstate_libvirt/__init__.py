"""The libvirt provider for kvmstate: networks, storage pools, volumes and domains.

One module per libvirt document (network, pool, volume, domain), each building
and parsing its XML and carrying out its operations; `provider` dispatches the
protocol to them; `connection` opens hosts and translates errors; `ownership`
reads and writes the owner mark. Nothing here may be imported by the engine.
"""

from .provider import LibvirtProvider

__all__ = ["LibvirtProvider"]
