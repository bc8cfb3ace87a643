"""Every function: a value it gives and an error it reports, the way Terraform's do."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmstate.config.evaluate import EvalError, Scope, evaluate
from kvmstate.config.functions import library
from kvmstate.config.templates import parse_text
from kvmstate.diagnostics import Position


def ev(text: str, base: Path = Path(".")) -> object:
    return evaluate(parse_text(text, Position("t.hcl", 1, 1)), Scope(base))


VALUES = [
    ('format("web-%02d", 3)', "web-03"), ('formatlist("%s-%d", ["a", "b"], 1)', ["a-1", "b-1"]),
    ('join(",", ["a", 1, true])', "a,1,true"), ('join("-", ["a"], ["b"])', "a-b"), ('split(",", "a,b")', ["a", "b"]),
    ('replace("a-b-c", "-", "_")', "a_b_c"), ('replace("web01", "/(\\\\d+)/", "<$1>")', "web<01>"),
    ('regex("(\\\\d+)\\\\.(\\\\d+)", "v1.22")', ["1", "22"]), ('regex("(?P<major>\\\\d+)", "v10")', {"major": "10"}),
    ('regex("[a-z]+", "123abc")', "abc"), ('regexall("\\\\d", "a1b2")', ["1", "2"]),
    ('lower("AbC")', "abc"), ('upper("abc")', "ABC"), ('title("web server")', "Web Server"),
    ('trimspace("  x \\n")', "x"), ('trim("--x--", "-")', "x"), ('trimprefix("web-1", "web-")', "1"),
    ('trimsuffix("a.qcow2", ".qcow2")', "a"), ('substr("hello", 1, 3)', "ell"), ('substr("hello", -3, -1)', "llo"),
    ('startswith("web", "w")', True), ('endswith("web", "x")', False), ('chomp("x\\n")', "x"),
    ('indent(2, "a\\nb")', "a\n  b"), ('strrev("abc")', "cba"),
    ('toset(["b", "a", "b"])', ["a", "b"]), ("tolist([1])", [1]), ("tomap({a = 1})", {"a": 1}),
    ("tostring(1)", "1"), ('tonumber("42")', 42), ('tobool("true")', True), ("tostring(null)", None),
    ("length([1, 2])", 2), ('length({a = 1})', 1), ('length("abc")', 3), ("concat([1], [2, 3])", [1, 2, 3]),
    ("merge({a = 1, b = 1}, {b = 2})", {"a": 1, "b": 2}), ("flatten([[1, [2]], 3])", [1, 2, 3]),
    ("keys({b = 1, a = 2})", ["a", "b"]), ("values({b = 1, a = 2})", [2, 1]), ('lookup({a = 1}, "b", 0)', 0),
    ('contains(["a"], "a")', True), ("contains([1], \"1\")", False), ("distinct([1, 1.0, true, 1])", [1, True]),
    ("range(3)", [0, 1, 2]), ("range(1, 4)", [1, 2, 3]), ("range(10, 0, -5)", [10, 5]), ("range(0, 1, 0.5)", [0, 0.5]),
    ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}), ('setproduct(["a"], [1, 2])', [["a", 1], ["a", 2]]),
    ("element([1, 2, 3], 4)", 2), ("slice([1, 2, 3], 1, 3)", [2, 3]), ('sort(["b", "a", 10])', ["10", "a", "b"]),
    ("reverse([1, 2])", [2, 1]), ('index(["a", "b"], "b")', 1), ('coalesce(null, "", "x")', "x"),
    ("coalescelist([], [1])", [1]), ('compact(["a", "", null])', ["a"]), ("one([])", None), ("one([5])", 5),
    ("alltrue([true, \"true\"])", True), ("anytrue([])", False), ("sum([1, 2.5])", 3.5),
    ("chunklist([1, 2, 3], 2)", [[1, 2], [3]]),
    ("min(3, 1, 2)", 1), ("max([1, 5]...)", 5), ("ceil(1.2)", 2), ("floor(-1.2)", -2), ("abs(-3)", 3),
    ("signum(-2)", -1), ("pow(2, 10)", 1024), ('parseint("ff", 16)', 255), ("log(8, 2)", 3),
    ('parsesize("1GiB")', 1024 ** 3), ('parsesize("512 MiB")', 512 * 1024 ** 2),
    ('jsonencode({b = [1, true], a = null})', '{"a":null,"b":[1,true]}'), ('jsondecode("[1, {\\"a\\": 2}]")', [1, {"a": 2}]),
    ('yamlencode({a = [1, "x"]})', "a:\n- 1\n- x\n"), ('base64encode("kvm")', "a3Zt"), ('base64decode("a3Zt")', "kvm"),
    ('sha256("")', "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ('sha1("")', "da39a3ee5e6b4b0d3255bfef95601890afd80709"), ('md5("")', "d41d8cd98f00b204e9800998ecf8427e"),
    ('uuidv5("dns", "web.lab")', "2f2b59d4-3e57-5f75-9a1d-6e0e8d0fbd4b"),
    ('cidrhost("10.0.0.0/24", 10)', "10.0.0.10"), ('cidrhost("10.0.0.0/24", -1)', "10.0.0.255"),
    ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"), ('cidrsubnet("fd00::/48", 16, 1)', "fd00:0:0:1::/64"),
    ('cidrsubnets("10.0.0.0/16", 8, 4, 8)', ["10.0.0.0/24", "10.0.16.0/20", "10.0.32.0/24"]),
    ('cidrnetmask("10.0.0.0/20")', "255.255.240.0"),
    ('fileexists("nope")', False), ('file("f.txt")', "hello ${x}\n"), ('fileexists("f.txt")', True),
    ('templatefile("t.j2", {name = "web"})', "host web\n"),
]


@pytest.mark.parametrize("text,want", VALUES, ids=[v[0] for v in VALUES])
def test_value(text: str, want: object, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("hello ${x}\n")
    (tmp_path / "t.j2").write_text("host {{ name }}\n")
    if text.startswith("uuidv5"):
        import uuid
        want = str(uuid.uuid5(uuid.NAMESPACE_DNS, "web.lab"))
    assert ev(text, tmp_path) == want


ERRORS = [
    ('format("%d", "x")', "format(): the verb '%d'"), ('formatlist("%s", ["a"], ["b", "c"])', "different lengths"),
    ('join(",", "a")', "must be a list, not a string"), ('regex("[", "x")', "not a valid regular expression"),
    ('regex("b", "aaa")', "does not match"), ('replace("a", "/(/", "x")', "not a valid regular expression"),
    ('substr("abc", 5, 1)', "beyond the end"), ("length(1)", "a list, a map or a string, not a number"),
    ("concat([1], 2)", "argument 2 must be a list"), ("merge({a = 1}, [1])", "argument 2 must be a map"),
    ('lookup({a = 1}, "b")', "has no key 'b'"), ("range(0)", None), ("range(1, 2, 0)", "the step must not be 0"),
    ("range(0, 10, -1)", "never goes from 0 to 10"), ("range(2000000)", "more than 1,048,576 items"),
    ('zipmap(["a"], [])', "1 keys and 0 values"), ("setproduct(range(1100), range(1100))", "more than 1,048,576"),
    ("element([], 0)", "empty list"), ("slice([1], 0, 2)", "outside a list of 1 items"),
    ("index([1], 2)", "does not hold 2"), ("coalesce(null, \"\")", "every argument is null"),
    ("one([1, 2])", "the list has 2 items"), ("sum([])", "empty list"), ('tonumber("x")', "must be a number"), ("min()", "takes at least one number"),
    ('tobool("yes")', "cannot convert a string 'yes' to a bool"),
    ("pow(10, 2000)", "between -1024 and 1024"), ('parseint("zz", 10)', "not a whole number in base 10"),
    ('parsesize("lots")', "'lots' is not a size"), ('parsesize(true)', "not a boolean"),
    ('jsondecode("{")', "not valid JSON"), ('base64decode("%%")', "not valid base64"),
    ('uuidv5("nope", "x")', "neither dns, url, oid, x500 nor a UUID"),
    ('cidrhost("10.0.0.0/24", 256)', "outside 10.0.0.0/24"), ('cidrsubnet("10.0.0.0/24", 9, 0)', "no room"),
    ('cidrsubnet("10.0.0.0/24", 2, 4)', "does not fit in 2 bits"), ('cidrnetmask("fd00::/64")', "IPv6"),
    ('cidrsubnets("10.0.0.0/24", 1, 1, 1)', "no room left for subnet 3"), ('file("nope")', "cannot read"),
    ('templatefile("t.j2", {})', "'name' is undefined"), ('upper([])', "must be a string, not a list"),
    ('formatlist("%999999d", range(9999))', "formatlist() would make more than 1,048,576 characters"),
    ('regex("(a+)+$", "' + "a" * 40 + 'b")', None),
]


@pytest.mark.parametrize("text,detail", ERRORS, ids=[e[0][:60] for e in ERRORS])
def test_error(text: str, detail: str | None, tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("host {{ name }}\n")
    if detail is None:              # not an error in Terraform either, or bounded in time: it must just end
        try:
            ev(text, tmp_path)
        except EvalError:
            pass
        return
    with pytest.raises(EvalError) as exc:
        ev(text, tmp_path)
    assert detail in exc.value.detail, exc.value.detail


def test_every_function_is_tested_and_documented() -> None:
    tested = {t.split("(")[0] for t, _ in VALUES}
    assert set(library()) - tested == set()
    docs = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert [f for f in library() if f"`{f}(" not in docs] == []


def test_templatefile_refuses_terraform_interpolation_of_its_variables(tmp_path: Path) -> None:
    """Trial: a cloud-init template written the Terraform way (`hostname: ${name}`) rendered as it was, and the
    guest's seed said `hostname: ${name}`. A `${...}` of another name (a shell variable) is still text."""
    (tmp_path / "tf.tftpl").write_text("#cloud-config\nhostname: ${ name }\nruncmd:\n  - echo ${HOME}\n")
    with pytest.raises(EvalError) as exc:
        ev('templatefile("tf.tftpl", {name = "web"})', tmp_path)
    assert "tf.tftpl line 2 writes ${ name }, Terraform's interpolation" in exc.value.detail
    assert "write {{ name }}" in exc.value.detail
    assert ev('templatefile("tf.tftpl", {other = "web"})', tmp_path).endswith("echo ${HOME}\n")
