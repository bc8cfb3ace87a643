"""What any no-op plan must do at least: the bulk list calls, one XML read per object, and parsing it.

    python -m bench.floor URI

It opens the connection, lists networks, pools, volumes and domains, reads each
one's XML and parses it with ElementTree, and nothing else.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import libvirt


def read_everything(conn: libvirt.virConnect) -> int:
    documents = [net.XMLDesc(0) for net in conn.listAllNetworks()]
    for pool in conn.listAllStoragePools():
        documents.append(pool.XMLDesc(0))
        documents.extend(vol.XMLDesc(0) for vol in pool.listAllVolumes(0))
    documents.extend(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) for dom in conn.listAllDomains(0))
    return len([ET.fromstring(doc) for doc in documents])


if __name__ == "__main__":
    conn = libvirt.open(sys.argv[1])
    print(read_everything(conn))
    conn.close()
