"""format(): Terraform's verbs, flags, width, precision and argument indexes, and its errors."""

from __future__ import annotations

import pytest

from kvmstate.config.limits import MAX_STRING, LimitError
from kvmstate.config.printf import FormatError, sprintf

CASES = [
    ("%02d", [3], "03"), ("%5d|", [42], "   42|"), ("%-5d|", [42], "42   |"), ("%+d", [3], "+3"), ("% d", [3], " 3"),
    ("%05d", [-42], "-0042"), ("%.3d", [7], "007"), ("%d", [3.0], "3"),
    ("%x", [255], "ff"), ("%X", [255], "FF"), ("%#x", [255], "0xff"), ("%o", [8], "10"), ("%#o", [8], "010"),
    ("%02x", [10], "0a"), ("52:54:00:00:00:%02X", [171], "52:54:00:00:00:AB"), ("%05e", [float("inf")], "  inf"),
    ("%b", [5], "101"), ("%08b", [5], "00000101"),
    ("%f", [3.14159], "3.141590"), ("%.2f", [3.14159], "3.14"), ("%08.3f", [-3.5], "-003.500"), ("%+.1f", [2], "+2.0"),
    ("%e", [123456.0], "1.234560e+05"), ("%.2E", [0.000123], "1.23E-04"),
    ("%g", [1234567.0], "1.234567e+06"), ("%g", [0.1], "0.1"), ("%g", [100000.0], "100000"), ("%.3g", [3.14159], "3.14"),
    ("%s", ["web"], "web"), ("%s", [3.0], "3"), ("%s", [True], "true"), ("%5s|", ["ab"], "   ab|"), ("%-5s|", ["ab"], "ab   |"),
    ("%.2s", ["abc"], "ab"), ("%q", ['a"b'], '"a\\"b"'), ("%v", [[1, 2]], "[1, 2]"), ("%#v", [{"a": 1}], '{"a":1}'),
    ("%v", ["x"], "x"), ("%t", [False], "false"),
    ("%%", [], "%"), ("100%%", [], "100%"), ("%[2]d-%[1]d", [1, 2], "2-1"), ("%[1]s-%[1]s", ["a"], "a-a"),
    ("%[2]d %d", [1, 2, 3], "2 3"), ("web-%02d.%s", [7, "lab"], "web-07.lab"),
]


@pytest.mark.parametrize("spec,args,expected", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_format(spec: str, args: list, expected: str) -> None:
    assert sprintf(spec, args) == expected


@pytest.mark.parametrize("spec,args,message", [
    ("%y", [1], "the verb '%y' (character 1) is not a verb format knows"),
    ("a %", [1], "the verb '%' (character 3) is not a verb"),
    ("%d %d", [1], "the verb '%d' (character 4) needs argument 2, but only 1 were given"),
    ("%d", [1, 2], "uses 1 of the 2 arguments given"),
    ("%d", ["x"], "needs a whole number, not a string"),
    ("%d", [1.5], "needs a whole number, not a number"),
    ("%f", ["x"], "needs a number, not a string"),
    ("%s", [[1]], "needs a string, number or bool, not a list"),
    ("%t", [1], "needs a bool, not a number"),
    ("%[3]d", [1], "needs argument 3, but only 1 were given"),
])
def test_format_errors(spec: str, args: list, message: str) -> None:
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        sprintf(spec, args)


@pytest.mark.parametrize("spec,args", [("%999999999d", [1]), ("%.999999999f", [1.0]), ("%1048576d%1048576d", [1, 2]),
                                       ("%99999999999999999999999s", ["x"])])
def test_format_cannot_make_huge_strings(spec: str, args: list) -> None:
    with pytest.raises(LimitError, match=f"{MAX_STRING:,}"):
        sprintf(spec, args)
