"""Expressions with Terraform's semantics: each written as HCL text and as a YAML interpolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmstate.config.evaluate import EvalError, Scope, evaluate
from kvmstate.config.expressions import ExpressionError
from kvmstate.config.templates import parse_template, parse_text
from kvmstate.diagnostics import Position

POS = Position("t.hcl", 3, 7)
VARS = {"n": 3, "names": ["a", "b", "c"], "m": {"x": 1, "y": 2}, "on": True, "none": None,
        "vms": [{"name": "web", "group": "front"}, {"name": "db", "group": "back"}, {"name": "api", "group": "front"}]}


def ev(text: str) -> object:
    return evaluate(parse_text(text, POS), Scope(Path("."), dict(VARS)))


def template(text: str) -> object:
    return evaluate(parse_template(text, POS), Scope(Path("."), dict(VARS)))


VALUES = [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 / 2", 3.5), ("6 / 2", 3), ("-7 % 3", -1), ("7 % -3", 1),
    ("2 - -1", 3), ('"3" + 1', 4), ("1.5 * 2", 3), ("var.n > 2", True), ("var.n <= 2", False),
    ("1 == 1.0", True), ('1 == "1"', False), ("true == 1", False), ("[1, 2] == [1, 2]", True),
    ('{a = 1} != {a = 2}', True), ("null == null", True), ("var.none == null", True),
    ("true && false", False), ("false || true", True), ("!var.on", False),
    ("false && var.nope.x", False), ("true || var.nope.x", True),           # && and || stop early
    ("var.on ? 4096 : 1024", 4096), ("var.n > 5 ? \"big\" : \"small\"", "small"),
    ("!var.on ? var.nope : 1", 1),                                      # only the chosen side is evaluated
    ("[for s in var.names : upper(s)]", ["A", "B", "C"]),
    ("[for i, s in var.names : \"${i}=${s}\" if i != 1]", ["0=a", "2=c"]),
    ("{for k, v in var.m : k => v * 10}", {"x": 10, "y": 20}),
    ("[for k, v in var.m : k]", ["x", "y"]),
    ("{for vm in var.vms : vm.group => vm.name...}", {"front": ["web", "api"], "back": ["db"]}),
    ("{for s in var.names : s => true if s != \"b\"}", {"a": True, "c": True}),
    ("var.vms[*].name", ["web", "db", "api"]), ("var.vms.*.name", ["web", "db", "api"]),
    ("var.none[*]", []), ("var.m[*]", [{"x": 1, "y": 2}]),
    ("[for s in var.names : s][1]", "b"), ("{a = {b = [5, 6]}}.a.b[1]", 6), ("var.m[\"y\"]", 2),
    ("var.names[\"1\"]", "b"), ("upper(\"x\")", "X"), ("max(var.names...) ", None),
    ("min([4, 2, 8]...)", 2), ("{(\"k${1}\") = 1}", {"k1": 1}),
    ("try(var.m.z, var.m.x)", 1), ("try(var.nope, \"d\")", "d"), ("can(var.m.z)", False), ("can(var.m.x)", True),
    ("length([for x in range(5) : x if x % 2 == 0])", 3),
]


@pytest.mark.parametrize("text,want", VALUES, ids=[v[0] for v in VALUES])
def test_value(text: str, want: object) -> None:
    if text.startswith("max(var.names"):
        with pytest.raises(EvalError, match="argument 1 must be a number, not a string 'a'"):
            ev(text)
        return
    assert ev(text) == want
    assert template("${" + text + "}") == want                # the YAML form gives the same value


TEMPLATES = [
    ("%{ if var.on }yes%{ else }no%{ endif }", "yes"),
    ("%{ if !var.on }yes%{ endif }", ""),
    ("%{ for s in var.names }[${s}]%{ endfor }", "[a][b][c]"),
    ("%{ for i, s in var.names }${i}${s} %{ endfor }", "0a 1b 2c "),
    ("a\n  %{~ if var.on ~}\n  b\n  %{~ endif ~}\n  c", "abc"),
    ("$${x} %%{y}", "${x} %{y}"),
    ("n=${var.n}, ${var.on}", "n=3, true"),
]


@pytest.mark.parametrize("text,want", TEMPLATES, ids=[t[0] for t in TEMPLATES])
def test_template(text: str, want: str) -> None:
    assert template(text) == want
    assert ev('"' + text.replace("\n", "\\n") + '"') == want     # the HCL string form


ERRORS = [
    ('"a" + 1', "Invalid operand", "the left operand of + must be a number, not a string 'a'"),
    ("1 / 0", "Invalid operand", "cannot divide by zero"),
    ("1 < true", "Invalid operand", "the right operand of < must be a number, not a bool"),
    ('1 && true', "Invalid operand", "the left operand of && must be true or false, not a number 1"),
    ("var.n ? 1 : 2", "Invalid condition", "The condition of ? : must be true or false, not a number 3"),
    ("[for x in var.n : x]", "Iteration over non-iterable value", "not a number 3"),
    ("[for x in var.none : x]", "Iteration over non-iterable value", "not null"),
    ("{for vm in var.vms : vm.group => vm.name}", "Duplicate object key", "Add `...`"),
    ("{for s in var.names : null => s}", "Invalid object key", "not null"),
    ("var.none.x", "Attempt to get attribute from null value", "the value is null"),
    ("var.names[5]", "Invalid index", "index 5 is out of range; the list has 3 items"),
    ("var.m[\"q\"]", "Invalid index", "the map has no key 'q' (keys: x, y)"),
    ("uppr(\"a\")", "Unknown function", "Did you mean upper()?"),
    ("formatlst(\"a\")", "Unknown function", "Did you mean formatlist()?"),
    ("try(var.m.z, var.m.q)", "Invalid function call", "none of its 2 arguments"),
    ("can(1, 2)", "Invalid function call", "can() takes one argument"),
    ('"a${var.none}"', "Invalid template interpolation value", "null value cannot be written"),
    ('"a${var.names}"', "Invalid template interpolation value", "not a list; use jsonencode()"),
    ("%{ if 1 }x%{ endif }", "Invalid condition", "The condition of %{ if } must be true or false"),
    ("lenght([])", "Unknown function", "Did you mean length()?"),
    ("x.y", "Unknown reference", "'x' is neither var, local"),
    ("10000000000000000000000000000000000000000000000000 * 1e300", "Invalid operand", "larger than"),
    ("max(var.names...)", "Invalid function call", "max(): argument 1 must be a number"),
    ("min(var.n...)", "Invalid expanding argument", "must be a list, not a number"),
]


@pytest.mark.parametrize("text,summary,detail", ERRORS, ids=[e[0] for e in ERRORS])
def test_error(text: str, summary: str, detail: str) -> None:
    with pytest.raises(EvalError) as exc:
        ev(text) if not text.startswith("%{") else template(text)
    assert exc.value.summary == summary
    assert detail in exc.value.detail, exc.value.detail
    assert exc.value.pos == POS


SYNTAX = [
    ("%{ if true }x", "has no %{ endif }"), ("x%{ endif }", "has no opening directive"),
    ("%{ for x in [1] }x", "has no %{ endfor }"), ("%{ while x }", "is not a directive"),
    ("%{ if }x%{ endif }", "needs a condition"), ("${1 +}", "is not a valid expression"),
    ("${ unclosed", "has no closing"),
]


@pytest.mark.parametrize("text,detail", SYNTAX, ids=[s[0] for s in SYNTAX])
def test_template_syntax(text: str, detail: str) -> None:
    with pytest.raises(ExpressionError, match=detail.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")
                       .replace("+", r"\+")):
        parse_template(text, POS)
