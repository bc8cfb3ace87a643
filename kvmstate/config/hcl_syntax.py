"""Syntax errors in HCL text, said the way a user can act on them.

The parser stops at the first token it cannot use, which is often later than the
mistake: in `vcpu = 2 +` followed by a new line the next line's first token is
"unexpected", though the value after `+` is what is missing. `syntax_error`
points at an operator that ends a line, and says what the parser expected.
"""

from __future__ import annotations

import re

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

_OPERATOR = re.compile(r"(&&|\|\||==|!=|<=|>=|[-+*/%<>!?:=])\s*$")
_VALUE = {"INT_LITERAL", "FLOAT_LITERAL", "DBLQUOTE", "TEMPLATE_STRING", "HEREDOC_TEMPLATE", "LSQB", "LBRACE",
          "LPAR", "MINUS", "NOT"}
_CLOSING = {"RBRACE": "'}'", "RSQB": "']'", "RPAR": "')'", "COMMA": "','", "EQ": "'='", "COLON": "':'"}
_UNCLOSED = "The file ends in the middle of a block or expression; check for a missing closing brace."


def syntax_error(text: str, exc: UnexpectedInput) -> tuple[int, int, str]:
    """(line, column, detail) of a parse error."""
    line, column = exc.line if exc.line and exc.line > 0 else 1, exc.column if exc.column and exc.column > 0 else 1
    if isinstance(exc, UnexpectedEOF) or isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return line, column, _UNCLOSED
    lines = text.splitlines()
    previous = next((i for i in range(line - 2, -1, -1) if _code(lines[i]).strip()), None)
    if previous is not None:
        op = _OPERATOR.search(_code(lines[previous]))
        if op and op.group(1) != "=":
            return previous + 1, op.start(1) + 1, (
                f"The expression ends with {op.group(1)!r} at the end of line {previous + 1}: a value must follow "
                "an operator on the same line.")
    if isinstance(exc, UnexpectedCharacters):
        return line, column, f"Unexpected character {exc.char!r}{_expected(exc.allowed)}."
    assert isinstance(exc, UnexpectedToken)
    token = str(exc.token.value)
    if token[:1] == "\n" or not token.strip():
        return line, column, "Unexpected end of line: a value is missing."
    return line, column, f"Unexpected {token.strip().splitlines()[0][:40]!r}{_expected(exc.expected)}."


def _code(line: str) -> str:
    """A line without a trailing `#` or `//` comment (quotes are not considered: this only guides a message)."""
    return re.split(r"#|//", line, maxsplit=1)[0]


def _expected(tokens: set[str] | None) -> str:
    tokens = set(tokens or ())
    wanted = []
    if tokens & _VALUE:
        wanted.append("a value (a number, a string, a reference, a list, an object or a function call)")
    wanted.extend(text for name, text in _CLOSING.items() if name in tokens)
    if "NL_OR_COMMENT" in tokens:
        wanted.append("the end of the line")
    return f"; expected {' or '.join(wanted)}" if wanted else ""
