"""Attribute diffs that respect intent: only what the user set is compared.

`prune` cuts a live object down to the keys present in the desired one, so values
libvirt fills in (a generated MAC, a bridge name, PCI addresses) never show up as
changes. `diff` lists the leaf-level differences, found with deepdiff (only when
the two sides differ at all: equal ones, the common case, cost one comparison).
"""

from __future__ import annotations

from typing import Any


def prune(live: Any, desired: Any) -> Any:
    """`live` restricted to the shape of `desired`: dict keys the user did not set are dropped."""
    if isinstance(live, dict) and isinstance(desired, dict):      # a scalar leaf cuts nothing: no call for it
        return {k: prune(live[k], v) if isinstance(v, (dict, list)) else live[k] for k, v in desired.items()
                if k in live}
    if isinstance(live, list) and isinstance(desired, list):
        return [prune(item, desired[i]) if i < len(desired) and isinstance(desired[i], (dict, list)) else item
                for i, item in enumerate(live)]
    return live


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[tuple, Any, Any]]:
    """(path, before, after) for every difference, in path order; absent values are None."""
    if before == after:
        return []
    from deepdiff import DeepDiff                   # imported only when something differs
    from deepdiff.helper import NotPresent
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    out = []
    for levels in tree.values():
        for level in levels:
            b = None if isinstance(level.t1, NotPresent) else level.t1
            a = None if isinstance(level.t2, NotPresent) else level.t2
            out.append((tuple(level.path(output_format="list")), b, a))
    return sorted(out, key=lambda item: [str(p).zfill(8) if isinstance(p, int) else p for p in item[0]])


def get_path(data: Any, path: tuple) -> Any:
    """The value at `path` inside nested dicts and lists, or None when it is not there."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def set_path(data: Any, path: tuple, value: Any) -> None:
    """Put `value` at `path` inside nested dicts and lists; None removes the key or list item."""
    for part in path[:-1]:
        data = data[part]
    last = path[-1]
    if value is None:
        if isinstance(data, dict):
            data.pop(last, None)
        elif isinstance(data, list) and last < len(data):
            del data[last]
    elif isinstance(data, list) and last >= len(data):
        data.append(value)
    else:
        data[last] = value
