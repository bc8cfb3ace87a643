"""The grammar-free reader of plain references gives exactly the HCL grammar's tree, or declines."""

from __future__ import annotations

import hcl2
import pytest
from lark import Tree

from kvmstate.config import plain_refs
from kvmstate.config.hcl_expr import build
from kvmstate.diagnostics import Position

POS = Position("main.yaml", 7, 3)


def by_grammar(text: str):
    tree = hcl2.parses_to_tree(f"x = {text}\n")
    attrs = [c for c in tree.children[0].children if isinstance(c, Tree) and c.data == "attribute"]
    return build(attrs[0].children[-1], lambda _node: POS)


@pytest.mark.parametrize("text", [
    "var.x", " each.key ", "\teach.value", "pool.images.path", "volume.disk[each.value]", "domain.web[0].name",
    "a-b.c-d", "count.index-1", "x[0][1]", "x[y.z].w[3]", "local.a_b", "_x", "var.x[007]", "network.lan[each.key]",
    "map(string)", "list(map(number))", " map(string) ", "map( string )", "lower(var.name)", "f(x[0].y)", "f(x)",
])
def test_plain_reference_is_the_grammars_tree(text):
    assert plain_refs.parse(text, POS) == by_grammar(text)


@pytest.mark.parametrize("text", [
    "true", "null", "var.true", "x.null", "x[true]", "x.for", "for_each.x", "1", "x + 1", "x[*]", "x.*",
    '"s"', "x[-1]", "x.0", "x[y[0]]", "x[\n0]", "a ? b : c", "",
    "f()", "f(a)(b)", "f(a, b)", "for(x)", "map(true)", "f(g(h(i(j(k(l(m(n(o(x))))))))))", "object({a = string})",
])
def test_anything_else_goes_to_the_grammar(text):
    assert plain_refs.parse(text, POS) is None
