from importlib.metadata import entry_points

from kvmstate.provider import Provider, Registry
from kvmstate_libvirt import LibvirtProvider


def test_entry_point_loads_the_provider():
    (ep,) = [ep for ep in entry_points(group="kvmstate.providers") if ep.name == "libvirt"]
    assert ep.load() is LibvirtProvider


def test_registry_serves_the_four_types():
    registry = Registry.discover()
    assert isinstance(registry.provider_of["domain"], Provider)
    assert {t: registry.types[t].plural for t in ("network", "pool", "volume", "domain")} == {
        "network": "networks", "pool": "pools", "volume": "volumes", "domain": "domains"}
    assert all(registry.provider_of[t].name == "libvirt" for t in registry.types)
