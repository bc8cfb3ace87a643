"""Reading a resource model's field metadata: the one place that knows the `x-` tags.

A provider's pydantic models describe themselves in `json_schema_extra`:

    x-update: "live" | "restart" | "replace"   how a change of this field is applied
    x-ref:    "<type>"                          the field names a resource of that type
    x-recorded: true                            the remote API cannot report it: compared with the state
    x-sensitive: true                           its value never appears in output
    x-local:  true                              kvmstate's own setting (how long to wait), not a property of
                                                the live object: used when applying, never compared
    x-unique: "<what>"                          the value may appear once in the whole configuration
    x-filled: true                              libvirt fills it in when unset (a MAC, the machine type): left
                                                out of the configuration `plan --generate-config-out` writes
    x-follows: true                             on an x-ref field: when the object it names is replaced or
                                                restarted, this one restarts too (a running guest stays cut off
                                                from a network that is re-created until it restarts)

Every lookup is cached per model, so plans of thousands of resources pay once.
"""

from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any, Iterable

from pydantic import BaseModel

Path = tuple[str | int, ...]

UPDATE_RANK = {"live": 0, "restart": 1, "replace": 2}


def field_meta(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The `x-` metadata of one field ({} when it has none)."""
    info = model.model_fields.get(name)
    extra = info.json_schema_extra if info else None
    return extra if isinstance(extra, dict) else {}


def submodel(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as `list[Disk]` or `DhcpRange | None`."""
    stack = [annotation]
    while stack:
        ann = stack.pop()
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann
        stack.extend(typing.get_args(ann))
    return None


def child_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of field `name` of `model` (a nested model, or a list of them); None for a plain value."""
    return _children(model).get(name)


def model_at(model: type[BaseModel] | None, path: Path) -> type[BaseModel] | None:
    """The nested model an attribute path leads to (None when the path leaves the models)."""
    for part in path:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _children(model)[part]
    return model


@lru_cache(maxsize=None)
def tagged(model: type[BaseModel], tag: str) -> tuple[tuple[str, Any], ...]:
    """(field, value of its `tag`) for every field of a model that carries the tag."""
    return tuple((name, meta) for name, meta in _tag_of(model, tag) if meta)


def fields_with(model: type[BaseModel], tag: str) -> list[str]:
    """The names of a model's own fields carrying `tag` (e.g. the `x-sensitive` ones)."""
    return [name for name, _ in tagged(model, tag)]


def update_class(model: type[BaseModel] | None, path: Path) -> str:
    """The most disruptive `x-update` class met along an attribute path (replace when unknown)."""
    classes = []
    for part in path:
        if isinstance(part, int) or model is None:
            continue
        if part not in model.model_fields:
            break
        meta = field_meta(model, part)
        if meta.get("x-update"):
            classes.append(meta["x-update"])
        model = _children(model)[part]
    return max(classes, key=UPDATE_RANK.__getitem__) if classes else "replace"


def follows(model: type[BaseModel] | None, path: Path) -> bool:
    """Whether the reference at `path` is tagged `x-follows`: its holder restarts with the object it names."""
    parent = model_at(model, path[:-1]) if path else None
    return parent is not None and isinstance(path[-1], str) and bool(field_meta(parent, path[-1]).get("x-follows"))


def without_local(model: type[BaseModel] | None, data: Any) -> Any:
    """`data` without the settings of kvmstate's own (`x-local`) at any depth: what the live object can show
    (`data` itself when its model has no such setting)."""
    if model is None or not _has_local(model):
        return data
    if isinstance(data, list):
        return [without_local(model, item) for item in data]
    if not isinstance(data, dict):
        return data
    local, inner = _local_parts(model)
    return {key: without_local(inner[key], value) if key in inner else value for key, value in data.items()
            if key not in local}


def as_written(model: type[BaseModel], data: Any, filled: bool = False) -> Any:
    """Live attributes as a user writes them: without values equal to the field's default (or false and empty
    ones where the default is unset), without
    kvmstate's own settings, and (unless `filled`) without what libvirt fills in (`x-filled`)."""
    if isinstance(data, list):
        return [as_written(model, item, filled) for item in data]
    if not isinstance(data, dict):
        return data
    dropped = {name for name, _ in tagged(model, "x-local")} | \
        (set() if filled else {name for name, _ in tagged(model, "x-filled")})
    children = _children(model)
    out = {}
    for key, value in data.items():
        info = model.model_fields.get(key)
        if key in dropped or info is None or value is None:
            continue
        default = info.get_default(call_default_factory=True)
        plain = default.model_dump(mode="json", exclude_none=True) if isinstance(default, BaseModel) else default
        if value == plain or plain is None and (value is False or value == [] or value == {}):
            continue            # the default, or what an unset optional field reads back as (no device)
        child = children[key]
        out[key] = as_written(child, value, filled) if child is not None else value
    return out


def tagged_values(spec: BaseModel, tag: str, path: Path = ()) -> Iterable[tuple[Path, Any, Any]]:
    """Every (attribute path, tag value, field value) of the fields carrying `tag` in a validated model,
    nested models included."""
    for name, meta in _tag_of(type(spec), tag):
        value = getattr(spec, name)
        if meta and value is not None and not isinstance(value, (BaseModel, list)):
            yield path + (name,), meta, value
        elif isinstance(value, BaseModel):
            yield from tagged_values(value, tag, path + (name,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from tagged_values(item, tag, path + (name, i))


def references(spec: BaseModel) -> Iterable[tuple[Path, str, str]]:
    """Every (attribute path, type, object name) a validated model names through its `x-ref` fields."""
    return ((path, rtype, value) for path, rtype, value in tagged_values(spec, "x-ref") if isinstance(value, str))


@lru_cache(maxsize=None)
def _tag_of(model: type[BaseModel], tag: str) -> tuple[tuple[str, Any], ...]:
    """(field, value of its `tag` or None) for every field of a model."""
    return tuple((name, field_meta(model, name).get(tag)) for name in model.model_fields)


@lru_cache(maxsize=None)
def _local_parts(model: type[BaseModel]) -> tuple[frozenset[str], dict[str, type[BaseModel]]]:
    """A model's own `x-local` fields, and its fields whose models hold some."""
    return (frozenset(name for name, _ in tagged(model, "x-local")),
            {name: child for name, child in _children(model).items() if child is not None and _has_local(child)})


@lru_cache(maxsize=None)
def _has_local(model: type[BaseModel]) -> bool:
    """Whether the model or a model inside it has an `x-local` field."""
    return bool(tagged(model, "x-local")) or any(_has_local(c) for c in _children(model).values() if c is not None)


@lru_cache(maxsize=None)
def _children(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    return {name: submodel(info.annotation) for name, info in model.model_fields.items()}
