"""Read an HCL desired-state file: one block per resource, labelled with its name.

    network "lab" {
      mode = "nat"
      dhcp {
        start = "192.168.150.10"
        end   = "192.168.150.99"
      }
    }

Nested blocks map onto model fields: a block `disk` repeated fills the list field
`disks`; a block `dhcp` fills the object field `dhcp`. Values are literals or
expressions (kvmstate.config.expressions); `variable "NAME" {}` and
`output "NAME" {}` blocks are read like resources of the types "variable" and
"output".
"""

from __future__ import annotations

import types
import typing
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput
from pydantic import BaseModel

from kvmstate.config.expressions import ExpressionError, Lit, fold
from kvmstate.config.hcl_expr import build
from kvmstate.config.hcl_syntax import syntax_error
from kvmstate.config.limits import LimitError, bracket_depth_at, check_depth, too_deep
from kvmstate.config.meta import Meta
from kvmstate.config.source import Path, RawResource
from kvmstate.diagnostics import Diagnostics, Position


LANGUAGE_BLOCKS = ("variable", "output", "backend", "module")   # backend: kvmstate.config.backend; module: .modules
UNLABELLED = ("locals", "moved", "removed", "import")   # blocks without a name: `locals { a = 1 }`, `moved { ... }`


def read_hcl(filename: str, text: str, models: dict[str, type[BaseModel]],
             diags: Diagnostics) -> list[RawResource] | None:
    """Raw resources of an HCL document; `models` maps block types to resource models. None when the text
    is not HCL."""
    deep = bracket_depth_at(text)
    if deep:
        diags.error("Nested too deeply", too_deep().args[0], Position(filename, *deep))
        return None
    try:
        tree = hcl2.parses_to_tree(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        line, column, detail = syntax_error(text, exc)
        diags.error("Invalid HCL", detail, Position(filename, line, column))
        return None
    except RecursionError:
        diags.error("Invalid HCL", too_deep().args[0], Position(filename, 1))
        return None
    except (LarkError, ValueError) as exc:
        diags.error("Invalid HCL", str(exc).splitlines()[0] if str(exc) else type(exc).__name__, Position(filename, 1))
        return None
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
        if rtype in UNLABELLED:
            if labels:
                diags.error("Unexpected label", f"A {rtype} block takes no label: {rtype} {{ ... }}.", pos)
                continue
            try:
                out.extend(_unlabelled(filename, rtype, body, pos, len(out)))
            except ExpressionError as exc:
                diags.error("Unsupported expression", str(exc), exc.pos)
            except LimitError as exc:
                diags.error(exc.summary, str(exc), exc.pos or pos)
            continue
        if rtype not in models and rtype not in LANGUAGE_BLOCKS:
            diags.error("Unknown resource type", f"The block type {rtype!r} is not a resource type; expected one of "
                        f"{', '.join(sorted(models))}.", pos)
            continue
        if len(labels) != 1 or labels[0] is None:
            diags.error("Missing resource name" if not labels else "Too many labels",
                        f"A {rtype} block takes exactly one label, its name: {rtype} \"NAME\" {{ ... }}.", pos)
            continue
        positions: dict[Path, Position] = {}
        try:
            value = _body(filename, body, models.get(rtype), (), positions)
        except ExpressionError as exc:
            diags.error("Unsupported expression", str(exc), exc.pos)
            continue
        except LimitError as exc:
            diags.error(exc.summary, str(exc), exc.pos or pos)
            continue
        out.append(RawResource(rtype, labels[0], value, pos, positions))
    return out


def _unlabelled(filename: str, rtype: str, body: Tree, pos: Position, n: int) -> list[RawResource]:
    """`locals { a = 1 }`: one raw "local" per attribute, its value under "value"; `moved { ... }`,
    `removed { ... }` and `import { ... }`: one raw each, named by its position."""
    if rtype != "locals":
        positions: dict[Path, Position] = {}
        return [RawResource(rtype, f"{pos.line}:{pos.column}", _body(filename, body, None, (), positions), pos,
                            positions)]
    out = []
    for node in _children(body):
        npos = _pos(filename, node)
        if node.data != "attribute":
            raise ExpressionError("A locals block holds only `name = value` lines.", npos)
        positions = {("value",): npos}
        expr = build(node.children[-1], lambda n: _pos(filename, n))
        out.append(RawResource("local", str(node.children[0].children[0]),
                               {"value": fold(expr, ("value",), positions)}, npos, positions))
    return out


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
    labels = [_label(lbl) for lbl in rest[:-1]]
    return str(ident.children[0]), labels, body


def _label(node: Tree) -> str | None:
    if node.data != "string":
        return str(node.children[0])
    try:
        expr = build(node, lambda n: Position("", 1))
    except ExpressionError:
        return None             # a template directive in a label: reported as a label that is not a name
    return expr.value if isinstance(expr, Lit) else None


def _body(filename: str, body: Tree, model: type[BaseModel] | None, path: Path,
          positions: dict[Path, Position]) -> dict[str, Any]:
    check_depth(len(path), _pos(filename, body))
    out: dict[str, Any] = {}
    for node in _children(body):
        if node.data == "attribute":
            key = str(node.children[0].children[0])
            positions[path + (key,)] = _pos(filename, node)
            expr = build(node.children[-1], lambda n: _pos(filename, n), len(path))
            out[key] = fold(expr, path + (key,), positions)
        elif node.data == "block":
            name, labels, inner = _block_parts(node)
            field, is_list, child = _block_field(model, name)
            if labels:
                raise ExpressionError(f"The nested block {name!r} takes no labels.", _pos(filename, node))
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
    """The model field a nested block fills: `disk` fills the list `disks`, `xml_patch` the list `xml_patches`,
    `dhcp` the object `dhcp`."""
    fields = {**Meta.model_fields, **model.model_fields} if model else {}
    for field, is_list in ((name + "s", True), (name + "es", True), (name, False), (name, True)):
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
