"""Connections to libvirt hosts, opened lazily and cached per host, with what is cached about each host.

libvirt itself is imported on the first connection, not with this module: commands
that never talk to a host (`validate`, `fmt`) do not pay for it. Nothing here knows
about resource types.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from kvmstate.provider import ProviderError

if TYPE_CHECKING:
    import libvirt


@dataclass
class Host:
    """One open connection plus what the provider caches about that host."""

    name: str
    conn: libvirt.virConnect
    shutdown_timeout: float
    cache: dict[str, Any] = field(default_factory=dict)


class Connections:
    """Host name -> URI, each connection opened on first use (or ahead, in the background) and kept until
    close(). Safe to use from several threads: libvirt connections are, and opening is done under a lock."""

    def __init__(self) -> None:
        self.uris: dict[str, str] = {}
        self.shutdown_timeout = 60.0
        self._open: dict[str, Host] = {}
        self._failed: dict[str, ProviderError] = {}
        self._lock = threading.Lock()

    def configure(self, hosts: Mapping[str, str], options: Mapping[str, Any]) -> None:
        self.close()
        self.uris = dict(hosts)
        self.shutdown_timeout = float(options.get("shutdown_timeout", 60))

    def connect(self, hosts: Iterable[str]) -> None:
        """Start opening these hosts' connections on a background thread; a failure surfaces at get()."""
        def open_all() -> None:
            for host in hosts:
                try:
                    self.get(host)
                except ProviderError as exc:
                    self._failed[host] = exc
        threading.Thread(target=open_all, name="kvmstate-connect", daemon=True).start()

    def get(self, host: str) -> Host:
        with self._lock:        # libvirt.open lets other threads run meanwhile (it releases the GIL)
            if host in self._open:
                return self._open[host]
            if host in self._failed:
                raise self._failed.pop(host)
            if host not in self.uris:
                raise ProviderError(f"unknown host {host!r}; configured hosts: {', '.join(sorted(self.uris)) or 'none'}")
            uri = self.uris[host]
            import libvirt                      # imported on the first connection, not with this module
            from .errors import connect_hint, message
            try:
                conn = libvirt.open(uri)
            except libvirt.libvirtError as err:
                raise ProviderError(f"cannot connect to host {host} ({uri}): {message(err)}; {connect_hint(err)}") from None
            self._open[host] = Host(host, conn, self.shutdown_timeout)
            return self._open[host]

    def close(self) -> None:
        with self._lock:
            for host in self._open.values():
                try:
                    host.conn.close()
                except Exception:        # libvirt.libvirtError: a connection already broken
                    pass
            self._open.clear()
            self._failed.clear()
