"""Count the libvirt calls a piece of code makes, through a proxy around every libvirt object.

    with CallCounter() as counter:      # wraps each connection libvirt.open returns from now on
        ...
    counter.remote()                    # {"virNetwork.XMLDesc": 30, "virConnect.listAllNetworks": 3, ...}

Accessors that libvirt answers from the client-side object (name, UUID, key)
are counted apart: they never reach the daemon.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import libvirt

LOCAL = {"name", "UUID", "UUIDString", "key", "connect"}
_WRAPPED = (libvirt.virConnect, libvirt.virDomain, libvirt.virNetwork, libvirt.virStoragePool, libvirt.virStorageVol)


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __enter__(self) -> "CallCounter":
        self._open = libvirt.open
        libvirt.open = lambda uri=None: self._wrap(self._open(uri))
        return self

    def __exit__(self, *exc: Any) -> None:
        libvirt.open = self._open

    def remote(self) -> dict[str, int]:
        """Calls that reach the daemon, by `class.method`."""
        return {k: v for k, v in sorted(self.calls.items()) if k.split(".")[1] not in LOCAL}

    def _wrap(self, result: Any) -> Any:
        if isinstance(result, _WRAPPED):
            return _Proxy(result, self)
        if isinstance(result, list) and result and isinstance(result[0], _WRAPPED):
            return [_Proxy(item, self) for item in result]
        return result


class _Proxy:
    """A libvirt object whose method calls are counted."""

    def __init__(self, obj: Any, counter: CallCounter):
        self._obj, self._counter = obj, counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr
        label = f"{type(self._obj).__name__}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counter.calls[label] += 1
            return self._counter._wrap(attr(*args, **kwargs))
        return call
