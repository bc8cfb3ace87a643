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

    def yaml(self, domain_type: str = "qemu", style: str = "for_each") -> str:
        """The kvmstate configuration of this topology. Every address differs from its libvirt name, networks
        and domains are made with `for_each`, volumes with `count` (as users write them). Style "locals"
        computes the same instances from one number through locals and `for` expressions; "modules" makes them
        through one call of a `node` module per instance (module_yaml, in node/main.yaml); "plain" writes one
        line per object instead, named by its address (bench.multihost repeats those lines per host)."""
        if style == "plain":
            return self._plain_yaml(domain_type)
        if style == "locals":
            return self._locals_yaml(domain_type)
        if style == "modules":
            return self._modules_yaml()
        lines = ["variables:", "  subnets:", "    type: map(string)", "    default:"]
        lines += [f'      "{i}": {self.subnet(i)[0]}' for i in range(self.n)]
        lines += ["  disks:", "    type: map(number)", "    default:"]
        lines += [f'      "{i}": {i}' for i in range(self.n)]
        lines += ["networks:", "  lan:", "    for_each: ${var.subnets}", f"    name: {self.prefix}-net${{each.key}}",
                  "    mode: nat", f"    bridge: {self.prefix}br${{each.key}}", "    ipv4: ${each.value}",
                  "pools:", "  images:", f"    name: {self.pool}", f"    path: {self.pool_path}",
                  "volumes:", "  disk:", f"    count: {self.n}", f"    name: {self.prefix}-vol${{count.index}}",
                  "    pool: ${pool.images}", f"    capacity: {self.capacity // MiB}MiB",
                  "domains:", "  vm:", "    for_each: ${var.disks}", f"    name: {self.prefix}-vm${{each.key}}",
                  f"    type: {domain_type}", f"    memory: {self.memory // MiB}MiB",
                  "    disks: [{volume: '${volume.disk[each.value]}'}]",
                  "    interfaces: [{network: '${network.lan[each.key]}'}]"]
        return "\n".join(lines) + "\n"

    def _locals_yaml(self, domain_type: str) -> str:
        lines = ["variables:", "  size:", "    type: number", f"    default: {self.n}",
                 "locals:", "  ids: '${[for i in range(var.size) : tostring(i)]}'",
                 "  subnets: '${{for id in local.ids : id => format(\"10.%d.%d.0/24\", "
                 "100 + floor(tonumber(id) / 250), tonumber(id) % 250)}}'",
                 "  disks: '${{for id in local.ids : id => tonumber(id)}}'"]
        body = self.yaml(domain_type).split("networks:", 1)[1]
        body = body.replace("${var.subnets}", "${local.subnets}").replace("${var.disks}", "${local.disks}")
        body = body.replace(f"count: {self.n}", "count: ${length(local.ids)}")
        return "\n".join(lines) + "\nnetworks:" + body

    def _modules_yaml(self) -> str:
        """The root of style "modules": locals and `for` make one call of the `node` module (module_yaml) per
        network, volume and domain trio; the pool stays at the root."""
        lines = ["variables:", "  size:", "    type: number", f"    default: {self.n}",
                 "locals:", "  ids: '${[for i in range(var.size) : tostring(i)]}'",
                 "  subnets: '${{for id in local.ids : id => format(\"10.%d.%d.0/24\", "
                 "100 + floor(tonumber(id) / 250), tonumber(id) % 250)}}'",
                 "pools:", "  images:", f"    name: {self.pool}", f"    path: {self.pool_path}",
                 "modules:", "  node:", "    source: ./node", "    for_each: ${local.subnets}",
                 "    index: ${each.key}", "    subnet: ${each.value}", "    pool: ${pool.images}"]
        return "\n".join(lines) + "\n"

    def module_yaml(self, domain_type: str = "qemu") -> str:
        """The `node` module of style "modules" (node/main.yaml): one network, volume and domain, named as the
        other styles name instance `index`."""
        lines = ["variables:", "  index: {type: string}", "  subnet: {type: string}", "  pool: {}",
                 "networks:", "  lan:", f"    name: {self.prefix}-net${{var.index}}", "    mode: nat",
                 f"    bridge: {self.prefix}br${{var.index}}", "    ipv4: ${var.subnet}",
                 "volumes:", "  disk:", f"    name: {self.prefix}-vol${{var.index}}", "    pool: ${var.pool}",
                 f"    capacity: {self.capacity // MiB}MiB",
                 "domains:", "  vm:", f"    name: {self.prefix}-vm${{var.index}}", f"    type: {domain_type}",
                 f"    memory: {self.memory // MiB}MiB", "    disks: [{volume: '${volume.disk}'}]",
                 "    interfaces: [{network: '${network.lan}'}]"]
        return "\n".join(lines) + "\n"

    def _plain_yaml(self, domain_type: str) -> str:
        lines = ["networks:"]
        lines += [f"  {self.net(i)}: {{mode: nat, bridge: {self.bridge(i)}, ipv4: {self.subnet(i)[0]}}}"
                  for i in range(self.n)]
        lines += ["pools:", f"  {self.pool}: {{path: {self.pool_path}}}", "volumes:"]
        lines += [f"  {self.vol(i)}: {{pool: {self.pool}, capacity: {self.capacity // MiB}MiB}}" for i in range(self.n)]
        lines.append("domains:")
        lines += [f"  {self.dom(i)}: {{type: {domain_type}, memory: {self.memory // MiB}MiB, "
                  f"disks: [{{volume: {self.vol(i)}}}], interfaces: [{{network: {self.net(i)}}}]}}" for i in range(self.n)]
        return "\n".join(lines) + "\n"

    @property
    def resources(self) -> int:
        return 3 * self.n + 1
