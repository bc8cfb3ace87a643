"""A provider that keeps objects in memory and records every call, for engine tests.

It serves the libvirt provider's declarations (which import no libvirt), so
scenarios read like real configurations. It is thread-safe: every create, update
and delete is also recorded in `timeline` as numbered ("start"|"end", address)
events, `max_active` is the most actions seen running at once, and `during(address)`
(when set) runs inside each action, between its start and end.
"""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping

from kvmstate.metadata import without_local
from kvmstate.provider import LiveObject, Owner, Problem, ProviderError, Request, Unreadable
from kvmstate_libvirt.declarations import TYPES


class FakeProvider:
    name = "fake"

    def __init__(self, objects: Iterable[LiveObject] = (), fail_on: Iterable[str] = ()):
        self.objects: dict[tuple[str, str, str], LiveObject] = {(o.host, o.type, o.name): o for o in objects}
        self.unreadable: list[Unreadable] = []            # scopes read() reports as unreadable
        # (keyed without a volume's pool: scenarios use one volume name per pool)
        self.calls: list[tuple] = []
        self.fail_on = set(fail_on)         # addresses whose create/update/delete fails
        self.problems: dict[str, list[Problem]] = {}    # address -> what check() reports
        self.revert_refusals: dict[str, Problem] = {}   # the `kind` attribute of a snapshot -> why no revert
        self.deletion_notes: dict[str, str] = {}        # object name -> how deleting it goes
        self.lock = threading.Lock()
        self.timeline: list[tuple[str, str]] = []       # ("start" | "end", address), in the order they happened
        self.active = 0
        self.max_active = 0
        self.during: Callable[[str], None] | None = None
        self.host_facts: dict[str, Any] = {"memory": 8 * 1024**3, "free_memory": 6 * 1024**3, "cpus": 4,
                                           "arch": "x86_64"}

    def resource_types(self):
        return TYPES

    def configure(self, hosts: Mapping[str, str], options: Mapping[str, Any]) -> None:
        self.hosts = dict(hosts)

    def read(self, host: str, types: Iterable[str]) -> list[LiveObject]:
        types = list(types)
        self.calls.append(("read", host, tuple(types)))
        return [stamped(copy.deepcopy(o)) for (h, t, _), o in sorted(self.objects.items()) if h == host and t in types] \
            + [u for u in self.unreadable if u.host == host and u.type in types]

    def check(self, request: Request, live: LiveObject | None) -> list[Problem]:
        self.calls.append(("check", str(request.address)))
        return list(self.problems.get(str(request.address), []))

    def normalize(self, live: LiveObject, desired: dict) -> dict:
        """The attributes as libvirt would show them: without kvmstate's own settings, which it never holds."""
        return without_local(next(t.model for t in TYPES if t.name == live.type), live.attributes)

    @contextmanager
    def _action(self, call: tuple) -> Iterator[None]:
        """Record the call and its start and end; fail it if asked to; hold the lock except in `during`."""
        address = call[1]
        with self.lock:
            self.calls.append(call)
            self.timeline.append(("start", address))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.during:
                self.during(address)
            with self.lock:
                if address in self.fail_on:
                    raise ProviderError(f"injected failure for {address}")
                yield
        finally:
            with self.lock:
                self.active -= 1
                self.timeline.append(("end", address))

    def create(self, request: Request) -> LiveObject:
        marks = next(t.marks_owner for t in TYPES if t.name == request.type)     # as libvirt: pools carry none
        with self._action(("create", str(request.address))):
            obj = LiveObject(request.type, request.name, request.host, f"id-{request.type}-{request.name}",
                             copy.deepcopy(request.attributes), request.owner if marks else None)
            self.objects[(obj.host, obj.type, obj.name)] = obj
        return stamped(obj)

    def update(self, request: Request, live: LiveObject, paths: list[str], restart: bool) -> LiveObject:
        with self._action(("restart" if restart else "update", str(request.address), tuple(paths))):
            obj = self.objects[(live.host, live.type, live.name)]
            obj.attributes = copy.deepcopy(request.attributes)
        return stamped(obj)

    def delete(self, type: str, host: str, name: str, identity: str) -> None:
        with self._action(("delete", f"{type}.{name}")):
            self.objects.pop((host, type, name), None)

    def facts(self, host: str) -> dict[str, Any]:
        self.calls.append(("facts", host))
        return dict(self.host_facts)

    def revert(self, live: LiveObject) -> None:
        with self._action(("revert", f"{live.type}.{live.name}")):
            pass

    def delete_notes(self, live: LiveObject) -> list[str]:
        return [self.deletion_notes[live.name]] if live.name in self.deletion_notes else []

    def revert_problems(self, type: str, attributes: dict[str, Any]) -> list[Problem]:
        refusal = self.revert_refusals.get(attributes.get("kind", "internal"))
        return [refusal] if refusal else []

    def adopt(self, live: LiveObject, owner: Owner) -> LiveObject:
        self.calls.append(("adopt", f"{live.type}.{live.name}"))
        obj = self.objects[(live.host, live.type, live.name)]
        obj.owner = Owner(owner.lineage, owner.address)
        return stamped(copy.deepcopy(obj))

    def close(self) -> None:
        pass


def stamped(obj: LiveObject) -> LiveObject:
    """The object with a fingerprint of all that its comparison reads, as a real provider gives it."""
    obj.fingerprint = repr((obj.identity, obj.attributes, obj.owner, obj.running))
    return obj
