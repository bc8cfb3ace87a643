"""String functions: format formatlist join split replace regex regexall lower upper title trimspace trim
trimprefix trimsuffix substr startswith endswith chomp indent strrev.

Regular expressions are RE2's syntax as far as Python's `regex` module shares it
(named groups are written (?P<name>...)); a match that runs longer than a second
is stopped, so no pattern can hang a plan.
"""

from __future__ import annotations

from typing import Any

from kvmstate.config.functions.base import FunctionError, bounded, function, listed, string, whole
from kvmstate.config.printf import FormatError, plain, sprintf

REGEX_TIMEOUT = 1.0


@function
def format(spec: Any, *args: Any) -> str:
    try:
        return sprintf(string(spec, "the format"), list(args))
    except FormatError as exc:
        raise FunctionError(str(exc)) from None


@function
def formatlist(spec: Any, *args: Any) -> list[str]:
    lengths = {len(a) for a in args if isinstance(a, list)}
    if len(lengths) > 1:
        raise FunctionError(f"the list arguments have different lengths ({', '.join(map(str, sorted(lengths)))})")
    n = lengths.pop() if lengths else 1
    bounded(n, "formatlist", "items")
    out, size = [], 0
    for i in range(n):
        out.append(format(spec, *(a[i] if isinstance(a, list) else a for a in args)))
        size += len(out[-1])
        bounded(size, "formatlist")           # all the strings together, as for one string
    return out


@function
def join(separator: Any, items: Any, *more: Any) -> str:
    separator, lists = string(separator, "the separator"), (items, *more)
    try:
        parts = [plain(i) for items in lists for i in listed(items, "each argument after the separator")]
    except FormatError as exc:
        raise FunctionError(f"{exc}; join() joins strings, numbers and bools") from None
    bounded(sum(map(len, parts)) + len(separator) * len(parts), "join")
    return separator.join(parts)


@function
def split(separator: Any, text: Any) -> list[str]:
    separator, text = string(separator, "the separator"), string(text, "the string")
    if separator == "":
        return list(text)
    return text.split(separator)


def _compile(pattern: str) -> Any:
    import regex
    try:
        return regex.compile(pattern, regex.VERSION0)
    except regex.error as exc:
        raise FunctionError(f"{pattern!r} is not a valid regular expression: {exc}") from None


def _run(action: Any, *args: Any) -> Any:
    try:
        return action(*args, timeout=REGEX_TIMEOUT)
    except TimeoutError:
        raise FunctionError(f"the regular expression took more than {REGEX_TIMEOUT:g} s; simplify it") from None


@function
def replace(text: Any, old: Any, new: Any) -> str:
    """`old` written /like this/ is a regular expression; $1 and ${name} in `new` insert its groups."""
    text, old, new = string(text, "the string"), string(old, "the substring"), string(new, "the replacement")
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        compiled = _compile(old[1:-1])
        import regex
        template = regex.sub(r"\$(\d+|\{\w+\})", lambda m: "\\g<" + m.group(1).strip("{}") + ">", new.replace("\\", "\\\\"))
        bounded(len(text) + len(text) * len(new), "replace")
        try:
            return _run(compiled.sub, template, text)
        except (IndexError, regex.error) as exc:
            raise FunctionError(f"the replacement {new!r} names a group the pattern does not have ({exc})") from None
    if old == "":
        return text
    bounded(len(text) + text.count(old) * max(0, len(new) - len(old)), "replace")
    return text.replace(old, new)


def _groups(match: Any) -> Any:
    if match.re.groupindex:
        return {k: match.group(k) or "" for k in match.re.groupindex}
    if match.re.groups:
        return [g or "" for g in match.groups()]
    return match.group(0)


@function
def regex(pattern: Any, text: Any) -> Any:
    compiled = _compile(string(pattern, "the pattern"))
    match = _run(compiled.search, string(text, "the string"))
    if match is None:
        raise FunctionError(f"the pattern {pattern!r} does not match {text!r}; use can(regex(...)) to test")
    return _groups(match)


@function
def regexall(pattern: Any, text: Any) -> list:
    compiled = _compile(string(pattern, "the pattern"))
    return [_groups(m) for m in _run(compiled.finditer, string(text, "the string"))]


@function
def lower(text: Any) -> str:
    return string(text, "the argument").lower()


@function
def upper(text: Any) -> str:
    return string(text, "the argument").upper()


@function
def title(text: Any) -> str:
    import regex
    return regex.sub(r"\b\w", lambda m: m.group(0).upper(), string(text, "the argument"))


@function
def trimspace(text: Any) -> str:
    return string(text, "the argument").strip()


@function
def trim(text: Any, characters: Any) -> str:
    return string(text, "the string").strip(string(characters, "the characters"))


@function
def trimprefix(text: Any, prefix: Any) -> str:
    return string(text, "the string").removeprefix(string(prefix, "the prefix"))


@function
def trimsuffix(text: Any, suffix: Any) -> str:
    return string(text, "the string").removesuffix(string(suffix, "the suffix"))


@function
def startswith(text: Any, prefix: Any) -> bool:
    return string(text, "the string").startswith(string(prefix, "the prefix"))


@function
def endswith(text: Any, suffix: Any) -> bool:
    return string(text, "the string").endswith(string(suffix, "the suffix"))


@function
def chomp(text: Any) -> str:
    return string(text, "the argument").rstrip("\r\n")


@function
def strrev(text: Any) -> str:
    return string(text, "the argument")[::-1]


@function
def indent(spaces: Any, text: Any) -> str:
    n, text = whole(spaces, "the number of spaces"), string(text, "the string")
    if n < 0:
        raise FunctionError(f"the number of spaces must be 0 or more, not {n}")
    bounded(len(text) + n * (text.count("\n") + 1), "indent")
    return text.replace("\n", "\n" + " " * n)


@function
def substr(text: Any, offset: Any, length: Any) -> str:
    """Terraform's substr: a negative offset counts from the end; length -1 takes the rest."""
    text, start, size = string(text, "the string"), whole(offset, "the offset"), whole(length, "the length")
    if start < 0:
        start = max(0, len(text) + start)
    if start > len(text):
        raise FunctionError(f"the offset {offset} is beyond the end of the string ({len(text)} characters)")
    if size < -1:
        raise FunctionError(f"the length must be -1 (the rest) or more, not {size}")
    return text[start:] if size == -1 else text[start:start + size]

