"""Networks: read, create, update (DHCP range, active, autostart), adopt and delete. Identity: the UUID."""

from __future__ import annotations

import libvirt

from kvmstate.provider import LiveObject, Owner, Request

from ..connection import Host
from ..declarations import NETWORK
from ..errors import doing, find
from ..schema import DhcpRange, Network
from ..xml import network as document
from ..xml import ownership
from ..xml.util import parse
from .base import ResourceOperations, changed, listed


class Networks(ResourceOperations):
    declaration = NETWORK

    def live(self, host: Host, net: libvirt.virNetwork, active: bool | None = None,
             autostart: bool | None = None) -> LiveObject:
        """One network; `active` and `autostart` are asked for when the caller does not know them."""
        name = net.name()
        with doing(f"reading network {name}"):
            root = parse(net.XMLDesc(0))
            active = bool(net.isActive()) if active is None else active
            autostart = bool(net.autostart()) if autostart is None else autostart
        attrs = document.from_xml(root, active=active, autostart=autostart)
        # A running network adopted by `import` has its mark only in the persistent definition until it restarts;
        # the state's identity, not the mark, is what makes it kvmstate's.
        return LiveObject(NETWORK.name, name, host.name, net.UUIDString(), attrs, ownership.parse_owner(root))

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject]:
        """Three list calls (all, active, autostart) and one XML read per network."""
        with doing("listing networks"):
            nets, active, autostart = listed(host.conn.listAllNetworks, libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE,
                                             libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART)
        return [self.live(host, net, net.name() in active, net.name() in autostart) for net in nets]

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Network.model_validate(request.attributes)
        name = request.name
        with doing(f"defining network {name}"):
            net = host.conn.networkDefineXML(document.to_xml(spec, name, owner=request.owner))
        if spec.active:
            with doing(f"starting network {name}"):
                net.create()
        with doing(f"setting autostart of network {name}"):
            net.setAutostart(int(spec.autostart))
        return self.live(host, net)

    def update(self, host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        spec = Network.model_validate(request.attributes)
        name = request.name
        with doing(f"looking up network {name}"):
            net = host.conn.networkLookupByUUIDString(current.identity)
        top = changed(paths)
        if "dhcp" in top:
            _update_dhcp(net, name, current.attributes.get("dhcp"), spec.dhcp)
        if "active" in top:
            with doing(f"{'starting' if spec.active else 'stopping'} network {name}"):
                net.create() if spec.active else net.destroy()
        if "autostart" in top:
            with doing(f"setting autostart of network {name}"):
                net.setAutostart(int(spec.autostart))
        return self.live(host, net)

    def adopt(self, host: Host, current: LiveObject, owner: Owner) -> LiveObject:
        """Redefine the network with the ownership mark; a running network keeps running."""
        with doing(f"marking network {current.name} as managed by kvmstate"):
            net = host.conn.networkLookupByUUIDString(current.identity)
            net = host.conn.networkDefineXML(ownership.with_owner(_defined_xml(net), owner))
        return self.live(host, net)

    def delete(self, host: Host, name: str, identity: str) -> None:
        net = find(f"looking up network {name}", host.conn.networkLookupByUUIDString, identity)
        if net is None:
            return
        with doing(f"deleting network {name}"):
            if net.isActive():
                net.destroy()
            net.undefine()


def _defined_xml(net: libvirt.virNetwork) -> str:
    """The persistent definition (libvirt's test driver keeps only one definition and refuses the flag)."""
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError:
        return net.XMLDesc(0)


def _update_dhcp(net: libvirt.virNetwork, name: str, old: dict | None, new: DhcpRange | None) -> None:
    """Swap the DHCP range in place (no restart); redefine and restart the network if libvirt refuses."""
    flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG | (libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE if net.isActive() else 0)
    section = libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE
    try:
        # Documented (command, section) order: right on libvirt 9.0 (the old swap was fixed long ago).
        # libvirt restarts dnsmasq itself, also when the first range is added or the last removed.
        if old:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE, section, -1, document.range_xml(DhcpRange(**old)),
                       flags)
        if new:
            net.update(libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, -1, document.range_xml(new), flags)
        return
    except libvirt.libvirtError:
        pass
    with doing(f"redefining network {name} with new DHCP settings"):
        xml = document.with_dhcp(net.XMLDesc(0), new)
        active = net.isActive()
        if active:
            net.destroy()  # before the define: the test driver keeps the old definition of a running network
        net.connect().networkDefineXML(xml)
        if active:
            net.create()
