"""Read a YAML desired-state file: top-level keys are plural resource types.

    networks:
      lab:
        mode: nat

`variables:` and `outputs:` sections are read like resources of the types
"variable" and "output". A string with `${...}` in it is an expression
(kvmstate.config.expressions); `$${` writes a literal `${`.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kvmstate.config.expressions import ExpressionError, parse_template
from kvmstate.config.source import Path, RawResource
from kvmstate.diagnostics import Diagnostics, Position


def read_yaml(filename: str, text: str, plurals: dict[str, str], diags: Diagnostics) -> list[RawResource]:
    """Raw resources of a YAML document; `plurals` maps "networks" to "network"."""
    try:
        doc = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(filename, mark.line + 1, mark.column + 1) if mark else Position(filename, 1)
        diags.error("Invalid YAML", f"{exc.problem or exc.context}.".capitalize(), pos)
        return []
    except YAMLError as exc:
        diags.error("Invalid YAML", str(exc), Position(filename, 1))
        return []
    if doc is None:
        return []
    if not isinstance(doc, CommentedMap):
        diags.error("Unexpected document", "The top level of a kvmstate YAML file is a mapping of resource types "
                    f"({', '.join(sorted(plurals))}).", Position(filename, 1))
        return []
    plurals = {**plurals, **LANGUAGE_SECTIONS}
    out: list[RawResource] = []
    for key, section in doc.items():
        kpos = _key_pos(filename, doc, key)
        if key not in plurals:
            diags.error("Unknown section", f"The top-level key {key!r} is not a resource type; expected one of "
                        f"{', '.join(sorted(plurals))}.", kpos)
            continue
        if section is None:
            continue
        if not isinstance(section, CommentedMap):
            diags.error("Unexpected value", f"`{key}` maps resource names to their attributes.", kpos)
            continue
        for name, body in section.items():
            positions: dict[Path, Position] = {}
            try:
                plain = _plain(filename, body, (), positions, _key_pos(filename, section, name))
            except ExpressionError as exc:
                diags.error("Unsupported expression", str(exc), exc.pos)
                continue
            out.append(RawResource(plurals[key], str(name), plain, _key_pos(filename, section, name), positions))
    return out


LANGUAGE_SECTIONS = {"variables": "variable", "outputs": "output"}


def _key_pos(filename: str, node: CommentedMap, key: Any) -> Position:
    line, col = node.lc.data[key][:2]
    return Position(filename, line + 1, col + 1)


def _plain(filename: str, node: Any, path: Path, positions: dict[Path, Position], pos: Position) -> Any:
    """Plain Python data from ruamel's nodes, recording the position of every key and item."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            positions[path + (key,)] = _key_pos(filename, node, key)
            out[str(key)] = _plain(filename, value, path + (key,), positions, positions[path + (key,)])
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            line, col = node.lc.data[i]
            positions[path + (i,)] = Position(filename, line + 1, col + 1)
            items.append(_plain(filename, value, path + (i,), positions, positions[path + (i,)]))
        return items
    if isinstance(node, str):
        return parse_template(str(node), pos)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)
