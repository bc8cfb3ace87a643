"""libvirt errors translated: every libvirt failure leaves the provider as a `ProviderError` that names
what was being done. Importing this module imports libvirt."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

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
    if "Host key verification failed" in text or "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return ("ssh does not know or trust the host's key: add it to known_hosts (ssh-keyscan, or one "
                "interactive `ssh HOST`), or point the URI's known_hosts= at a file that has it (docs/hosts.md)")
    if "ssh:" in text or "Permission denied (publickey" in text:
        return ("check that `ssh HOST` works without a prompt (keys, ~/.ssh/config, BatchMode; add ?no_tty=1 to "
                "the URI) and that virt-ssh-helper or nc is on the host (docs/hosts.md)")
    if err.get_error_code() in _AUTH or "Permission denied" in text:
        return "permission denied: run as root or as a member of the libvirt group"
    if "no connection driver available" in text or err.get_error_code() == libvirt.VIR_ERR_INVALID_ARG:
        return "check the URI, for example qemu:///system or qemu+ssh://HOST/system"
    if "Failed to connect socket" in text or "Connection refused" in text:
        return "is libvirtd running? start it with `libvirtd -d`"
    return "check the host's URI and that libvirtd is reachable"
