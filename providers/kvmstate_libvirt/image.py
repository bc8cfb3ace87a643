"""Image sources: a local file or an http(s) URL, its header, and its upload into a volume.

The content goes through libvirt's volume upload (a virStream), so the image only
needs to be readable where kvmstate runs, whichever host the pool is on. A
`sha256:<hex>` checksum is computed while streaming; a mismatch aborts the upload.
"""

from __future__ import annotations

import hashlib
import os
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

import libvirt

from kvmstate.provider import ProviderError
from kvmstate.units import format_size

from .errors import doing

QCOW2_MAGIC = b"QFI\xfb"
CHUNK = 1024 * 1024
HEAD = 512              # enough for the qcow2 header fields read here
TIMEOUT = 60            # seconds without data from an http(s) server


@dataclass
class Image:
    """An opened source: its first bytes, its length when known, and the rest still to read."""

    source: str
    head: bytes
    length: int | None
    rest: BinaryIO

    @property
    def format(self) -> str:
        return "qcow2" if self.head.startswith(QCOW2_MAGIC) else "raw"

    @property
    def virtual_size(self) -> int | None:
        """The disk size the image gives a guest: the qcow2 header's size, or a raw image's length."""
        if self.format == "qcow2":
            return struct.unpack(">Q", self.head[24:32])[0] if len(self.head) >= 32 else None
        return self.length

    def chunks(self) -> Iterator[bytes]:
        yield self.head
        while chunk := self.rest.read(CHUNK):
            yield chunk


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@contextmanager
def open_image(source: str) -> Iterator[Image]:
    """The image at a path or URL, opened for one pass; a ProviderError says why it cannot be read."""
    try:
        if is_url(source):
            import urllib.request       # only for a download: importing it costs every command
            with urllib.request.urlopen(source, timeout=TIMEOUT) as response:
                length = response.headers.get("Content-Length")
                yield Image(source, response.read(HEAD), int(length) if length else None, response)
        else:
            with open(source, "rb") as file:
                yield Image(source, file.read(HEAD), os.fstat(file.fileno()).st_size, file)
    except OSError as exc:          # urllib's URLError and HTTPError are OSErrors too
        if hasattr(exc, "code") and hasattr(exc, "reason"):         # an HTTPError
            raise ProviderError(f"cannot download {source}: the server answered {exc.code} {exc.reason}") from None
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        raise ProviderError(f"cannot read the image {source}: {reason}") from None


def format_problem(image: Image, wanted: str) -> str | None:
    """Why a volume of format `wanted` cannot hold this image, or None when it can."""
    if image.format == wanted:
        return None
    if wanted == "qcow2":
        return (f"{image.source} is not a qcow2 image (it has no qcow2 header): set format = \"raw\", or convert "
                "it with `qemu-img convert -O qcow2`")
    return (f"{image.source} is a qcow2 image: set format = \"qcow2\" (a raw volume would show the guest the "
            "qcow2 file itself, not its disk)")


def capacity_problem(image: Image, capacity: int | None) -> str | None:
    """Why `capacity` does not fit this image (smaller than the disk it holds), or None."""
    size = image.virtual_size
    if capacity is not None and size is not None and capacity < size:
        return (f"capacity {format_size(capacity)} is smaller than the image's virtual size {format_size(size)}: "
                "leave `capacity` unset to take the image's size, or set one at least as large")
    return None


def upload(conn: libvirt.virConnect, vol: libvirt.virStorageVol, chunks: Iterable[bytes], checksum: str | None,
           what: str) -> str:
    """Stream `chunks` into the volume and return their `sha256:<hex>`; abort on a checksum mismatch."""
    digest = hashlib.sha256()
    stream = conn.newStream(0)
    try:
        with doing(f"uploading {what}"):
            vol.upload(stream, 0, 0, 0)
            for chunk in chunks:
                digest.update(chunk)
                while chunk:
                    chunk = chunk[stream.send(chunk):]
        actual = f"sha256:{digest.hexdigest()}"
        if checksum is not None and actual != checksum:
            raise ProviderError(f"{what}: checksum mismatch: the image has {actual}, the configuration says "
                                f"{checksum}; nothing was kept. Check the source and the checksum")
        with doing(f"finishing the upload of {what}"):
            stream.finish()
        return actual
    except BaseException:
        try:
            stream.abort()
        except libvirt.libvirtError:
            pass
        raise
