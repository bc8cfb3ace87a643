"""The patched documents checked at plan time against libvirt's own RELAX NG schemas, with `xmllint`.

libvirt ships its schemas (/usr/share/libvirt/schemas, Debian's libvirt-clients) and
validates a document only when it is defined, which is at apply. `xmllint --relaxng`
(Debian's libxml2-utils) checks it before: kvmstate's own document first (when the local
schemas refuse it, nothing is blamed on a patch), then the patched one; when that fails,
the patches are applied one by one to name the first that makes it invalid.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from kvmstate.provider import Problem

from . import patches

SCHEMAS = Path("/usr/share/libvirt/schemas")


def check_patches(xml: str, patch_list: list) -> list[Problem]:
    """Problems of the patches (models) applied to `xml`, kvmstate's document without them, at
    `xml_patches[i]`; none when the patched document is valid."""
    base = ET.fromstring(xml)
    schema = SCHEMAS / f"{base.tag}.rng"
    xmllint = shutil.which("xmllint")
    if xmllint is None or not schema.is_file():
        missing = "xmllint (Debian: libxml2-utils)" if xmllint is None else f"libvirt's schema {schema}"
        return [Problem("xml_patches", f"the patched <{base.tag}> document cannot be checked before apply: "
                        f"{missing} is not installed here. Install it, or leave the patches out.")]
    if _errors(xmllint, schema, base) is not None:
        return []                      # libvirt's own verdict at apply: kvmstate's document is not the patches'
    full = copy.deepcopy(base)
    patches.apply(full, patch_list)
    if _errors(xmllint, schema, full) is None:
        return []
    doc = copy.deepcopy(base)
    for i, patch in enumerate(patch_list):
        patches.apply(doc, [patch])
        errors = _errors(xmllint, schema, doc)
        if errors is not None:
            return [Problem(f"xml_patches[{i}]", f"with xml_patches[{i}] ({patch.xpath}) the <{base.tag}> "
                            f"document does not follow libvirt's schema ({schema.name}), so libvirt would refuse "
                            f"it at apply: {errors}. Check the element and attribute names against libvirt's "
                            "documentation.")]
    return []


def _errors(xmllint: str, schema: Path, root: ET.Element) -> str | None:
    """xmllint's complaints about the document, on one line; None when it is valid."""
    done = subprocess.run([xmllint, "--noout", "--relaxng", str(schema), "-"], input=ET.tostring(root),
                          capture_output=True, timeout=60)
    if done.returncode == 0:
        return None
    lines = [line.split("Relax-NG validity error : ", 1)[-1].strip()
             for line in done.stderr.decode(errors="replace").splitlines()
             if line.strip() and not line.endswith("fails to validate")]
    return "; ".join(lines[:3]) or f"xmllint exited with {done.returncode}"
