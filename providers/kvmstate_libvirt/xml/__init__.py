"""libvirt's XML documents, built from a desired model and parsed back into the model's vocabulary.

One module per document (network, pool, volume, domain; a domain's devices in
`devices`, `platform` and `peripherals`, its memory and CPU placement in `tuning`,
the owner mark in `ownership`), each with the same two functions:

    to_xml(spec, name, **known) -> str        the document for the desired model `spec` of object `name`;
                                              `known`: what the provider resolved or libvirt chose before
                                              (owner mark, UUID, MACs, the attributes of referenced objects)
    from_xml(xml, **outside) -> dict          the attributes the document shows, plus `outside`: those libvirt
                                              keeps outside it (active, autostart, power, a volume's pool)

The `xml_patches` escape hatch lives in `patches`: applied at the end of `to_xml`, read
back by the types' `normalize`.

Output order is fixed, so documents are deterministic (tests/provider/golden).
Nothing here imports libvirt.
"""
