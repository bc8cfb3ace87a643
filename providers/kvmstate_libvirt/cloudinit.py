"""cloud-init seeds: a NoCloud ISO built from the resource's documents, uploaded as volume `NAME.iso`.

Vocabulary: pool. The documents cannot be read back cheaply, so the engine compares
them (`x-recorded`) with the state; as the ISO is built reproducibly, the same
documents always make the same ISO, and changed ones replace it. Identity: the
volume's key.
"""

from __future__ import annotations

from kvmstate.provider import LiveObject, Request

from . import image, volume
from .connection import Host, doing
from .schema import Cloudinit
from .seed import build_iso, seed_files

TYPE = "cloudinit"
SUFFIX = ".iso"


def volume_name(name: str) -> str:
    """The name of the ISO volume of the cloudinit `name`."""
    return name + SUFFIX


def iso_for(name: str, spec: Cloudinit) -> bytes:
    return build_iso(seed_files(name, spec.user_data or "", spec.meta_data, spec.network_config))


def read_all(host: Host) -> list[LiveObject]:
    """Every `*.iso` volume of an active pool, as the cloudinit named by its stem."""
    return [LiveObject(TYPE, vol.name.removesuffix(SUFFIX), host.name, vol.identity,
                       {"pool": vol.attributes["pool"]})
            for vol in volume.read_all(host) if vol.name.endswith(SUFFIX)]


def create(host: Host, request: Request) -> LiveObject:
    spec = Cloudinit.model_validate(request.attributes)
    name, vol_name = request.name, volume_name(request.name)
    iso = iso_for(name, spec)
    with doing(f"looking up pool {spec.pool} for cloudinit {name}"):
        pool = host.conn.storagePoolLookupByName(spec.pool)
    with doing(f"creating volume {vol_name} in pool {spec.pool}"):
        vol = pool.createXML(volume.to_xml(vol_name, len(iso), "raw"), 0)
    try:
        image.upload(host.conn, vol, [iso], None, f"the seed ISO of cloudinit {name}")
    except BaseException:
        volume.delete(host, vol_name, vol.key())
        raise
    return LiveObject(TYPE, name, host.name, vol.key(), {"pool": spec.pool})


def update(host: Host, request: Request, current: LiveObject, paths: list[str], restart: bool) -> LiveObject:
    """Nothing changes in place: every attribute replaces the ISO."""
    return current


def delete(host: Host, name: str, identity: str) -> None:
    volume.delete(host, volume_name(name), identity)


