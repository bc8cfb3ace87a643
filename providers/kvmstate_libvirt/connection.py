"""Connections to libvirt hosts, opened lazily and cached per host, with what is cached about each host.

libvirt itself is imported on the first connection, not with this module: commands
that never talk to a host (`validate`, `fmt`) do not pay for it. Nothing here knows
about resource types.
"""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from kvmstate.provider import HostUnreachable, ProviderError

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
    close(). Safe to use from several threads: libvirt connections are, and each host is opened once, on its own
    thread, so that hosts open in parallel.

    A host that does not answer within `connect_timeout` seconds (counted from when its connection started) is
    reported as unreachable, and stays so for the rest of the run: every later call fails at once. Open
    connections send libvirt keepalives (KEEPALIVE: every 5 seconds, given up after 3 unanswered), so a host
    that goes away during a run fails its calls instead of hanging them.
    """

    def __init__(self) -> None:
        self.uris: dict[str, str] = {}
        self.shutdown_timeout = 60.0
        self.connect_timeout = CONNECT_TIMEOUT
        self._open: dict[str, Host] = {}
        self._opening: dict[str, Future] = {}
        self._lock = threading.Lock()

    def configure(self, hosts: Mapping[str, str], options: Mapping[str, Any]) -> None:
        """Set the hosts' URIs and options. Connections to a host whose URI is unchanged stay open, so a
        workspace may add the hosts it learns from the files and the state to those it started with."""
        with self._lock:
            stale = [h for h in {*self._open, *self._opening} if hosts.get(h) != self.uris.get(h)]
        self._drop(stale)
        self.uris = dict(hosts)
        self.shutdown_timeout = float(options.get("shutdown_timeout", 60))
        self.connect_timeout = float(options.get("connect_timeout")
                                     or os.environ.get("KVMSTATE_CONNECT_TIMEOUT") or CONNECT_TIMEOUT)

    def connect(self, hosts: Iterable[str]) -> None:
        """Start opening these hosts' connections, each on its own thread; a failure surfaces at get()."""
        with self._lock:
            for host in hosts:
                if host in self.uris and host not in self._open:
                    self._start(host)

    def get(self, host: str) -> Host:
        with self._lock:
            if host in self._open:
                return self._open[host]
            if host not in self.uris:
                raise ProviderError(f"unknown host {host!r}; configured hosts: {', '.join(sorted(self.uris)) or 'none'}")
            future = self._start(host)
            uri = self.uris[host]
        remaining = future.started + self.connect_timeout - time.monotonic()
        try:
            conn = future.result(timeout=max(0.0, remaining))
        except FutureTimeout:
            raise HostUnreachable(host, uri, f"cannot connect to host {host} ({uri}): no answer within "
                                  f"{self.connect_timeout:g} seconds; check that the host is up and reachable, and "
                                  "that ssh asks for no password or host key (docs/hosts.md)") from None
        with self._lock:
            if host not in self._open:
                self._open[host] = Host(host, conn, self.shutdown_timeout)
            return self._open[host]

    def _start(self, host: str) -> Future:
        """The future of a host's connection, started now on its own thread unless it already was (under the lock)."""
        future = self._opening.get(host)
        if future is None:
            future = Future()
            future.started = time.monotonic()
            self._opening[host] = future
            threading.Thread(target=_open, args=(host, self.uris[host], future), name=f"kvmstate-connect-{host}",
                             daemon=True).start()
        return future

    def _drop(self, hosts: Iterable[str]) -> None:
        with self._lock:
            dropped = [(self._open.pop(h, None), self._opening.pop(h, None)) for h in hosts]
        for host, future in dropped:
            if future is not None:
                future.add_done_callback(_close_result)     # closes it now, or when a late connection arrives
            elif host is not None:
                _close(host.conn)

    def close(self) -> None:
        with self._lock:
            hosts = set(self._open) | set(self._opening)
        self._drop(hosts)


CONNECT_TIMEOUT = 30.0          # seconds; KVMSTATE_CONNECT_TIMEOUT or the option `connect_timeout` change it
KEEPALIVE = (5, 3)              # a keepalive every 5 s; the connection is closed after 3 unanswered ones
_loop_started = threading.Lock()
_loop_running = False


def _open(host: str, uri: str, future: Future) -> None:
    """Open one connection (on its own thread) and resolve the future with it, or with HostUnreachable."""
    try:
        import libvirt                          # imported on the first connection, not with this module
        from .errors import connect_hint, message
        _event_loop(libvirt)
        try:
            conn = libvirt.open(non_interactive(uri))
        except libvirt.libvirtError as err:
            future.set_exception(HostUnreachable(host, uri, f"cannot connect to host {host} ({uri}): {message(err)}; "
                                                            f"{connect_hint(err)}"))
            return
        try:
            conn.setKeepAlive(*KEEPALIVE)
        except libvirt.libvirtError:            # a local driver (test:///) has no keepalive
            pass
        future.set_result(conn)
    except BaseException as exc:                # never leave the future unresolved
        if not future.done():
            future.set_exception(exc)


def non_interactive(uri: str) -> str:
    """The URI libvirt is given: `qemu+ssh` ones get `no_tty=1` unless they set `no_tty` themselves, so that ssh
    runs in batch mode and fails at once instead of asking for a password or a host key (on a terminal that
    several hosts' connections, opened at once, would share)."""
    scheme, sep, rest = uri.partition("://")
    if not sep or not scheme.endswith("+ssh") or re.search(r"[?&]no_tty=", rest):
        return uri
    return uri + ("&" if "?" in rest else "?") + "no_tty=1"


def _event_loop(libvirt: Any) -> None:
    """libvirt's default event loop on a daemon thread, once per process: keepalives need it."""
    global _loop_running
    with _loop_started:
        if _loop_running:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()
        threading.Thread(target=run, name="kvmstate-libvirt-events", daemon=True).start()
        _loop_running = True


def _close_result(future: Future) -> None:
    if future.exception() is None:
        _close(future.result())


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:        # libvirt.libvirtError: a connection already broken
        pass
