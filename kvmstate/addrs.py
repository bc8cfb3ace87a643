"""Typed resource addresses: `TYPE.NAME`, with an instance key for repeated resources and a module path.

    domain.web                      a single resource
    domain.web[0]                   an instance of a resource with `count`
    domain.web["a"]                 an instance of a resource with `for_each`
    module.lab["a"].domain.web      a resource inside an instance of the module call `lab` (kvmstate.config.modules)

The address names a resource in the configuration and the state. Where the
resource lives (which libvirt host) is an attribute of the resource, not part of
its address, so moving a resource between hosts is a replacement, not a rename.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, total_ordering

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}"
_NAME = re.compile(rf"^{NAME_PATTERN}$")
_KEY = r'(?:\[(\d+|"(?:[^"\\]|\\.)*")\])?'
_ADDRESS = re.compile(rf'^([a-z][a-z0-9_]*)\.({NAME_PATTERN}?){_KEY}$')
MODULE_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"           # a module call's name: an identifier
_STEP = re.compile(rf'module\.({MODULE_NAME}){_KEY}(?:\.|$)')
Key = int | str | None


def _key_text(key: Key) -> str:
    return "" if key is None else f"[{key}]" if isinstance(key, int) else f"[{json.dumps(key)}]"


def _key_order(key: Key) -> tuple:
    return (0, 0, "") if key is None else (1, key, "") if isinstance(key, int) else (2, 0, key)


def _key_value(text: str | None) -> Key:
    return None if text is None else json.loads(text) if text.startswith('"') else int(text)


@dataclass(frozen=True)
class ModuleStep:
    """One module call instance on a path: `module.lab`, `module.lab[0]`, `module.lab["a"]`."""

    name: str
    key: Key = None

    def __str__(self) -> str:
        return f"module.{self.name}{_key_text(self.key)}"

    def order(self) -> tuple:
        return (self.name, _key_order(self.key))


ModulePath = tuple[ModuleStep, ...]


def module_text(path: ModulePath) -> str:
    return ".".join(map(str, path))


def _parse_steps(text: str) -> tuple[ModulePath, str]:
    """The module steps at the start of `text`, and the rest."""
    steps: list[ModuleStep] = []
    while m := _STEP.match(text):
        steps.append(ModuleStep(m.group(1), _key_value(m.group(2))))
        text = text[m.end():]
    return tuple(steps), text


@total_ordering
@dataclass(frozen=True)
class ModuleAddress:
    """A module call (all its instances when a step has no key) as a target: `--target module.lab`."""

    path: ModulePath

    def __str__(self) -> str:
        return module_text(self.path)

    def __lt__(self, other: "ModuleAddress") -> bool:
        return [s.order() for s in self.path] < [s.order() for s in other.path]

    def contains(self, address: "Address") -> bool:
        """Whether the address lies in this module (in any instance where a step has no key)."""
        return self.holds(address.module)

    def holds(self, inner: ModulePath) -> bool:
        """Whether the module instance `inner` is this one or lies in it (any instance where a step has no key)."""
        return len(inner) >= len(self.path) and all(
            want.name == have.name and want.key in (None, have.key) for want, have in zip(self.path, inner))

    def moved(self, address: "Address", to: "ModuleAddress") -> "Address | None":
        """Where `address` lands when this module call instance moves to `to` (None when it is not inside): the
        path below is kept; `module.a` to `module.b` moves every instance of `a`, keeping its key."""
        *outer, last = self.path
        want, n = to.path[-1], len(self.path)
        every = last.key is None and want.key is None
        if len(address.module) < n or list(address.module[:n - 1]) != outer:
            return None
        step = address.module[n - 1]
        if step.name != last.name or not (step.key == last.key or every):
            return None
        landed = to.path[:-1] + (ModuleStep(want.name, step.key) if every else want,) + address.module[n:]
        return Address(address.type, address.name, address.key, landed)

    @classmethod
    def parse(cls, text: str) -> "ModuleAddress":
        path, rest = _parse_steps(text)
        if not path or rest:
            raise ValueError(f"{text!r} is not a module address; expected module.NAME, module.NAME[INDEX] or "
                             'module.NAME["KEY"], for example module.lab')
        return cls(path)


@total_ordering
@dataclass(frozen=True)
class Address:
    type: str
    name: str
    key: Key = None
    module: ModulePath = ()                    # the module call instances it lies in, outermost first

    def __str__(self) -> str:
        prefix = module_text(self.module) + "." if self.module else ""
        return f"{prefix}{self.type}.{self.name}{_key_text(self.key)}"

    @cached_property
    def _order(self) -> tuple:
        """The sort key, made once per address (plans sort thousands of them many times)."""
        return ([s.order() for s in self.module], self.type, self.name, _key_order(self.key))

    def __lt__(self, other: "Address") -> bool:
        return self._order < other._order

    @property
    def resource(self) -> "Address":
        """The address without its instance key."""
        return Address(self.type, self.name, None, self.module)

    def within(self, module: ModulePath) -> "Address":
        """This address, written inside `module`, as seen from the root."""
        return Address(self.type, self.name, self.key, module + self.module)

    @classmethod
    def parse(cls, text: str) -> "Address":
        path, rest = _parse_steps(text)
        m = _ADDRESS.match(rest)
        if not m or m.group(1) == "module":
            raise ValueError(f"{text!r} is not a resource address; expected TYPE.NAME, TYPE.NAME[INDEX] or "
                             'TYPE.NAME["KEY"], optionally inside module.NAME[KEY]., for example domain.web or '
                             'module.lab["a"].domain.web')
        return cls(m.group(1), m.group(2), _key_value(m.group(3)), path)


HOST_TARGET = "host."          # `--target host.NAME`, `state rm host.NAME`: every resource on that host


def parse_target(text: str, within: ModulePath = ()) -> "Address | ModuleAddress":
    """A resource address, or a module address (`module.lab`) when the text names only module calls; written
    inside the module instance `within` (a `depends_on` in a module), seen from the root."""
    path, rest = _parse_steps(text)
    if path and not rest:
        return ModuleAddress(within + path)
    return Address.parse(text).within(within)


def covers(target: "Address | ModuleAddress", address: Address) -> bool:
    """Whether a target (a resource: all its instances when it has no key; a module) selects the address."""
    if isinstance(target, ModuleAddress):
        return target.contains(address)
    return address == target or (target.key is None and address.resource == target)


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def format_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """An attribute path as the user writes it: `disks[0].volume`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_path(text: str) -> tuple[str | int, ...]:
    """The inverse of format_path: `disks[0].volume` -> ("disks", 0, "volume")."""
    parts: list[str | int] = []
    for token in re.findall(r"\[(\d+)\]|([^.\[\]]+)", text):
        parts.append(int(token[0]) if token[0] else token[1])
    return tuple(parts)
