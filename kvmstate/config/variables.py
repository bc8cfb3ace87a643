"""Input variables: declarations, types, and values from their sources in order of precedence.

    variable "vm_count" {            variables:
      type    = number                 vm_count:
      default = 2                        type: number
    }                                    default: 2

Types: string, number, bool, any, list(T), map(T), object({name = T, ...}).
Values, lowest to highest precedence: the default, the environment
(KVMSTATE_VAR_name), var files in the order given (--var-file; YAML, JSON or
HCL `name = value` lines), then --var name=value in the order given. Text from
the environment or --var is read as the type asks: "3" is a number for a number
variable, and lists, maps and objects are written as HCL, e.g. ["a", "b"].
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kvmstate.config.evaluate import EvalError, Scope, evaluate
from kvmstate.config.expressions import Call, Expr, ExpressionError, ObjectExpr, Ref, contains_expr
from kvmstate.config.hcl_expr import build
from kvmstate.config.templates import parse_text
from kvmstate.config.functions import type_name
from kvmstate.config import validation
from kvmstate.config.inputs import Inputs
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position

ENV_PREFIX = "KVMSTATE_VAR_"
KEYS = ("type", "default", "description", "sensitive", "nullable", "validation")


@dataclass(frozen=True)
class VarType:
    kind: str                                   # string, number, bool, any, list, map, object
    element: "VarType | None" = None
    fields: tuple[tuple[str, "VarType"], ...] = ()
    optional: bool = False                      # an object attribute written optional(TYPE[, DEFAULT])
    default: Any = None

    def __str__(self) -> str:
        if self.optional:
            return f"optional({self.plain()}{'' if self.default is None else ', ' + repr(self.default)})"
        return self.plain()

    def plain(self) -> str:
        if self.kind in ("list", "map"):
            return f"{self.kind}({self.element})"
        if self.kind == "object":
            return "object({" + ", ".join(f"{k} = {t}" for k, t in self.fields) + "})"
        return self.kind


ANY = VarType("any")


@dataclass
class Variable:
    name: str
    type: VarType
    raw: RawResource
    description: str = ""
    sensitive: bool = False
    nullable: bool = True
    validations: list[Any] = field(default_factory=list)     # the `validation` blocks as written


def parse_type(expr: Any, pos: Position) -> VarType:
    if isinstance(expr, str):
        expr = parse_text(expr, pos)
    if isinstance(expr, Ref) and not expr.steps and expr.root in ("string", "number", "bool", "any"):
        return VarType(expr.root)
    if isinstance(expr, Call) and expr.name in ("list", "set", "map") and len(expr.args) == 1:
        return VarType("map" if expr.name == "map" else "list", parse_type(expr.args[0], pos))
    if isinstance(expr, Call) and expr.name == "object" and len(expr.args) == 1 and isinstance(expr.args[0], ObjectExpr):
        return VarType("object", fields=tuple((str(k), _field_type(v, pos)) for k, _, v in expr.args[0].items))
    raise ExpressionError("A type is string, number, bool, any, list(TYPE), map(TYPE) or object({NAME = TYPE, ...}); "
                          "an object's attribute may be optional(TYPE) or optional(TYPE, DEFAULT).",
                          getattr(expr, "pos", pos))


def _field_type(expr: Any, pos: Position) -> VarType:
    if isinstance(expr, Call) and expr.name == "optional" and len(expr.args) in (1, 2):
        inner = parse_type(expr.args[0], pos)
        default = None
        if len(expr.args) == 2:
            try:
                default = convert(evaluate(expr.args[1], Scope(Path("."))), inner)
            except (EvalError, ValueError) as exc:
                raise ExpressionError(f"The default of optional({inner}) is not a {inner}: {exc}", expr.pos) from None
        return VarType(inner.kind, inner.element, inner.fields, True, default)
    return parse_type(expr, pos)


def convert(value: Any, vtype: VarType, text: bool = False) -> Any:
    """The value as the type wants it; `text` values (environment, --var) may be parsed. Raises ValueError."""
    kind = vtype.kind
    if text and kind in ("list", "map", "object"):
        value = _literal(value)
    if kind == "any" or value is None:
        return value
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
    elif kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            for parse in (int, float):
                try:
                    return parse(value.strip())
                except ValueError:
                    pass
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
    elif kind == "list" and isinstance(value, list):
        return [convert(v, vtype.element or ANY) for v in value]
    elif kind == "map" and isinstance(value, dict):
        return {str(k): convert(v, vtype.element or ANY) for k, v in value.items()}
    elif kind == "object" and isinstance(value, dict):
        names = dict(vtype.fields)
        value = {**{k: t.default for k, t in vtype.fields if t.optional and k not in value}, **value}
        missing = [k for k in names if k not in value]
        extra = [k for k in value if k not in names]
        if missing or extra:
            raise ValueError(f"the object {'lacks ' + ', '.join(missing) if missing else 'has unknown keys ' + ', '.join(extra)}")
        return {k: convert(value[k], t) for k, t in vtype.fields}
    raise ValueError(f"{type_name(value)} is not a {vtype}" if kind != "list" else f"{type_name(value)} is not a list")


def _literal(text: str) -> Any:
    try:
        return evaluate(parse_text(text, Position("-", 1)), Scope(Path(".")))
    except (ExpressionError, EvalError):
        raise ValueError(f"{text!r} is not a literal value written as HCL, such as [\"a\", \"b\"] or {{ a = 1 }}") from None


def declare(raws: list[RawResource], diags: Diagnostics) -> dict[str, Variable]:
    out: dict[str, Variable] = {}
    for raw in raws:
        body = raw.body if isinstance(raw.body, dict) else {}
        if raw.name in out:
            diags.error("Duplicate variable", f"var.{raw.name} is declared twice: here and at "
                        f"{out[raw.name].raw.position}.", raw.position, f"var.{raw.name}")
            continue
        bad = [k for k in body if k not in KEYS]
        for key in bad:
            diags.error("Unknown attribute", f'A variable has no attribute "{key}"; it takes {", ".join(KEYS)}.',
                        raw.position_of((key,)), f"var.{raw.name}", key)
        try:
            vtype = parse_type(body["type"], raw.position_of(("type",))) if "type" in body else ANY
        except ExpressionError as exc:
            diags.error("Invalid type", str(exc), exc.pos, f"var.{raw.name}", "type")
            continue
        if not isinstance(body.get("description", ""), str) or not isinstance(body.get("sensitive", False), bool) \
                or not isinstance(body.get("nullable", True), bool):
            diags.error("Invalid value", "`description` is a string; `sensitive` and `nullable` are true or false.",
                        raw.position, f"var.{raw.name}")
            continue
        rules = validation.declare(raw, diags)
        if rules is None:
            continue
        if contains_expr(body.get("default")):
            diags.error("Invalid default", "A default must be a literal value; it cannot refer to anything.",
                        raw.position_of(("default",)), f"var.{raw.name}", "default")
            continue
        if not bad:
            out[raw.name] = Variable(raw.name, vtype, raw, body.get("description", ""), body.get("sensitive", False),
                                     body.get("nullable", True), rules)
    return out


def values(declared: dict[str, Variable], inputs: Inputs, diags: Diagnostics) -> dict[str, Any]:
    """Each variable's value from the highest-precedence source that sets it."""
    found: Found = {}
    for key, text in sorted(inputs.env.items()):
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):] in declared:
            found[key[len(ENV_PREFIX):]] = (text, f"the environment variable {key}", True, None)
    for path in inputs.var_files:
        for name, (value, pos) in _read_file(path, diags).items():
            if name not in declared:
                diags.error("Undeclared variable", f"{path} sets {name!r}, which no variable block declares.", pos)
                continue
            found[name] = (value, f"{pos}", False, pos)
    for item in inputs.vars:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or name not in declared:
            diags.error("Invalid --var" if not sep else "Undeclared variable",
                        f"--var {item!r}: expected NAME=VALUE." if not sep else
                        f"--var {item!r} sets {name!r}, which is not declared; declared: "
                        f"{', '.join(sorted(declared)) or 'none'}.")
            continue
        found[name] = (text, f"--var {item!r}", True, None)
    return resolve(declared, found, diags, lambda var: (
        f"var.{var.name} has no default and no value was given: pass --var {var.name}=VALUE, a --var-file, or set "
        f"{ENV_PREFIX}{var.name}.", var.raw.position, f"var.{var.name}"))


Found = dict[str, tuple[Any, str, bool, "Position | None"]]     # name -> value, source, is text, position
Missing = Callable[[Variable], tuple[str, Position, str]]        # a variable -> detail, position, address


def resolve(declared: dict[str, Variable], found: Found, diags: Diagnostics, missing: Missing) -> dict[str, Any]:
    """Each variable's value from `found`, converted to its type, null where allowed and validated; `missing`
    says where to report a required variable without a value (the root's and a module call's differ)."""
    found = dict(found)
    for name, var in declared.items():
        if name not in found and "default" in var.raw.body:
            found[name] = (var.raw.body["default"], "its default", False, var.raw.position_of(("default",)))
    out: dict[str, Any] = {}
    for name, var in declared.items():
        if name not in found:
            detail, pos, where = missing(var)
            diags.error("No value for required variable", detail, pos, where)
            continue
        value, source, text, pos = found[name]
        if value is None and not var.nullable:
            default = var.raw.body.get("default")
            if default is None:
                diags.error("Invalid value for variable", f"var.{name} from {source} is null, and the variable is "
                            "declared `nullable = false`; give it a value.", pos or var.raw.position, f"var.{name}")
                continue
            value, text = default, False            # a null value for a non-nullable variable takes its default
        try:
            out[name] = convert(value, var.type, text)
        except ValueError as exc:
            diags.error("Invalid value for variable", f"var.{name} from {source}: {exc}.", pos or var.raw.position,
                        f"var.{name}")
            continue
        found[name] = (out[name], source, False, pos)
    validation.check(declared, out, {n: (f[1], f[3]) for n, f in found.items()}, diags)
    return out


def _read_file(path: Path, diags: Diagnostics) -> dict[str, tuple[Any, Position]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diags.error("Cannot read var file", f"{path}: {exc}.", Position(str(path), 1))
        return {}
    if path.suffix in (".yaml", ".yml", ".json"):
        try:
            doc = json.loads(text) if path.suffix == ".json" else YAML(typ="rt", pure=True).load(text)
        except (YAMLError, ValueError) as exc:
            diags.error("Invalid var file", str(exc).splitlines()[0], Position(str(path), 1))
            return {}
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            diags.error("Invalid var file", "A var file maps variable names to values.", Position(str(path), 1))
            return {}
        lc = getattr(doc, "lc", None)
        return {str(k): (_plain(v), Position(str(path), lc.data[k][0] + 1, lc.data[k][1] + 1) if lc else
                         Position(str(path), 1)) for k, v in doc.items()}
    import hcl2                         # python-hcl2 and lark load only for HCL var files
    from lark import Tree
    from lark.exceptions import LarkError
    try:
        tree = hcl2.parses_to_tree(text if text.endswith("\n") else text + "\n")
    except (LarkError, ValueError) as exc:
        diags.error("Invalid var file", "The file is neither YAML, JSON nor HCL `name = value` lines.",
                    Position(str(path), getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1))
        return {}
    out = {}
    pos_of = lambda node: Position(str(path), getattr(node, "line", None) or getattr(node.meta, "line", 1) or 1,
                                   getattr(node, "column", None) or getattr(node.meta, "column", 1) or 1)
    for node in tree.children[0].children:
        if not isinstance(node, Tree) or node.data != "attribute":
            continue
        try:
            expr: Expr = build(node.children[-1], pos_of)
            out[str(node.children[0].children[0])] = (evaluate(expr, Scope(path.parent)), pos_of(node))
        except (ExpressionError, EvalError) as exc:
            diags.error("Invalid var file", f"A var file holds literal values only: {exc}", exc.pos)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float)) or value is None:
        return value.__class__(value) if value is not None else None
    return str(value)
