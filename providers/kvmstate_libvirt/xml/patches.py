"""XML patches, the escape hatch: `{xpath, set | remove | add}` applied to a document after kvmstate built it.

An xpath is absolute (`/domain/memoryBacking/nosharepages`), in ElementTree's limited
XPath (steps, `//`, `*`, predicates `[@a='v']`, `[tag]`, `[1]`); a last step
`/@name` selects an attribute. `set` gives the text of every matching element or the
value of the attribute, creating missing elements along a simple path (plain tag
names only); `remove` deletes every matching element or attribute; `add` appends an
element given as an XML snippet under every matching element (created like `set`'s),
unless one holding the snippet is there already.

`check` validates an expression and `snippet` an `add` (the schema calls them at plan time); `apply` patches a
document; `read_back` says what a live document has at the desired patches' paths,
so patched parts are compared like any attribute. Nothing here imports libvirt.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from kvmstate.provider import ProviderError

_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def split(xpath: str) -> tuple[str, str, str | None]:
    """(root tag, ElementTree path relative to the root, attribute name or None) of a valid xpath."""
    attr = None
    match = re.search(rf"/@({_NAME})$", xpath)
    if match:
        attr, xpath = match.group(1), xpath[:match.start()]
    root, _, rest = xpath[1:].partition("/")
    return root, "./" + rest if not rest.startswith("/") else "." + rest, attr


def check(xpath: str, root: str) -> None:
    """Raise ValueError, with a sentence saying what is wrong, unless `xpath` is a patch path in `root`."""
    if not xpath.startswith(f"/{root}/") or xpath.startswith(f"/{root}//@"):
        raise ValueError(f"{xpath!r} must be an absolute path inside the document, starting with /{root}/ "
                         f"(for example /{root}/metadata or /{root}/…/@attribute)")
    unquoted = _QUOTED.sub("''", xpath)
    bare = re.sub(r"\[[^\]]*\]", "", unquoted)             # predicates left out
    attr_steps = [step for step in bare.split("/") if "@" in step]
    if re.search(r"\s", unquoted) or ".." in bare or len(attr_steps) > 1 or (
            attr_steps and not re.search(rf"/@{_NAME}$", xpath)):
        raise ValueError(f"{xpath!r} is not a path ElementTree can select: no spaces and no '..'; '@' only in "
                         "predicates ([@name='value']) or as the last step (/@name, a name of letters, digits, "
                         "'_', '.' and '-')")
    _, path, _ = split(xpath)
    if path in (".", "./"):
        raise ValueError(f"{xpath!r} selects the root element; name an element inside it (the root's "
                         "attributes are kvmstate's)")
    try:
        ET.Element(root).findall(path)
    except (SyntaxError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{xpath!r} is not an expression of ElementTree's XPath subset (steps, //, *, "
                         "predicates such as [@name='value'], [tag] or [1])"
                         + (f": {exc}" if isinstance(exc, SyntaxError) else "")) from None


def snippet(text: str) -> ET.Element:
    """The element an `add` gives; ValueError, with a sentence, unless it is one well-formed element."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"`add` must be one well-formed XML element such as <watchdog model='i6300esb'/>: "
                         f"{exc}") from None


def contains(have: ET.Element, want: ET.Element) -> bool:
    """Whether `have` holds `want`: same tag, `want`'s attributes and text, and each of its children held by one
    of `have`'s (libvirt adds defaults and addresses to what it was given)."""
    return have.tag == want.tag and all(have.get(k) == v for k, v in want.attrib.items()) and \
        ((want.text or "").strip() in ("", (have.text or "").strip())) and \
        all(any(contains(h, w) for h in have) for w in want)


def apply(root: ET.Element, patches: list) -> None:
    """Apply `patches` (models with xpath, set, remove, add) to the document `root`, in order."""
    for patch in patches:
        _, path, attr = split(patch.xpath)
        found = root.findall(path)
        if patch.add is not None:
            element = snippet(patch.add)
            for el in found or [_create(root, path, patch.xpath)]:
                if not any(contains(child, element) for child in el):
                    el.append(snippet(patch.add))
            continue
        if patch.remove:
            parents = {child: parent for parent in root.iter() for child in parent}
            for el in found:
                if attr is not None:
                    el.attrib.pop(attr, None)
                elif el in parents:
                    parents[el].remove(el)
            continue
        if not found:
            found = [_create(root, path, patch.xpath)]
        for el in found:
            if attr is not None:
                el.set(attr, patch.set)
            else:
                el.text = patch.set


def _create(root: ET.Element, path: str, xpath: str) -> ET.Element:
    """The element at a simple path (plain tag names), created with the missing ones on the way."""
    steps = path.removeprefix("./").split("/")
    if not all(re.fullmatch(_NAME, step) for step in steps):
        raise ProviderError(f"the XML patch {xpath!r} matches nothing, and only a simple path (tag names "
                            "without //, * or predicates) can be created")
    el = root
    for step in steps:
        el = el.find(step) if el.find(step) is not None else ET.SubElement(el, step)
    return el


def holds(root: ET.Element, patch: dict[str, Any]) -> tuple[bool, Any]:
    """Whether the live document `root` shows the desired `patch`, and what it has at the patch's path
    (the text or value of the first match; None when nothing matches)."""
    _, path, attr = split(patch["xpath"])
    found = root.findall(path)
    if patch.get("add") is not None:
        element = snippet(patch["add"])
        ok = bool(found) and all(any(contains(child, element) for child in el) for el in found)
        return ok, patch["add"] if ok else None
    values = [el.get(attr) for el in found] if attr is not None else [el.text or "" for el in found]
    present = [v for v in values if v is not None]
    if patch.get("remove"):
        return not present, present[0] if present else None
    return bool(present) and len(present) == len(values) and all(v == patch.get("set") for v in present), \
        present[0] if present else None


def read_back(root: ET.Element, desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live `xml_patches`: the desired list when every patch holds in `root`; otherwise the desired list up
    to the first patch that does not hold, that one showing the live value (`set` null: nothing there;
    `remove` false: the removed node is back; `add` null: the added element is not there), and the rest."""
    out = [dict(p) for p in desired]
    for i, patch in enumerate(desired):
        ok, value = holds(root, patch)
        if not ok:
            op = "add" if patch.get("add") is not None else "remove" if patch.get("remove") else "set"
            out[i] = {"xpath": patch["xpath"], op: False if op == "remove" else value}
            break
    return out
