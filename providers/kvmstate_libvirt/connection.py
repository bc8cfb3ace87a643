"""Connections to libvirt hosts, opened lazily and cached per host, and error translation.

Every libvirt failure leaves this package as a `ProviderError` that names what was
being done; nothing here knows about resource types.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import libvirt

from kvmstate.provider import ProviderError

_MISSING = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_NO_NETWORK,
    libvirt.VIR_ERR_NO_STORAGE_POOL,
    libvirt.VIR_ERR_NO_STORAGE_VOL,
}
_AUTH = {libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_ERR_AUTH_CANCELLED, libvirt.VIR_ERR_AUTH_UNAVAILABLE}

libvirt.registerErrorHandler(lambda *_: None, None)  # errors come back as exceptions; keep stderr clean


def message(err: libvirt.libvirtError) -> str:
    """libvirt's own message of an error, on one line."""
    return " ".join((err.get_error_message() or str(err)).split())


def is_missing(err: libvirt.libvirtError) -> bool:
    """Whether an error says the looked-up object does not exist."""
    return err.get_error_code() in _MISSING


@contextmanager
def doing(what: str) -> Iterator[None]:
    """Turn a libvirt error raised inside into a ProviderError: "<what>: <libvirt's message>"."""
    try:
        yield
    except libvirt.libvirtError as err:
        raise ProviderError(f"{what}: {message(err)}") from None


def find(what: str, lookup: Callable[[str], Any], key: str) -> Any | None:
    """The object `lookup(key)` returns, or None when libvirt says it does not exist."""
    try:
        return lookup(key)
    except libvirt.libvirtError as err:
        if is_missing(err):
            return None
        raise ProviderError(f"{what}: {message(err)}") from None


def connect_hint(err: libvirt.libvirtError) -> str:
    """A short hint for a failed connection, from its cause."""
    text = message(err)
    if err.get_error_code() in _AUTH or "Permission denied" in text:
        return "permission denied: run as root or as a member of the libvirt group"
    if "no connection driver available" in text or err.get_error_code() == libvirt.VIR_ERR_INVALID_ARG:
        return "check the URI, for example qemu:///system or qemu+ssh://HOST/system"
    if "Failed to connect socket" in text or "Connection refused" in text:
        return "is libvirtd running? start it with `libvirtd -d`"
    return "check the host's URI and that libvirtd is reachable"


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
                except libvirt.libvirtError:
                    pass
            self._open.clear()
            self._failed.clear()
