"""Load a file or a folder of desired-state files into a validated `Configuration`.

Every problem is collected with its file, line, column and attribute: unknown
types and attributes, wrong types, duplicate resources, references to resources
that do not exist and dependency cycles. `load` raises them together.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from kvmstate.addrs import Address, format_path, valid_name
from kvmstate.config.meta import KEYS, RESERVED, Meta
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position, error
from kvmstate.graph import CycleError, Graph
from kvmstate.provider import Registry, field_meta, submodel

EXTENSIONS = (".yaml", ".yml", ".hcl")
DEFAULT_HOST = "default"


@dataclass
class Resource:
    address: Address
    spec: BaseModel
    raw: RawResource
    host: str = DEFAULT_HOST
    refs: dict[tuple, Address] = field(default_factory=dict)    # attribute path -> referenced address
    meta: Meta = field(default_factory=Meta)

    @property
    def object_name(self) -> str:
        """The object's name in libvirt."""
        return self.address.name

    @property
    def attributes(self) -> dict[str, Any]:
        """The desired attributes: defaults included, unset optional ones (left to libvirt) left out."""
        return self.spec.model_dump(mode="json", exclude_none=True)


@dataclass
class Configuration:
    files: list[Path]
    resources: dict[Address, Resource]
    graph: Graph

    def dependencies(self, address: Address) -> list[Address]:
        """What a resource references or names in `depends_on`."""
        res = self.resources[address]
        return sorted(set(res.refs.values()) | {Address.parse(a) for a in res.meta.depends_on})


def find_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in EXTENSIONS)
    if path.is_file():
        return [path]
    raise error("No such file or folder", f"{path} does not exist; pass a desired-state file or a folder of "
                "*.yaml, *.yml and *.hcl files.")


def load(path: Path | str, registry: Registry) -> Configuration:
    files = find_files(Path(path))
    if not files:
        raise error("No configuration files", f"{path} holds no *.yaml, *.yml or *.hcl file.")
    diags = Diagnostics()
    raws: list[RawResource] = []
    for file in files:
        raws.extend(_read(file, registry, diags))
    resources = _validate(raws, registry, diags)
    _check_refs(resources, diags)
    graph = Graph()
    config = Configuration(files, resources, graph)
    for address in resources:
        graph.add(str(address), (str(a) for a in config.dependencies(address) if a in resources))
    cycle = graph.find_cycle()
    if cycle:
        first = resources[Address.parse(cycle[0])]
        diags.error("Dependency cycle", f"These resources depend on each other in a circle: {' -> '.join(cycle)}. "
                    "Remove one of the references.", first.raw.position, str(first.address))
    diags.raise_if_errors()
    return config


def _read(file: Path, registry: Registry, diags: Diagnostics) -> list[RawResource]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diags.error("Cannot read file", f"{file}: {exc}.", Position(str(file), 1))
        return []
    if file.suffix == ".hcl":
        from kvmstate.config.hcl_file import read_hcl      # python-hcl2 and lark load only for HCL files
        return read_hcl(str(file), text, {t.name: t.model for t in registry.types.values()}, diags)
    from kvmstate.config.yaml_file import read_yaml
    return read_yaml(str(file), text, {t.plural: t.name for t in registry.types.values()}, diags)


def _validate(raws: list[RawResource], registry: Registry, diags: Diagnostics) -> dict[Address, Resource]:
    resources: dict[Address, Resource] = {}
    for raw in raws:
        address = Address(raw.type, raw.name)
        if not valid_name(raw.name):
            diags.error("Invalid resource name", f"{raw.name!r} is not a valid name: use letters, digits, '_', '.', "
                        "'+' and '-', starting with a letter or digit, at most 64 characters.", raw.position)
            continue
        if address in resources:
            first = resources[address].raw.position
            diags.error("Duplicate resource", f"{address} is declared twice: here and at {first}. Names are unique "
                        "per resource type.", raw.position, str(address))
            continue
        model = registry.types[raw.type].model
        if not isinstance(raw.body, dict):
            diags.error("Unexpected value", f"{address} takes a mapping of attributes.", raw.position, str(address))
            continue
        for key in RESERVED:
            if key in raw.body:
                diags.error("Not supported yet", f'"{key}" is reserved for repeated resources, which this version '
                            "does not support yet.", raw.position_of((key,)), str(address), key)
        body = {k: v for k, v in raw.body.items() if k not in KEYS and k not in RESERVED}
        meta_body = {k: v for k, v in raw.body.items() if k in KEYS}
        try:
            spec = model.model_validate(body)
            meta = Meta.model_validate(meta_body)
        except ValidationError as exc:
            for err in exc.errors():
                _report(err, raw, Meta if err["loc"] and err["loc"][0] in KEYS else model, str(address), diags)
            continue
        resources[address] = Resource(address, spec, raw, refs=dict(_refs(spec)), meta=meta)
    return resources


def _report(err: dict, raw: RawResource, model: type[BaseModel], address: str, diags: Diagnostics) -> None:
    loc = tuple(p for p in err["loc"] if isinstance(p, int) or not p[:1].isupper())
    attr = format_path(loc) or None
    pos = raw.position_of(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f' Did you mean "{near[0]}"?' if near else f" Known attributes: {', '.join(known)}."
        diags.error("Unknown attribute", f'{address} has no attribute "{attr}".{hint}', pos, address, attr)
    elif kind == "missing":
        diags.error("Missing required attribute", f'{address} needs "{attr}".', raw.position_of(loc[:-1]), address, attr)
    else:
        msg = err["msg"].removeprefix("Value error, ").rstrip(".")
        where = f'"{attr}"' if attr else address
        diags.error("Invalid value", f"{where}: {msg}.", pos, address, attr)


def _known_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part)
        model = submodel(info.annotation) if info else None
    return list(model.model_fields) if model else []


@lru_cache(maxsize=None)
def _ref_types(model: type[BaseModel]) -> tuple[tuple[str, str | None], ...]:
    """(field, the type its `x-ref` names or None) for every field of a model, looked up once per model."""
    return tuple((name, field_meta(model, name).get("x-ref")) for name in model.model_fields)


def _refs(spec: BaseModel, path: tuple = ()) -> Iterable[tuple[tuple, Address]]:
    """Every (attribute path, address) a model references through its `x-ref` fields."""
    for name, ref_type in _ref_types(type(spec)):
        value = getattr(spec, name)
        if ref_type and isinstance(value, str):
            yield path + (name,), Address(ref_type, value)
        elif isinstance(value, BaseModel):
            yield from _refs(value, path + (name,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _refs(item, path + (name, i))


def _check_refs(resources: dict[Address, Resource], diags: Diagnostics) -> None:
    for res in resources.values():
        for i, dep in enumerate(res.meta.depends_on):
            if Address.parse(dep) not in resources:
                diags.error("Reference to undeclared resource", f'{res.address} names {dep} in "depends_on", which '
                            "is not declared in the configuration.", res.raw.position_of(("depends_on", i)),
                            str(res.address), f"depends_on[{i}]")
        for path, target in res.refs.items():
            if target not in resources:
                attr = format_path(path)
                diags.error("Reference to undeclared resource",
                            f'{res.address} refers through "{attr}" to {target}, which is not declared in the '
                            "configuration.", res.raw.position_of(path), str(res.address), attr)
