"""Load a file or a folder of desired-state files into a validated `Configuration`.

The files are read (resources, variables, outputs), variables get their values,
resources are expanded into instances with their expressions evaluated
(kvmstate.config.expand), and each instance is validated by its type's model.
Every problem is collected with its file, line, column and attribute: unknown
types and attributes, wrong types, bad expressions, duplicate resources,
references to resources that do not exist and dependency cycles. `load` raises
them together.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from kvmstate.addrs import Address, ModuleAddress, ModulePath, covers, format_path, parse_target, valid_name
from kvmstate.config import outputs as outputs_
from kvmstate.config import conditions as conditions_
from kvmstate.config import imports as imports_
from kvmstate.config import modules, refactor, variables
from kvmstate.config.evaluate import InstanceValue, Scope
from kvmstate.config.expand import expand
from kvmstate.config.expressions import contains_expr
from kvmstate.config import hosts as hosts_
from kvmstate.config.hosts import DEFAULT_HOST
from kvmstate.config.meta import KEYS, Meta, depends_on_written, lifecycle_written
from kvmstate.config.source import RawResource
from kvmstate.config.limits import MAX_FILE_BYTES
from kvmstate.diagnostics import Diagnostics, Position, error, shown
from kvmstate.graph import Graph
from kvmstate.metadata import child_model, field_meta, model_at, references, tagged_values
from kvmstate.provider import Registry

EXTENSIONS = (".yaml", ".yml", ".hcl")


@dataclass
class Resource:
    address: Address
    spec: BaseModel
    raw: RawResource
    host: str = DEFAULT_HOST
    refs: dict[tuple, Address] = field(default_factory=dict)    # attribute path -> referenced address
    meta: Meta = field(default_factory=Meta)
    name: str = ""                                               # the object's name in libvirt
    reads: set[Address] = field(default_factory=set)             # instances its expressions read
    after: tuple[Address | ModuleAddress, ...] = ()              # what its module calls' `depends_on` name
    conditions: list[conditions_.Condition] = field(default_factory=list)   # lifecycle pre/postconditions
    scope: Scope | None = None                                   # the instance's scope, for its conditions

    @property
    def object_name(self) -> str:
        """The object's name in libvirt."""
        return self.name or self.address.name

    @property
    def attributes(self) -> dict[str, Any]:
        """The desired attributes: defaults included, unset optional ones (left to libvirt) left out."""
        return self.spec.model_dump(mode="json", exclude_none=True)


@dataclass
class Configuration:
    files: list[Path]
    resources: dict[Address, Resource]
    graph: Graph
    variables: dict[str, Any] = field(default_factory=dict)            # name -> value
    declared: dict[str, variables.Variable] = field(default_factory=dict)
    outputs: dict[str, outputs_.Output] = field(default_factory=dict)
    modes: dict[tuple[str, str], str | None] = field(default_factory=dict)   # (type, name) -> None, count, for_each
    scope: Scope | None = None                  # what outputs are evaluated in: the folder, variables, types
    moved: list[refactor.Move] = field(default_factory=list)
    removed: list[refactor.Removal] = field(default_factory=list)
    hosts: dict[str, hosts_.HostDecl] = field(default_factory=dict)      # declared hosts (kvmstate.config.hosts)
    imports: list[imports_.Import] = field(default_factory=list)         # `import` blocks, one per instance

    def dependencies(self, address: Address) -> list[Address]:
        """What a resource references, reads in expressions, or names in `depends_on`, its own or its module
        calls' (every instance of a repeated resource, every resource of a module named there)."""
        res = self.resources[address]
        named = [*(parse_target(a, res.address.module) for a in res.meta.depends_on), *res.after]
        deps = set(res.refs.values()) | res.reads
        if named:
            deps |= {a for a in self.resources if any(covers(t, a) for t in named)}
        return sorted(deps - {address})


def is_configuration(path: Path) -> bool:
    """A configuration file by its name: *.yaml, *.yml or *.hcl, and not hidden (`.gitlab-ci.yml`, an editor's
    `.main.hcl.swp` are someone else's)."""
    return path.suffix in EXTENSIONS and not path.name.startswith(".")


def find_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and is_configuration(p))
    if path.is_file():
        return [path]
    raise error("No such file or folder", f"{path} does not exist; pass a desired-state file or a folder of "
                "*.yaml, *.yml and *.hcl files.")


def load(path: Path | str, registry: Registry, inputs: variables.Inputs | None = None,
         workspace: str = "default",
         on_hosts: Callable[[dict[str, hosts_.HostDecl]], None] | None = None) -> Configuration:
    """The validated configuration; `on_hosts` is called with the declared hosts as soon as they are known,
    before the resources are expanded and validated (so connections open meanwhile)."""
    files = find_files(Path(path))
    if not files:
        raise error("No configuration files", f"{path} holds no *.yaml, *.yml or *.hcl file (hidden ones, such as "
                    ".gitlab-ci.yml, are not configuration).")
    diags = Diagnostics()
    raws: list[RawResource] = []
    unreadable = False
    for file in files:
        read = _read(file, registry, diags)
        unreadable |= read is None
        raws.extend(read or [])
    var_diags = Diagnostics()        # a file that cannot be parsed, or a bad variable, stops here; other
    declared = variables.declare([r for r in raws if r.type == "variable"], var_diags)     # errors go on
    values = variables.values(declared, inputs or variables.Inputs(env={}), var_diags)
    diags.extend(var_diags)
    if unreadable or var_diags.has_errors:
        diags.raise_if_errors()
    base = files[0].parent
    scope = Scope(base, values, resource_types=frozenset(registry.types), workspace=workspace)
    hosts = hosts_.declare([r for r in raws if r.type == hosts_.BLOCK], scope, diags)
    if on_hosts is not None and not diags.has_errors:
        on_hosts(hosts)
    local_raws = _unique_locals([r for r in raws if r.type == "local"], diags)
    calls = modules.Calls(lambda folder, d: _read_folder(folder, registry, d),
                          lambda rs, sc, ls, cs: _validate(rs, registry, sc, diags, _unique_locals(ls, diags), cs),
                          frozenset(registry.types), diags, (base.resolve(),))
    resources = _validate([r for r in raws if r.type in registry.types or r.type == modules.BLOCK], registry, scope,
                          diags, local_raws, calls)
    files = files + [f for folder in calls.folders for f in find_files(folder)]     # saved plans hash them too
    _resolve_names(resources, registry, diags)
    _check_refs(resources, calls.instances, diags)
    hosts_.check_placement(resources, hosts, diags)
    _check_unique(resources, diags)
    outputs = outputs_.declare([r for r in raws if r.type == "output"], scope, declared,
                               {(r.type, r.name) for r in raws if r.type in {*registry.types, "local", modules.BLOCK}},
                               diags)
    moved, removed = refactor.declare([r for r in raws if r.type in ("moved", "removed")],
                                      frozenset(registry.types), set(resources), diags)
    imports = imports_.declare([r for r in raws if r.type == "import"], frozenset(registry.types), scope, diags)
    graph = Graph()
    modes = {key: rv.mode for key, rv in scope.resources.items()}
    config = Configuration(files, resources, graph, values, declared, outputs, modes, scope, moved, removed, hosts,
                           imports)
    for address in resources:
        graph.add(str(address), (str(a) for a in config.dependencies(address) if a in resources))
    cycle = graph.find_cycle()
    if cycle:
        first = resources[Address.parse(cycle[0])]
        diags.error("Dependency cycle", f"These resources depend on each other in a circle: {' -> '.join(cycle)}. "
                    "Remove one of the references.", first.raw.position, str(first.address))
    diags.raise_if_errors()
    return config


def _read_folder(folder: Path, registry: Registry, diags: Diagnostics) -> list[RawResource] | None:
    """Every raw block of a module's folder; None when a file cannot be read or parsed."""
    raws: list[RawResource] = []
    files = find_files(folder)
    if not files:
        diags.error("No configuration files", f"The module folder {folder} holds no *.yaml, *.yml or *.hcl file.")
        return None
    for file in files:
        read = _read(file, registry, diags)
        if read is None:
            return None
        raws.extend(read)
    return raws


def _read(file: Path, registry: Registry, diags: Diagnostics) -> list[RawResource] | None:
    """The raw resources of a file; None when it cannot be read or parsed at all."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            diags.error("File too large", f"{file} is larger than {MAX_FILE_BYTES:,} bytes, the most one "
                        "configuration file may hold; split it into several files in one folder.", Position(str(file), 1))
            return None
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diags.error("Cannot read file", f"{file}: {exc}.", Position(str(file), 1))
        return None
    if file.suffix == ".hcl":
        from kvmstate.config.hcl_file import read_hcl      # python-hcl2 and lark load only for HCL files
        return read_hcl(str(file), text, {**{t.name: t.model for t in registry.types.values()},
                                          hosts_.BLOCK: hosts_.HostSpec}, diags)
    from kvmstate.config.yaml_file import read_yaml
    return read_yaml(str(file), text, {**{t.plural: t.name for t in registry.types.values()},
                                       hosts_.SECTION: hosts_.BLOCK, modules.SECTION: modules.BLOCK}, diags)


def _unique_locals(raws: list[RawResource], diags: Diagnostics) -> list[RawResource]:
    seen: dict[str, RawResource] = {}
    for raw in raws:
        if raw.name in seen:
            diags.error("Duplicate local value", f"local.{raw.name} is declared twice: here and at "
                        f"{seen[raw.name].position}.", raw.position, f"local.{raw.name}")
        else:
            seen[raw.name] = raw
    return list(seen.values())


def _validate(raws: list[RawResource], registry: Registry, scope: Scope, diags: Diagnostics,
              local_raws: list[RawResource], calls: modules.Calls) -> dict[Address, Resource]:
    resources: dict[Address, Resource] = {}
    unique: dict[Address, RawResource] = {}
    checks: dict[Address, list[conditions_.Condition]] = {}
    for raw in raws:
        address = Address(raw.type, raw.name)
        if not valid_name(raw.name):
            diags.error("Invalid resource name", f"{raw.name!r} is not a valid name: use letters, digits, '_', '.', "
                        "'+' and '-', starting with a letter or digit, at most 64 characters.", raw.position)
        elif address in unique:
            diags.error("Duplicate resource", f"{address} is declared twice: here and at {unique[address].position}. "
                        "Names are unique per resource type.", raw.position, str(address))
        elif not isinstance(raw.body, dict):
            diags.error("Unexpected value", f"{address} takes a mapping of attributes.", raw.position, str(address))
        else:
            unique[address], checks[address] = conditions_.take(lifecycle_written(raw), diags)

    shared: dict[int, BaseModel] = {}     # id(raw) -> the spec every instance of a literal block shares
    blocks: dict[int, tuple[Path, bool]] = {}      # id(raw) -> (its folder, whether its attributes are literal)

    def make(raw: RawResource, address: Address, body: dict, inner: Scope) -> dict | InstanceValue | None:
        if raw.type == modules.BLOCK:
            made = calls.instantiate(raw, address, body, scope)
            if made is None:
                return None
            resources.update(made[1])
            return made[0]
        model = registry.types[raw.type].model
        refs: dict[tuple, Address] = {}
        spec = shared.get(id(raw))
        if id(raw) not in blocks:
            blocks[id(raw)] = (Path(raw.position.file).parent, _literal_spec(raw))
        base_dir, literal = blocks[id(raw)]
        try:
            if spec is None:
                spec_body = {k: v for k, v in body.items() if k not in KEYS and v is not None}     # null: unset
                _take_refs(model, spec_body, (), refs)
                spec = model.model_validate(spec_body, context={"base_dir": base_dir})
                if address.key is not None and literal:
                    shared[id(raw)] = spec
            meta = Meta.model_validate({k: depends_on_written(raw.body["depends_on"]) if k == "depends_on" else v
                                        for k, v in body.items() if k in KEYS})
        except ValidationError as exc:
            for err in exc.errors():
                _report(err, raw, Meta if err["loc"] and err["loc"][0] in KEYS else model, str(address), diags)
            return None
        name = meta.name or (raw.name if address.key is None else f"{raw.name}-{address.key}")
        if not valid_name(name):
            diags.error("Invalid object name", f"{address} would be named {name!r} in libvirt, which is not a valid "
                        "name; set `name`, for example name = \"web-${each.key}\".", raw.position, str(address))
            return None
        res = Resource(address, spec, raw, host=meta.host or DEFAULT_HOST, refs=refs, meta=meta, name=name,
                       reads=set(inner.used), conditions=checks[Address(raw.type, raw.name)], scope=inner)
        resources[address] = res
        return {**res.attributes, "name": name}

    expand(list(unique.values()), scope, diags, make, local_raws)
    return resources


def _literal_spec(raw: RawResource) -> bool:
    """Whether a block's attributes (its meta-arguments aside) hold no expression: every instance then has
    the same spec, validated once."""
    return not contains_expr({k: v for k, v in raw.body.items() if k not in KEYS})


def _take_refs(model: type[BaseModel], body: Any, path: tuple, refs: dict[tuple, Address]) -> None:
    """Replace references to resource instances in x-ref fields (`pool = pool.images`) by their object
    names, remembering the address each one refers to."""
    if not isinstance(body, dict):
        return
    fields = model.model_fields
    for name, value in body.items():
        if name not in fields:
            continue
        if isinstance(value, InstanceValue) and field_meta(model, name).get("x-ref"):
            body[name] = value["name"]
            refs[path + (name,)] = value.address
            continue
        child = child_model(model, name)
        if child is not None and isinstance(value, list):
            for i, item in enumerate(value):
                _take_refs(child, item, path + (name, i), refs)
        elif child is not None:
            _take_refs(child, value, path + (name,), refs)


def _resolve_names(resources: dict[Address, Resource], registry: Registry, diags: Diagnostics) -> None:
    """Plain-name references (`pool: images`) name an object: find the instance that has that name, on the
    referring resource's host first. Two instances with one libvirt name on one host are an error."""
    by_name: dict[tuple, Address] = {}
    for address, res in sorted(resources.items()):
        scope = registry.types[address.type].scope
        key = (address.type, res.host, res.attributes.get(scope) if scope else None, res.object_name)
        if key in by_name:
            on = f" on host {res.host!r}" if res.host != DEFAULT_HOST else ""
            diags.error("Duplicate object name", f"{by_name[key]} and {address} would both be the {address.type} "
                        f"{res.object_name!r}{on} in libvirt; give each instance its own `name`.", res.raw.position,
                        str(address))
        by_name.setdefault(key, address)
    ordered = sorted(by_name.items(), key=lambda kv: str(kv[1]), reverse=True)
    names = {(t, n): a for (t, _, _, n), a in ordered}
    on_host = {(t, h, n): a for (t, h, _, n), a in ordered}
    for address, res in resources.items():
        for path, rtype, value in references(res.spec):
            if path not in res.refs:
                target = on_host.get((rtype, res.host, value)) or names.get((rtype, value), Address(rtype, value))
                other = resources.get(target)
                if (rtype, value) not in names and other is not None and other.object_name != value:
                    # A plain string is a libvirt name; this one is only an address, whose object has another
                    # name: libvirt would be asked for the wrong object at apply.
                    attr = format_path(path)
                    diags.error("Reference to an address, not a name",
                                f'{address}: "{attr}" is "{value}", which no {rtype} is named; {target} is named '
                                f'"{other.object_name}". Write the reference as an expression, '
                                f'${{{target}}}, or give the libvirt name "{other.object_name}".',
                                res.raw.position_of(path), str(address), attr)
                res.refs[path] = target


def _report(err: dict, raw: RawResource, model: type[BaseModel], address: str, diags: Diagnostics) -> None:
    loc = _data_path(raw.body, err["loc"])
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
        value = err.get("input")
        given = f" The value is {shown(value)}." if "input" in err and not isinstance(value, dict | None) else ""
        diags.error("Invalid value", f"{where}: {msg}.{given}", pos, address, attr)


def _data_path(body: Any, loc: tuple) -> tuple:
    """pydantic's error location without the parts that are not in the data (union member tags)."""
    path, node = [], body
    for part in loc:
        if isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) \
                and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif not (isinstance(part, str) and part[:1].isupper() or "[" in str(part)):
            path.append(part)         # a missing key: still the place the user must look
            node = None
    return tuple(path)


def _known_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    model = model_at(model, loc)
    return list(model.model_fields) if model else []


def _check_unique(resources: dict[Address, Resource], diags: Diagnostics) -> None:
    """Values that must be unique across the configuration (`x-unique`, e.g. MAC addresses) appear once."""
    seen: dict[tuple[str, str], tuple[Resource, tuple]] = {}
    for res in resources.values():
        for path, group, value in tagged_values(res.spec, "x-unique"):
            key = (group, str(value).lower())
            if key in seen:
                first, first_path = seen[key]
                diags.error("Duplicate value", f'{res.address} sets "{format_path(path)}" to {value}, which '
                            f'{first.address} already uses ("{format_path(first_path)}", at '
                            f"{first.raw.position_of(first_path)}); a {group} must be unique.",
                            res.raw.position_of(path), str(res.address), format_path(path))
            else:
                seen[key] = (res, path)


def _check_refs(resources: dict[Address, Resource], calls: set[ModulePath], diags: Diagnostics) -> None:
    """References name declared resources (or module calls, which may hold none), and never the resource that
    makes them."""
    for res in resources.values():
        for i, dep in enumerate(res.meta.depends_on):
            target = parse_target(dep, res.address.module)
            if target in (res.address, res.address.resource):
                _self_reference(res, ("depends_on", i), diags)
            elif not any(covers(target, a) for a in resources) and not (
                    isinstance(target, ModuleAddress) and any(map(target.holds, calls))):
                diags.error("Reference to undeclared resource", f'{res.address} names {dep} in "depends_on", which '
                            "is not declared in the configuration.", res.raw.position_of(("depends_on", i)),
                            str(res.address), f"depends_on[{i}]")
        for path, target in res.refs.items():
            if target == res.address:
                _self_reference(res, path, diags)
            elif target not in resources:
                attr = format_path(path)
                diags.error("Reference to undeclared resource",
                            f'{res.address} refers through "{attr}" to {target}, which is not declared in the '
                            "configuration.", res.raw.position_of(path), str(res.address), attr)


def _self_reference(res: Resource, path: tuple, diags: Diagnostics) -> None:
    attr = format_path(path)
    diags.error("Self-reference", f'{res.address} names itself in "{attr}": a resource cannot depend on itself. '
                f"Name another {res.address.type}, or remove the reference.", res.raw.position_of(path),
                str(res.address), attr)
