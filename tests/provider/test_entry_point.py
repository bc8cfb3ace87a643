import subprocess
import sys
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


def test_importing_the_provider_loads_no_libvirt_nor_image_or_seed_libraries():
    """The entry point is loaded by every command, `validate` too: libvirt and friends wait for a host."""
    code = ("import sys, kvmstate_libvirt; kvmstate_libvirt.LibvirtProvider().resource_types(); "
            "print(sorted(m for m in ('libvirt', 'pycdlib', 'jinja2', 'urllib.request', 'kvmstate_libvirt.types') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_declared_type_has_its_operations():
    from kvmstate_libvirt.declarations import TYPES
    from kvmstate_libvirt.types import OPERATIONS, ResourceOperations
    assert [t.name for t in TYPES] == list(OPERATIONS)
    for rtype in TYPES:
        ops = OPERATIONS[rtype.name]
        assert isinstance(ops, ResourceOperations) and ops.declaration is rtype
