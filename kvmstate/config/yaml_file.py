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
from ruamel.yaml.main import CParser
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from kvmstate.config.expressions import ExpressionError
from kvmstate.config.templates import parse_template
from kvmstate.config.limits import (MAX_ALIAS_VALUES, MAX_DEPTH, MAX_NUMBER, MAX_YAML_VALUES, LimitError,
                                     bracket_depth_at, check_depth, in_range, too_deep)
from kvmstate.config.source import Path, RawResource
from kvmstate.diagnostics import Diagnostics, Position


def read_yaml(filename: str, text: str, plurals: dict[str, str],
              diags: Diagnostics) -> list[RawResource] | None:
    """Raw resources of a YAML document; `plurals` maps "networks" to "network". None when the text is not
    YAML, or passes a limit."""
    positions: dict[Path, Position] = {}
    deep = bracket_depth_at(text)
    if deep:
        diags.error("Nested too deeply", too_deep().args[0], Position(filename, *deep))
        return None
    deep = _indented_at(filename, text)
    try:
        # libyaml's parser when it is there and the text is well-formed and not deeply nested (libyaml's
        # composer recurses in C); ruamel's own parser otherwise, and for its messages (10 times slower).
        doc = _FALLBACK if deep else _fast(filename, text, positions)
        if doc is _FALLBACK:
            positions.clear()
            doc = _plain(filename, YAML(typ="rt", pure=True).load(text), (), positions, _Count())
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(filename, mark.line + 1, mark.column + 1) if mark else Position(filename, 1)
        diags.error("Invalid YAML", f"{exc.problem or exc.context}.".capitalize() + _quote_hint(text, mark), pos)
        return None
    except (YAMLError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if "integer string" not in str(exc) else \
            "A number in this file has more than 4,300 digits."
        diags.error("Invalid YAML", detail, Position(filename, 1))
        return None
    except RecursionError:
        diags.error("Nested too deeply", too_deep().args[0], deep or Position(filename, 1))
        return None
    except LimitError as exc:
        diags.error(exc.summary, str(exc), exc.pos or Position(filename, 1))
        return None
    if doc is None:
        return []
    if not isinstance(doc, dict):
        diags.error("Unexpected document", "The top level of a kvmstate YAML file is a mapping of resource types "
                    f"({', '.join(sorted(plurals))}).", Position(filename, 1))
        return None
    plurals = {**plurals, **LANGUAGE_SECTIONS}
    inside: dict[tuple, dict[Path, Position]] = {}
    for path, pos in positions.items():
        if len(path) > 2:
            inside.setdefault(path[:2], {})[path[2:]] = pos
    out: list[RawResource] = []
    for key, section in doc.items():
        kpos = positions[(key,)]
        if key not in plurals:
            diags.error("Unknown section", f"The top-level key {key!r} is not a resource type; expected one of "
                        f"{', '.join(sorted(plurals))}.", kpos)
            continue
        if section is None:
            continue
        if key in REFACTOR_SECTIONS:
            try:
                out.extend(_refactor(key, section, kpos, positions))
            except ExpressionError as exc:
                diags.error("Unsupported expression", str(exc), exc.pos)
            continue
        if not isinstance(section, dict):
            diags.error("Unexpected value", f"`{key}` maps resource names to their attributes.", kpos)
            continue
        for name, body in section.items():
            pos, where = positions[(key, name)], inside.get((key, name), {})
            try:
                body = _expressions(body, (), where, pos)
            except ExpressionError as exc:
                diags.error("Unsupported expression", str(exc), exc.pos)
                continue
            except LimitError as exc:
                diags.error(exc.summary, str(exc), exc.pos or pos)
                continue
            if key == "locals":
                body, where = {"value": body}, {("value",): pos, **{("value", *p): q for p, q in where.items()}}
            out.append(RawResource(plurals[key], str(name), body, pos, where))
    return out


LANGUAGE_SECTIONS = {"variables": "variable", "outputs": "output", "locals": "local", "moved": "moved",
                     "removed": "removed", "import": "import", "backend": "backend"}      # backend: read by kvmstate.config.backend
REFACTOR_SECTIONS = ("moved", "removed", "import")     # lists of blocks


def _refactor(key: str, section: Any, kpos: Position, positions: dict[Path, Position]) -> list[RawResource]:
    """`moved:`, `removed:` and `import:` are lists of blocks; each becomes a raw block named by its position (an
    import's `for_each` and `id` may be expressions)."""
    out = []
    for i, item in enumerate(section if isinstance(section, list) else [section]):
        pos = positions.get((key, i), kpos)
        where = {p[2:]: q for p, q in positions.items() if p[:2] == (key, i) and len(p) > 2}
        out.append(RawResource(key, f"{pos.line}:{pos.column}", _expressions(item, (), where, pos), pos, where))
    return out


def _expressions(node: Any, path: Path, positions: dict[Path, Position], pos: Position) -> Any:
    """The body with every string read as a template: `${...}` parts become expressions."""
    if isinstance(node, dict):
        return {k: _expressions(v, path + (k,), positions, positions.get(path + (k,), pos)) for k, v in node.items()}
    if isinstance(node, list):
        return [_expressions(v, path + (i,), positions, positions.get(path + (i,), pos)) for i, v in enumerate(node)]
    if isinstance(node, str) and ("$" in node or "%{" in node):
        return parse_template(node, pos)
    return node


_FALLBACK = object()


def _quote_hint(text: str, mark: Any) -> str:
    """What to do when a YAML error falls inside an unquoted `${...}`, whose `: ` (a `for` expression, a
    conditional) or braces YAML reads as its own syntax."""
    lines = text.splitlines()
    before = lines[mark.line][:mark.column] if mark is not None and mark.line < len(lines) else ""
    start = before.rfind("${")
    if start < 0 or before.count("{", start) <= before.count("}", start):
        return ""
    return (" The error is inside an expression, whose `: ` or braces YAML reads as its own: quote the whole "
            "value, e.g. key: '${[for x in var.list : upper(x)]}'.")


def _fast(filename: str, text: str, positions: dict[Path, Position]) -> Any:
    """Plain data through libyaml (ruamel.yaml.clib), or _FALLBACK when it is missing or the text has a problem."""
    yaml = YAML(typ="safe", pure=False)
    if yaml.Parser is not CParser or CParser is None or text.startswith("%") or "\n%" in text:
        return _FALLBACK            # no libyaml, or %YAML directives: ruamel's parser handles those
    yaml.Resolver = _Resolver
    try:
        node = yaml.compose(text)
    except YAMLError:
        return _FALLBACK
    if node is None:
        return None
    try:
        return _from_node(filename, node, yaml.constructor, (), positions, _Count())
    except _Duplicate:
        return _FALLBACK


class _Resolver(VersionedResolver):
    """YAML 1.2's resolver, without looking the version up again for every scalar (a third of the load time)."""

    processing_version = (1, 2)


_STR = "tag:yaml.org,2002:str"


class _Duplicate(Exception):
    """A mapping repeats a key: ruamel's own parser reports it."""


class _Count:
    """Values read so far, and those repeated by aliases, within limits.MAX_YAML_VALUES and MAX_ALIAS_VALUES.
    A collection met a second time is an alias: all of it counts again as aliased values."""

    def __init__(self) -> None:
        self.values, self.aliased, self.seen = 0, 0, set()

    def enter(self, node: Any, path: Path, aliased: bool, pos: Any) -> bool:
        """Whether the values under `node` are repeated by an alias."""
        check_depth(len(path), pos)
        self.values += 1
        if self.values > MAX_YAML_VALUES:
            raise LimitError(f"A YAML file may hold at most {MAX_YAML_VALUES:,} values, aliases expanded; split "
                             "it into several files.", pos, "Too many values")
        if isinstance(node, (MappingNode, SequenceNode, dict, list)):
            aliased = aliased or id(node) in self.seen
            self.seen.add(id(node))
        if aliased:
            self.aliased += 1
            if self.aliased > MAX_ALIAS_VALUES:
                raise LimitError(f"Aliases (*name) may repeat at most {MAX_ALIAS_VALUES:,} values in a YAML "
                                 "file; this one repeats more. Write the values out, or use variables.", pos,
                                 "Too many values")
        return aliased


def _from_node(filename: str, node: Node, constructor: Any, path: Path, positions: dict[Path, Position],
               count: _Count, aliased: bool = False) -> Any:
    """Plain Python data from libyaml's nodes, recording the position of every key and item."""
    aliased = count.enter(node, path, aliased, _mark(filename, node))
    if isinstance(node, MappingNode):
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise LimitError("A key must be a plain value such as a name, not a list or a map.",
                                 _mark(filename, key_node), "Unexpected key")
            key = str(constructor.construct_object(key_node, deep=True))
            if key in out:
                raise _Duplicate
            positions[path + (key,)] = _mark(filename, key_node)
            out[key] = _from_node(filename, value_node, constructor, path + (key,), positions, count, aliased)
        return out
    if isinstance(node, SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            positions[path + (i,)] = _mark(filename, item)
            items.append(_from_node(filename, item, constructor, path + (i,), positions, count, aliased))
        return items
    if node.ctag.suffix == _STR and node.ctag.handle is None:
        return node.value
    return _scalar(constructor.construct_object(node, deep=True), _mark(filename, node))


def _mark(filename: str, node: Node) -> Position:
    return Position(filename, node.start_mark.line + 1, node.start_mark.column + 1)


def _key_pos(filename: str, node: CommentedMap, key: Any) -> Position:
    line, col = node.lc.data[key][:2]
    return Position(filename, line + 1, col + 1)


def _plain(filename: str, node: Any, path: Path, positions: dict[Path, Position], count: _Count,
           aliased: bool = False) -> Any:
    """Plain Python data from ruamel's nodes, recording the position of every key and item."""
    aliased = count.enter(node, path, aliased, positions.get(path))
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            if isinstance(key, (list, dict, tuple)):
                raise LimitError("A key must be a plain value such as a name, not a list or a map.",
                                 positions.get(path), "Unexpected key")
            positions[path + (str(key),)] = _key_pos(filename, node, key)
            out[str(key)] = _plain(filename, value, path + (str(key),), positions, count, aliased)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            line, col = node.lc.data[i]
            positions[path + (i,)] = Position(filename, line + 1, col + 1)
            items.append(_plain(filename, value, path + (i,), positions, count, aliased))
        return items
    return _scalar(node, positions.get(path))


def _indented_at(filename: str, text: str) -> Position | None:
    """The first line indented so far that it could nest more deeply than limits.MAX_DEPTH, or None; such
    text goes to ruamel's parser, which stops at Python's recursion limit where libyaml's would crash."""
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) - len(line.lstrip(" -?:")) > 4 * MAX_DEPTH:
            return Position(filename, number, 1)
    return None


def _scalar(node: Any, pos: Position | None) -> Any:
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, (int, float)) and not in_range(node):     # .inf, .nan, 1e400, 400 digits
        raise LimitError(f"{str(node)[:40]} is not a number kvmstate computes with: numbers are finite and at most "
                         f"{MAX_NUMBER:.0e}. Quote it if it is text.", pos, "Number out of range")
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)
