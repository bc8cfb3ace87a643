"""Network functions: cidrhost cidrsubnet cidrsubnets cidrnetmask, for IPv4 and IPv6 prefixes."""

from __future__ import annotations

import ipaddress
from typing import Any

from kvmstate.config.functions.base import FunctionError, bounded, function, string, whole


def _network(prefix: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(string(prefix, "the prefix"), strict=False)
    except ValueError as exc:
        raise FunctionError(f"{prefix!r} is not a network prefix such as 10.0.0.0/24 ({exc})") from None


@function
def cidrhost(prefix: Any, hostnum: Any) -> str:
    net = _network(prefix)
    if isinstance(hostnum, bool) or not isinstance(hostnum, (int, str, float)):
        raise FunctionError(f"the host number must be a whole number, not {hostnum!r}")
    n = whole(hostnum, "the host number")
    if not -net.num_addresses <= n < net.num_addresses:
        raise FunctionError(f"host number {n} is outside {net}, which has {net.num_addresses} addresses")
    return str(net[n])


@function
def cidrnetmask(prefix: Any) -> str:
    net = _network(prefix)
    if net.version != 4:
        raise FunctionError(f"{net} is IPv6; a netmask is written only for IPv4 prefixes")
    return str(net.netmask)


def _subnet(net: Any, newbits: int, netnum: int) -> Any:
    if newbits < 0 or net.prefixlen + newbits > net.max_prefixlen:
        raise FunctionError(f"{net} has no room for {newbits} more bits (a /{net.prefixlen} of "
                            f"{net.max_prefixlen} bits)")
    if not 0 <= netnum < 2 ** newbits:
        raise FunctionError(f"network number {netnum} does not fit in {newbits} bits (0 to {2 ** newbits - 1})")
    size = 2 ** (net.max_prefixlen - net.prefixlen - newbits)
    return ipaddress.ip_network((int(net.network_address) + netnum * size, net.prefixlen + newbits))


@function
def cidrsubnet(prefix: Any, newbits: Any, netnum: Any) -> str:
    return str(_subnet(_network(prefix), whole(newbits, "newbits"), whole(netnum, "the network number")))


@function
def cidrsubnets(prefix: Any, *newbits: Any) -> list[str]:
    """Consecutive subnets of the given sizes, each aligned to its own size, as Terraform allocates them."""
    net = _network(prefix)
    bounded(len(newbits), "cidrsubnets", "items")
    out, next_address = [], int(net.network_address)
    for i, bits in enumerate(newbits, 1):
        n = whole(bits, f"argument {i + 1}")
        if n < 1 or net.prefixlen + n > net.max_prefixlen:
            raise FunctionError(f"argument {i + 1}: {net} has no room for {n} more bits")
        size = 2 ** (net.max_prefixlen - net.prefixlen - n)
        start = -(-next_address // size) * size
        if start + size > int(net.broadcast_address) + 1:
            raise FunctionError(f"{net} has no room left for subnet {i} (/{net.prefixlen + n})")
        out.append(str(ipaddress.ip_network((start, net.prefixlen + n))))
        next_address = start + size
    return out
