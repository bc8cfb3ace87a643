"""The provider protocol: the one boundary between the engine and a remote API.

A provider declares resource types (a pydantic model each, whose fields say in
their metadata how a change is applied and which fields reference other
resources), reads live objects in bulk, and creates, updates and deletes them.
The engine owns ordering, diffing and the state; a provider never sees either.

Resource models describe themselves through field metadata (`x-update`, `x-ref`, ...),
read only by `kvmstate.metadata`.

Models are validated with the context `{"base_dir": <folder of the file>}`, so a field may
resolve paths relative to the configuration file.

Providers are found through the `kvmstate.providers` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Literal, Mapping, Protocol, runtime_checkable

from pydantic import BaseModel

from kvmstate.addrs import Address

UpdateClass = Literal["live", "restart", "replace"]


@dataclass(frozen=True)
class ResourceType:
    """A kind of resource a provider manages."""

    name: str                 # singular, as in addresses and HCL blocks: "network"
    plural: str               # as in YAML's top-level keys: "networks"
    model: type[BaseModel]
    description: str = ""
    scope: str | None = None  # attribute whose value namespaces names, e.g. a volume's pool
    marks_owner: bool = False  # objects carry the ownership mark (LiveObject.owner) from their creation
    reverts: str | None = None  # attribute naming what `--revert ADDR` puts back to this object (a snapshot's
                                # domain); None: not something to revert to


@dataclass(frozen=True)
class Owner:
    """The ownership mark kvmstate writes into objects that can carry metadata."""

    lineage: str
    address: str


@dataclass
class LiveObject:
    """One object as the provider read it from the remote API."""

    type: str
    name: str
    host: str
    identity: str                          # UUID, or a volume's key
    attributes: dict[str, Any]             # in the resource model's vocabulary (JSON values)
    owner: Owner | None = None
    computed: dict[str, Any] = field(default_factory=dict)   # values the provider found (a guest's addresses);
                                                              # recorded in the state, never compared
    running: dict[str, Any] = field(default_factory=dict)    # attributes where the running object differs from
                                                              # its persistent definition (`virsh setvcpus --live`);
                                                              # the provider's `normalize` shows them
    fingerprint: str | None = None         # digest of all that the provider's comparison of this object reads
                                           # (its document, list flags, live values); None: always compared

    def get(self, key: str) -> Any:
        """One attribute (None when absent)."""
        return self.attributes.get(key)


class DeferredLiveObject(LiveObject):
    """A live object read but not yet parsed: `parse` makes the whole object on the first use of its attributes,
    owner, computed or running values, so a plan that trusts the fingerprint never parses it. `known`: attributes
    known without parsing (a volume's pool)."""

    def __init__(self, type: str, name: str, host: str, identity: str, fingerprint: str | None,
                 parse: Callable[[], LiveObject], known: dict[str, Any] | None = None) -> None:
        self.type, self.name, self.host, self.identity, self.fingerprint = type, name, host, identity, fingerprint
        self._parse, self._parsed, self._known = parse, None, known or {}

    def whole(self) -> LiveObject:
        """The parsed object (parsed now if not yet)."""
        if self._parsed is None:
            self._parsed = self._parse()
        return self._parsed

    def get(self, key: str) -> Any:
        return self._known[key] if key in self._known else self.attributes.get(key)

    attributes = property(lambda self: self.whole().attributes,
                          lambda self, value: setattr(self.whole(), "attributes", value))
    owner = property(lambda self: self.whole().owner, lambda self, value: setattr(self.whole(), "owner", value))
    computed = property(lambda self: self.whole().computed,
                        lambda self, value: setattr(self.whole(), "computed", value))
    running = property(lambda self: self.whole().running,
                       lambda self, value: setattr(self.whole(), "running", value))


@dataclass(frozen=True)
class Unreadable:
    """Objects a provider cannot list now: every object of `type` on `host` whose scope attribute is `scope`
    (the volumes of an inactive pool). `read` returns it among the live objects; the engine keeps such
    objects as the state recorded them, neither creating nor deleting them."""

    type: str
    host: str
    scope: Any
    reason: str                            # a sentence part: "pool images is inactive"


@dataclass(frozen=True)
class Dependency:
    """A resource another one refers to, as the configuration resolved it."""

    address: Address
    name: str                              # its object name in the remote API
    attributes: dict[str, Any]             # desired, in the same form as Request.attributes
    refs: dict[str, Address] = field(default_factory=dict)            # its own references, as Request.refs


@dataclass
class Request:
    """What the engine asks a provider to create or update."""

    address: Address
    type: str
    name: str
    host: str
    attributes: dict[str, Any]             # desired, as model_dump(mode="json", exclude_none=True)
    owner: Owner
    refs: dict[str, Address] = field(default_factory=dict)            # "disks[0].volume" -> the address it names
    dependencies: dict[Address, Dependency] = field(default_factory=dict)

    def referenced(self, path: str, of: Dependency | None = None) -> Dependency:
        """The resource that the `x-ref` attribute at `path` (e.g. "backing_store", "disks[0].volume") refers to;
        with `of`, the one that a dependency's own attribute refers to (a snapshot's domain's disk volume)."""
        address = (of.refs if of is not None else self.refs).get(path)
        dependency = self.dependencies.get(address) if address is not None else None
        if dependency is None:
            where = f"{of.address}'s" if of is not None else "its"
            raise ProviderError(f"{self.address}: the resource that {where} {path!r} refers to was not given to "
                                "the provider")
        return dependency


@dataclass(frozen=True)
class Problem:
    """Something wrong with a desired object, found by the provider at plan time."""

    path: str              # the attribute, e.g. "capacity" or "disks[0].volume"; "" for the whole resource
    message: str           # a full sentence that says what to do


@dataclass(frozen=True)
class HostCheck:
    """One finding of `kvmstate doctor` about a host."""

    name: str              # what was checked, e.g. "/dev/kvm"
    ok: bool
    detail: str            # what was found
    fix: str = ""          # what to do, when not ok (or when a warning)
    warn: bool = False     # ok, but worth knowing (never fails the command)


class ProviderError(Exception):
    """A failure reported by the remote API, with a message fit for the user."""


class HostUnreachable(ProviderError):
    """A host's connection could not be opened (or answered too late): the message names the host and URI."""

    def __init__(self, host: str, uri: str, message: str):
        super().__init__(message)
        self.host, self.uri = host, uri


@runtime_checkable
class Provider(Protocol):
    name: str

    def resource_types(self) -> Iterable[ResourceType]: ...

    def configure(self, hosts: Mapping[str, str], options: Mapping[str, Any]) -> None:
        """Remember the URI of each named host; connect lazily."""

    def connect(self, hosts: Iterable[str]) -> None:
        """Start connecting to these hosts in the background, ahead of the first call (optional: a provider
        without it connects on first use); a failure is reported by that first call."""

    def read(self, host: str, types: Iterable[str]) -> list[LiveObject | Unreadable]:
        """Every object of these types on a host, read in bulk; an `Unreadable` for each scope that cannot
        be listed now."""

    def check(self, request: Request, live: LiveObject | None) -> list[Problem]:
        """Problems that would make creating or updating this object fail, found before any change
        (a shrinking volume, a machine type the host does not offer)."""

    def normalize(self, live: LiveObject, desired: dict[str, Any]) -> dict[str, Any]:
        """Live attributes, with values that mean the same as the desired ones (aliases) in the desired form."""

    def create(self, request: Request) -> LiveObject: ...

    def update(self, request: Request, live: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        """Apply the changed attribute paths; restart the object when a restart-class path changed."""

    def delete(self, type: str, host: str, name: str, identity: str) -> None: ...

    def adopt(self, live: LiveObject, owner: Owner) -> LiveObject:
        """Mark an existing object as owned by kvmstate (`import`); types without metadata return it as is."""

    def close(self) -> None: ...

    # Optional: `doctor(uri) -> list[HostCheck]`, the host checks of `kvmstate doctor`.
    # Optional: `facts(host) -> dict`, what a host offers (memory in bytes, cpus, ...), read by conditions as `host`.
    # Optional: `revert(live) -> None`, put the object a `reverts` type names back to `live` (`--revert`);
    # `revert_problems(type, attributes) -> list[Problem]`, why a revert to an object with these live
    # attributes would fail, asked at plan time.
    # Optional: `delete_notes(live) -> list[str]`, how deleting or replacing `live` is carried out when it is more
    # than a delete (an external snapshot's overlays merged back first), shown as the plan's notes.


class Registry:
    """Resource types by name, each with the provider that serves it."""

    def __init__(self, providers: Iterable[Provider]):
        self.providers = list(providers)
        self.types: dict[str, ResourceType] = {}
        self.provider_of: dict[str, Provider] = {}
        for provider in self.providers:
            for rtype in provider.resource_types():
                self.types[rtype.name] = rtype
                self.provider_of[rtype.name] = provider
        self.by_plural = {t.plural: t for t in self.types.values()}

    def facts(self, host: str) -> dict[str, Any]:
        """What the providers say about a host (`host` in lifecycle conditions), with its name."""
        found: dict[str, Any] = {}
        for provider in self.providers:
            if hasattr(provider, "facts"):
                found.update(provider.facts(host))
        return {**found, "name": host}

    @classmethod
    def discover(cls) -> "Registry":
        return cls(ep.load()() for ep in entry_points(group="kvmstate.providers"))
