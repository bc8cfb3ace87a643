"""The benchmarked topology: N NAT networks, one dir pool, N volumes and N running qemu domains.

Domain i boots from volume i and joins network i. Every tool under test builds
exactly this; the names carry a prefix so they never meet anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class Topology:
    n: int
    prefix: str = "kb"
    pool_path: str = "/var/lib/libvirt/kvmstate-bench"

    @property
    def pool(self) -> str:
        return f"{self.prefix}-pool"

    def net(self, i: int) -> str:
        return f"{self.prefix}-net{i}"

    def bridge(self, i: int) -> str:
        return f"{self.prefix}br{i}"

    def subnet(self, i: int) -> tuple[str, str]:
        """(network address, host address) of network i's /24."""
        base = f"10.{100 + i // 250}.{i % 250}"
        return f"{base}.0/24", f"{base}.1"

    def vol(self, i: int) -> str:
        return f"{self.prefix}-vol{i}"

    def dom(self, i: int) -> str:
        return f"{self.prefix}-vm{i}"

    capacity = 16 * MiB
    memory = 32 * MiB

    def yaml(self, domain_type: str = "qemu") -> str:
        """The kvmstate configuration of this topology."""
        lines = ["networks:"]
        for i in range(self.n):
            lines.append(f"  {self.net(i)}: {{mode: nat, bridge: {self.bridge(i)}, ipv4: {self.subnet(i)[0]}}}")
        lines += ["pools:", f"  {self.pool}: {{path: {self.pool_path}}}", "volumes:"]
        for i in range(self.n):
            lines.append(f"  {self.vol(i)}: {{pool: {self.pool}, capacity: {self.capacity // MiB}MiB}}")
        lines.append("domains:")
        for i in range(self.n):
            lines.append(f"  {self.dom(i)}: {{type: {domain_type}, memory: {self.memory // MiB}MiB, "
                         f"disks: [{{volume: {self.vol(i)}}}], interfaces: [{{network: {self.net(i)}}}]}}")
        return "\n".join(lines) + "\n"

    @property
    def resources(self) -> int:
        return 3 * self.n + 1
