"""The operations of each libvirt resource type: one `ResourceOperations` class per type.

Importing this package imports libvirt; the provider imports it on first use.
Adding a resource type: its model in `schema`, its declaration in `declarations`,
its document in `xml/`, its operations here, and one entry in `OPERATIONS`.
"""

from __future__ import annotations

from .base import ResourceOperations
from .cloudinit import Cloudinits
from .domain import Domains
from .network import Networks
from .pool import Pools
from .snapshot import Snapshots
from .volume import Volumes

OPERATIONS: dict[str, ResourceOperations] = {
    ops.declaration.name: ops for ops in (Networks(), Pools(), Volumes(), Cloudinits(), Domains(), Snapshots())
}
