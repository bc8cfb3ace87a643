"""Read an HCL desired-state file: one block per resource, labelled with its name.

    network "lab" {
      mode = "nat"
      dhcp {
        start = "192.168.150.10"
        end   = "192.168.150.99"
      }
    }

Nested blocks map onto model fields: a block `disk` repeated fills the list field
`disks`; a block `dhcp` fills the object field `dhcp`. Only literal values are
accepted: strings, numbers, booleans, null, lists and objects.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from pydantic import BaseModel

from kvmstate.config.meta import Meta
from kvmstate.config.source import Path, RawResource
from kvmstate.diagnostics import Diagnostics, Position


class _Unsupported(Exception):
    def __init__(self, what: str, node: Tree | Token):
        super().__init__(what)
        self.node = node


def read_hcl(filename: str, text: str, models: dict[str, type[BaseModel]], diags: Diagnostics) -> list[RawResource]:
    """Raw resources of an HCL document; `models` maps block types to resource models."""
    try:
        tree = hcl2.parses_to_tree(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        diags.error("Invalid HCL", _syntax_detail(exc), Position(filename, exc.line or 1, exc.column or 1))
        return []
    except (LarkError, ValueError, RecursionError) as exc:
        diags.error("Invalid HCL", str(exc).splitlines()[0] if str(exc) else type(exc).__name__, Position(filename, 1))
        return []
    out: list[RawResource] = []
    for node in _children(tree.children[0]):
        pos = _pos(filename, node)
        if node.data == "attribute":
            diags.error("Unexpected attribute", "Only resource blocks such as `network \"lab\" { ... }` may stand at "
                        "the top level of a file.", pos)
            continue
        if node.data != "block":
            continue
        rtype, labels, body = _block_parts(node)
        if rtype not in models:
            diags.error("Unknown resource type", f"The block type {rtype!r} is not a resource type; expected one of "
                        f"{', '.join(sorted(models))}.", pos)
            continue
        if len(labels) != 1:
            diags.error("Missing resource name" if not labels else "Too many labels",
                        f"A {rtype} block takes exactly one label, its name: {rtype} \"NAME\" {{ ... }}.", pos)
            continue
        positions: dict[Path, Position] = {}
        try:
            value = _body(filename, body, models[rtype], (), positions)
        except _Unsupported as exc:
            diags.error("Unsupported expression", f"{exc} Only literal values (strings, numbers, booleans, lists and "
                        "objects) are supported.", _pos(filename, exc.node))
            continue
        out.append(RawResource(rtype, labels[0], value, pos, positions))
    return out


def _syntax_detail(exc: UnexpectedInput) -> str:
    if isinstance(exc, UnexpectedToken):
        text = str(exc.token.value)
        if exc.token.type == "$END":
            return "The file ends in the middle of a block or expression; check for a missing closing brace."
        if text[:1] == "\n" or not text.strip():
            return "Unexpected end of line: a value is missing."
        return f"Unexpected {text.strip()!r}."
    if isinstance(exc, UnexpectedCharacters):
        return f"Unexpected character {exc.char!r}."
    if isinstance(exc, UnexpectedEOF):
        return "The file ends in the middle of a block or expression; check for a missing closing brace."
    return "The file is not valid HCL."


def _children(node: Tree) -> list[Tree]:
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _pos(filename: str, node: Tree | Token) -> Position:
    if isinstance(node, Token):
        return Position(filename, node.line or 1, node.column or 1)
    meta = node.meta
    return Position(filename, getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1)


def _block_parts(node: Tree) -> tuple[str, list[str], Tree]:
    ident, *rest = [c for c in node.children if isinstance(c, Tree)]
    body = rest[-1]
    labels = [_string(lbl) if lbl.data == "string" else str(lbl.children[0]) for lbl in rest[:-1]]
    return str(ident.children[0]), labels, body


def _body(filename: str, body: Tree, model: type[BaseModel] | None, path: Path,
          positions: dict[Path, Position]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in _children(body):
        if node.data == "attribute":
            key = str(node.children[0].children[0])
            positions[path + (key,)] = _pos(filename, node)
            out[key] = _value(filename, node.children[-1], path + (key,), positions)
        elif node.data == "block":
            name, labels, inner = _block_parts(node)
            field, is_list, child = _block_field(model, name)
            if labels:
                raise _Unsupported(f"The nested block {name!r} takes no labels.", node)
            if is_list:
                items = out.setdefault(field, [])
                item_path = path + (field, len(items))
                positions.setdefault(path + (field,), _pos(filename, node))
                positions[item_path] = _pos(filename, node)
                items.append(_body(filename, inner, child, item_path, positions))
            else:
                positions[path + (field,)] = _pos(filename, node)
                out[field] = _body(filename, inner, child, path + (field,), positions)
    return out


def _block_field(model: type[BaseModel] | None, name: str) -> tuple[str, bool, type[BaseModel] | None]:
    """The model field a nested block fills: `disk` fills the list `disks`, `dhcp` the object `dhcp`."""
    fields = {**Meta.model_fields, **model.model_fields} if model else {}
    for field, is_list in ((name + "s", True), (name, False), (name, True)):
        info = fields.get(field)
        if info is None:
            continue
        ann = info.annotation
        args = typing.get_args(ann) if typing.get_origin(ann) in (typing.Union, types.UnionType) else (ann,)
        lists = [a for a in args if typing.get_origin(a) is list]
        if is_list and lists:
            inner = typing.get_args(lists[0])[0]
            return field, True, inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
        if not is_list and not lists:
            child = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
            return field, False, child
    return name, True, None


_ESCAPES = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)')
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    def sub(m: re.Match) -> str:
        s = m.group(1)
        if s[0] in "uU":
            return chr(int(s[1:], 16))
        return _SIMPLE.get(s, m.group(0))
    return _ESCAPES.sub(sub, text).replace("$${", "${").replace("%%{", "%{")


def _string(node: Tree) -> str:
    parts = []
    for part in node.children:
        if isinstance(part, Tree) and part.data == "string_part":
            inner = part.children[0]
            if isinstance(inner, Tree):
                raise _Unsupported("String interpolation is not supported yet.", part)
            parts.append(str(inner))
    return _unescape("".join(parts))


def _value(filename: str, node: Tree, path: Path, positions: dict[Path, Position]) -> Any:
    if node.data == "expr_term" and len(node.children) == 1:
        return _value(filename, node.children[0], path, positions) if isinstance(node.children[0], Tree) \
            else _unsupported(node)
    if node.data == "expr_term":
        inner = [c for c in node.children if isinstance(c, Tree)]
        if len(inner) == 1:   # parenthesised
            return _value(filename, inner[0], path, positions)
        _unsupported(node)
    if node.data == "literal_value":
        word = str(node.children[0])
        return {"true": True, "false": False, "null": None}[word]
    if node.data == "int_lit":
        return int(str(node.children[0]))
    if node.data == "float_lit":
        return float(str(node.children[0]))
    if node.data == "string":
        return _string(node)
    if node.data == "heredoc_template":
        raw = str(node.children[0])
        return raw.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"
    if node.data == "unary_op" and str(node.children[0]) == "-":
        value = _value(filename, node.children[1], path, positions)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    if node.data == "tuple":
        items = []
        for item in (c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"):
            positions[path + (len(items),)] = _pos(filename, item)
            items.append(_value(filename, item, path + (len(items),), positions))
        return items
    if node.data == "object":
        out = {}
        for elem in (c for c in node.children if isinstance(c, Tree) and c.data == "object_elem"):
            key_node, value_node = [c for c in elem.children if isinstance(c, Tree)]
            key_term = key_node.children[0]
            key_inner = key_term.children[0] if isinstance(key_term, Tree) and key_term.children else key_term
            if isinstance(key_inner, Tree) and key_inner.data == "string":
                key = _string(key_inner)
            elif isinstance(key_inner, Tree) and key_inner.data == "identifier":
                key = str(key_inner.children[0])
            else:
                _unsupported(key_node)
            positions[path + (key,)] = _pos(filename, elem)
            out[key] = _value(filename, value_node, path + (key,), positions)
        return out
    _unsupported(node)


def _unsupported(node: Tree) -> typing.NoReturn:
    kind = node.data.replace("_", " ") if isinstance(node, Tree) else "token"
    raise _Unsupported(f"This value is an expression ({kind}); references and functions are not supported yet.", node)
