"""cloud-init seeds: a NoCloud ISO built from the resource's documents, uploaded as volume `NAME.iso`.

The documents cannot be read back cheaply, so the engine compares them (`x-recorded`)
with the state; as the ISO is built reproducibly, the same documents always make the
same ISO, and changed ones replace it (nothing is updated in place). Identity: the
volume's key.
"""

from __future__ import annotations

from kvmstate.provider import LiveObject, Request, Unreadable

from .. import image, seed
from ..connection import Host
from ..declarations import CLOUDINIT
from ..errors import doing
from ..schema import Cloudinit, Volume
from ..xml import volume as volume_document
from .base import ResourceOperations
from .volume import Volumes


class Cloudinits(ResourceOperations):
    declaration = CLOUDINIT
    volumes = Volumes()

    def read_all(self, host: Host, earlier: dict[str, list[LiveObject]]) -> list[LiveObject | Unreadable]:
        """Every `*.iso` volume of an active pool, as the cloudinit named by its stem (an inactive pool's seeds
        are unreadable, as its volumes); the volumes are read once per provider read (`earlier` holds them when
        volumes were asked for too)."""
        found: list[LiveObject | Unreadable] = []
        for vol in self.volumes.read_all(host, earlier):
            if isinstance(vol, Unreadable):
                found.append(Unreadable(CLOUDINIT.name, vol.host, vol.scope, vol.reason))
            elif name := seed.seed_of(vol.name):
                found.append(LiveObject(CLOUDINIT.name, name, host.name, vol.identity, {"pool": vol.get("pool")},
                                         fingerprint=vol.fingerprint))
        return found

    def create(self, host: Host, request: Request) -> LiveObject:
        spec = Cloudinit.model_validate(request.attributes)
        name, vol_name = request.name, seed.volume_name(request.name)
        iso = seed.build_iso(seed.seed_files(name, spec.user_data or "", spec.meta_data, spec.network_config))
        with doing(f"looking up pool {spec.pool} for cloudinit {name}"):
            pool = host.conn.storagePoolLookupByName(spec.pool)
        with doing(f"creating volume {vol_name} in pool {spec.pool}"):
            vol = pool.createXML(volume_document.to_xml(Volume(pool=spec.pool, capacity=len(iso), format="raw"),
                                                        vol_name), 0)
        try:
            image.upload(host.conn, vol, [iso], None, f"the seed ISO of cloudinit {name}")
        except BaseException:
            self.volumes.delete(host, vol_name, vol.key())
            raise
        return LiveObject(CLOUDINIT.name, name, host.name, vol.key(), {"pool": spec.pool})

    def delete(self, host: Host, name: str, identity: str) -> None:
        self.volumes.delete(host, seed.volume_name(name), identity)
