"""The libvirt provider for kvmstate: networks, storage pools, volumes, cloud-init seeds and domains.

    declarations  the resource types and their models (`schema`); no libvirt
    provider      `LibvirtProvider`, dispatching the protocol to `types/`
    types/        one operations class per resource type (imports libvirt, on first use)
    xml/          one module per libvirt document: to_xml / from_xml; no libvirt
    connection    hosts, opened lazily; `errors` turns libvirt errors into ProviderErrors
    capabilities  what a host offers (cached once per host); `doctor` reports on it

Importing the package imports neither libvirt nor the libraries of images and seeds.
Nothing here may be imported by the engine.
"""

from .provider import LibvirtProvider

__all__ = ["LibvirtProvider"]
