"""Collection and conversion functions: length concat merge flatten keys values lookup contains distinct
range zipmap setproduct element slice sort reverse index coalesce coalescelist compact one alltrue anytrue
sum chunklist toset tolist tomap tostring tonumber tobool.

A set is a list without duplicates; toset sorts strings and numbers, as Terraform
iterates a set of them in that order. Results are bounded to limits.MAX_STRING
items before they are made.
"""

from __future__ import annotations

import json
from typing import Any

from kvmstate.config.functions.base import FunctionError, bounded, function, listed, mapping, number, string, whole
from kvmstate.config.operators import checked, equal
from kvmstate.config.printf import type_name
from kvmstate.diagnostics import shown


@function
def length(value: Any) -> int:
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise FunctionError(f"the argument must be a list, a map or a string, not {type_name(value)}")


@function
def concat(*lists: Any) -> list:
    out: list = []
    for i, items in enumerate(lists, 1):
        out.extend(listed(items, f"argument {i}"))
    return out


@function
def merge(*maps: Any) -> dict:
    out: dict = {}
    for i, value in enumerate(maps, 1):
        if value is not None:
            out.update(mapping(value, f"argument {i}"))
    return out


@function
def flatten(items: Any) -> list:
    out: list = []
    stack = [iter(listed(items, "the argument"))]
    while stack:
        item = next(stack[-1], stack)
        if item is stack:
            stack.pop()
        elif isinstance(item, list):
            stack.append(iter(item))
        else:
            out.append(item)
    return out


@function
def keys(value: Any) -> list[str]:
    return sorted(mapping(value, "the argument"))


@function
def values(value: Any) -> list:
    value = mapping(value, "the argument")
    return [value[k] for k in sorted(value)]


_MISSING = object()


@function
def lookup(value: Any, key: Any, default: Any = _MISSING) -> Any:
    value, key = mapping(value, "the first argument"), string(key, "the key")
    if key in value:
        return value[key]
    if default is _MISSING:
        raise FunctionError(f"the map has no key {key!r} (keys: {', '.join(map(str, value)) or 'none'}); "
                            "give a default as the third argument")
    return default


@function
def contains(items: Any, value: Any) -> bool:
    return any(equal(i, value) for i in listed(items, "the first argument"))


def _identity(value: Any) -> tuple:
    """A hashable key equal for values Terraform calls equal (1 and 1.0; never true and 1)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, str) or value is None:
        return ("string", value)
    return ("json", json.dumps(value, sort_keys=True))


@function
def distinct(items: Any) -> list:
    seen: set[tuple] = set()
    out: list = []
    for item in listed(items, "the argument"):
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


@function
def range_(*args: Any) -> list:
    if not 1 <= len(args) <= 3:
        raise FunctionError(f"range() takes 1 to 3 arguments (start, limit, step), not {len(args)}")
    nums = [number(a, what) for a, what in zip(args, ("the first argument", "the second", "the step"))]
    start, limit, step = (0, nums[0], 1) if len(nums) == 1 else (nums[0], nums[1], nums[2] if len(nums) == 3 else 1)
    if step == 0:
        raise FunctionError("the step must not be 0")
    if (limit - start) * step < 0 and len(nums) == 3:
        raise FunctionError(f"a step of {step} never goes from {start} to {limit}")
    count = max(0, int(-(-(limit - start) // step)))
    bounded(count, "range", "items")
    return [checked(start + i * step) for i in range(count)]


@function
def zipmap(names: Any, items: Any) -> dict:
    names, items = listed(names, "the keys"), listed(items, "the values")
    if len(names) != len(items):
        raise FunctionError(f"there are {len(names)} keys and {len(items)} values; the lists must be as long")
    return {string(k, "each key"): v for k, v in zip(names, items)}


@function
def setproduct(*sets: Any) -> list:
    if len(sets) < 2:
        raise FunctionError("setproduct() takes at least two lists")
    size = 1
    for i, items in enumerate(sets, 1):
        size *= len(listed(items, f"argument {i}"))
        bounded(size, "setproduct", "items")
    out: list[list] = [[]]
    for items in sets:
        out = [prefix + [item] for prefix in out for item in items]
    return out


@function
def element(items: Any, index: Any) -> Any:
    items, i = listed(items, "the first argument"), whole(index, "the index")
    if not items:
        raise FunctionError("cannot take an element of an empty list")
    if i < 0:
        raise FunctionError(f"the index must be 0 or more, not {i}")
    return items[i % len(items)]


@function
def slice_(items: Any, start: Any, end: Any) -> list:
    items, a, b = listed(items, "the first argument"), whole(start, "the start index"), whole(end, "the end index")
    if not 0 <= a <= b <= len(items):
        raise FunctionError(f"slice({a}, {b}) is outside a list of {len(items)} items (0 <= start <= end <= length)")
    return items[a:b]


@function
def sort(items: Any) -> list[str]:
    return sorted(string(i, "each item") for i in listed(items, "the argument"))


@function
def reverse(items: Any) -> list:
    return list(reversed(listed(items, "the argument")))


@function
def index(items: Any, value: Any) -> int:
    for i, item in enumerate(listed(items, "the first argument")):
        if equal(item, value):
            return i
    raise FunctionError(f"the list does not hold {shown(value)}")


@function
def coalesce(*args: Any) -> Any:
    for value in args:
        if value is not None and value != "":
            return value
    raise FunctionError("every argument is null or an empty string")


@function
def coalescelist(*args: Any) -> list:
    for i, value in enumerate(args, 1):
        if listed(value, f"argument {i}"):
            return value
    raise FunctionError("every list is empty")


@function
def compact(items: Any) -> list:
    return [i for i in listed(items, "the argument") if i is not None and i != ""]


@function
def one(items: Any) -> Any:
    items = listed(items, "the argument")
    if len(items) > 1:
        raise FunctionError(f"the list has {len(items)} items; one() takes a list of at most one")
    return items[0] if items else None


def _bools(items: Any) -> list[bool]:
    out = []
    for i in listed(items, "the argument"):
        if i not in ("true", "false") and not isinstance(i, bool):
            raise FunctionError(f"every item must be true or false, not {shown(i)}")
        out.append(i is True or i == "true")
    return out


@function
def alltrue(items: Any) -> bool:
    return all(_bools(items))


@function
def anytrue(items: Any) -> bool:
    return any(_bools(items))


@function
def sum_(items: Any) -> int | float:
    items = listed(items, "the argument")
    if not items:
        raise FunctionError("cannot sum an empty list")
    total: int | float = 0
    for i in items:
        total = checked(total + number(i, "each item"))
    return total


@function
def chunklist(items: Any, size: Any) -> list[list]:
    items, n = listed(items, "the first argument"), whole(size, "the size")
    if n < 0:
        raise FunctionError(f"the size must be 0 or more, not {n}")
    if n == 0:
        return [items]
    return [items[i:i + n] for i in range(0, len(items), n)]


@function
def toset(items: Any) -> list:
    out = distinct(items)
    if all(isinstance(i, str) for i in out) or all(isinstance(i, (int, float)) and not isinstance(i, bool)
                                                    for i in out):
        out.sort()
    return out


@function
def tolist(items: Any) -> list:
    return list(listed(items, "the argument"))


@function
def tomap(value: Any) -> dict:
    return dict(mapping(value, "the argument"))


@function
def tostring(value: Any) -> str | None:
    return None if value is None else string(value, "the argument")


@function
def tonumber(value: Any) -> int | float | None:
    return None if value is None else number(value, "the argument")


@function
def tobool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise FunctionError(f"cannot convert {type_name(value)} {shown(value)} to a bool")
