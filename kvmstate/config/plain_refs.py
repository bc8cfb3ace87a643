"""Plain references read without the HCL grammar: the common interpolation, parsed in microseconds.

    var.subnets   each.key   pool.images.path   volume.disk[each.value]   domain.web[0].name
    map(string)   list(map(number))         (a variable's type: calls of one such argument)

Most `${...}` in a configuration are such chains of names, attributes and indexes
(an index being a number or another plain chain). `parse` gives exactly the tree
python-hcl2's grammar would (kvmstate.config.hcl_expr), without loading lark; any
other text (an operator, a call, a keyword, a string) gives None and goes to the
grammar. tests/config/test_plain_refs.py checks the two agree.
"""

from __future__ import annotations

import re

from kvmstate.config.expressions import Call, Expr, Lit, Ref
from kvmstate.diagnostics import Position

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_CHAIN = rf"{_NAME}(?:\.{_NAME})*"
_WHOLE = re.compile(rf"[ \t]*({_NAME}(?:\.{_NAME}|\[(?:{_CHAIN}|[0-9]{{1,18}})\])*)[ \t]*")
_STEP = re.compile(rf"\.({_NAME})|\[({_CHAIN})\]|\[([0-9]+)\]")
_CALL = re.compile(rf"[ \t]*({_NAME})\((.*)\)[ \t]*", re.DOTALL)
_MAX_CALLS = 8            # deeper nesting goes to the grammar, which enforces the depth limit
_KEYWORDS = frozenset({"true", "false", "null", "if", "in", "for", "for_each", "else", "endif", "endfor"})


def parse(text: str, pos: Position, depth: int = 0) -> Ref | Call | None:
    """The reference (or call of one) `text` writes, every node at `pos`; None when it is anything else."""
    call = _CALL.fullmatch(text)
    if call is not None:
        arg = parse(call.group(2), pos, depth + 1) if depth < _MAX_CALLS else None
        return None if arg is None or call.group(1) in _KEYWORDS else Call(pos, call.group(1), [arg])
    whole = _WHOLE.fullmatch(text)
    if whole is None:
        return None
    chain = whole.group(1)
    root = re.match(_NAME, chain).group(0)
    steps: list[str | Expr] = []
    for step in _STEP.finditer(chain, len(root)):
        name, index, number = step.groups()
        if name is not None:
            steps.append(name)
        elif index is not None:
            inner = index.split(".")
            if _KEYWORDS.intersection(inner):
                return None
            steps.append(Ref(pos, inner[0], inner[1:]))
        else:
            steps.append(Lit(pos, int(number)))
    if root in _KEYWORDS or _KEYWORDS.intersection(s for s in steps if isinstance(s, str)):
        return None
    return Ref(pos, root, steps)
