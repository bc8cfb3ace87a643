"""NoCloud seed ISOs, built in pure Python with pycdlib: the same files always give the same bytes.

The ISO of the cloudinit NAME is the volume `NAME.iso` in its pool (`volume_name`).

The ISO is labelled `cidata` and holds `user-data`, `meta-data` and optionally
`network-config` (Rock Ridge and Joliet names, so any guest reads them). pycdlib
stamps the current time into its dates; the build runs with a frozen clock so the
ISO's content hash depends on the files alone.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

EPOCH = 946684800.0        # 2000-01-01T00:00:00Z, the date of every seed
SUFFIX = ".iso"
_FROZEN = threading.Lock()


def volume_name(name: str) -> str:
    """The name of the ISO volume of the cloudinit `name`."""
    return name + SUFFIX


def seed_of(volume: str) -> str | None:
    """The cloudinit whose ISO is `volume`, or None for another volume."""
    return volume.removesuffix(SUFFIX) if volume.endswith(SUFFIX) else None


class _FrozenTime:
    """The `time` module as pycdlib sees it during a build: a fixed now, in UTC."""

    def __getattr__(self, name: str):
        return getattr(time, name)

    @staticmethod
    def time() -> float:
        return EPOCH

    @staticmethod
    def localtime(seconds: float | None = None) -> time.struct_time:
        return time.gmtime(EPOCH if seconds is None else seconds)


@contextmanager
def _frozen_clock() -> Iterator[None]:
    modules = [m for name, m in list(sys.modules.items())
               if name.startswith("pycdlib") and getattr(m, "time", None) is time]
    with _FROZEN:
        for module in modules:
            module.time = _FrozenTime()
        try:
            yield
        finally:
            for module in modules:
                module.time = time


def seed_files(name: str, user_data: str, meta_data: str | None, network_config: str | None) -> dict[str, bytes]:
    """The files of a seed; meta-data defaults to the instance id and host name `name`."""
    files = {"user-data": user_data, "meta-data": meta_data if meta_data is not None else
             f"instance-id: {name}\nlocal-hostname: {name}\n"}
    if network_config is not None:
        files["network-config"] = network_config
    return {k: v.encode("utf-8") for k, v in files.items()}


def build_iso(files: dict[str, bytes]) -> bytes:
    """A NoCloud seed ISO (label cidata) holding `files`, byte for byte reproducible."""
    import pycdlib          # only when a seed is built: importing it costs every command
    iso = pycdlib.PyCdlib()
    out = io.BytesIO()
    with _frozen_clock():
        iso.new(interchange_level=3, vol_ident="cidata", sys_ident="LINUX", joliet=3, rock_ridge="1.09")
        for number, (filename, data) in enumerate(sorted(files.items())):
            iso.add_fp(io.BytesIO(data), len(data), f"/FILE{number}.;1", rr_name=filename,
                       joliet_path=f"/{filename}")
        iso.write_fp(out)
    iso.close()
    return out.getvalue()


def read_iso(path: str) -> dict[str, bytes]:
    """The files of a seed ISO by their Rock Ridge names (for tests and inspection)."""
    import pycdlib
    iso = pycdlib.PyCdlib()
    iso.open(path)
    try:
        found = {}
        for child in iso.list_children(rr_path="/"):
            if child.is_file():
                name = child.rock_ridge.name().decode()
                data = io.BytesIO()
                iso.get_file_from_iso_fp(data, rr_path=f"/{name}")
                found[name] = data.getvalue()
        return found
    finally:
        iso.close()
