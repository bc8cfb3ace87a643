"""Module calls: a local folder of configuration loaded once per call instance, under its own address prefix.

    module "lab" {                        modules:
      source   = "./vm"                     lab:
      for_each = var.guests                   source: ./vm
      name     = each.key                     for_each: ${var.guests}
      memory   = each.value                   name: ${each.key}
    }                                         memory: ${each.value}

A call is a node of the expansion order (kvmstate.config.expand) like a resource:
its arguments are evaluated in the caller's scope, once per `count`/`for_each`
instance, and become the values of the module's variables (typed, validated,
defaulted and nullable as the root's are). The folder's resources, locals, outputs
and nested calls are then loaded in a scope of their own whose addresses carry the
instance's path (`module.lab["a"].domain.this`). The instance's outputs, evaluated
from the configuration, are what `module.lab["a"].OUTPUT` reads, and a reference
to them depends on exactly the resources they read. `depends_on` on a call makes
every resource inside come after the named ones. Only local paths (`./x`, `../x`)
are sources; a folder cannot call itself, directly or through another module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from kvmstate.addrs import MODULE_NAME, Address, ModulePath, ModuleStep, module_text, parse_target
from kvmstate.config import outputs as outputs_
from kvmstate.config import variables
from kvmstate.config.evaluate import MODULE, EvalError, ModuleValue, Scope, evaluate
from kvmstate.config.meta import depends_on_written
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics

if TYPE_CHECKING:
    from kvmstate.config.loader import Resource

BLOCK = MODULE                  # the HCL block type, and the type of the raw resources read from it
SECTION = "modules"             # the YAML top-level key
CALL_KEYS = ("source", "count", "for_each", "depends_on")      # the rest of a call's body are its arguments
ROOT_ONLY = ("host", "backend", "moved", "removed")            # blocks only the root folder may hold
_NAME = re.compile(f"^{MODULE_NAME}$")


@dataclass
class Folder:
    """A module folder read once per load: its blocks by kind, its variables."""

    path: Path
    raws: list[RawResource]
    declared: dict[str, variables.Variable]
    ok: bool


@dataclass
class Calls:
    """What loading a call needs from the loader: reading a folder, and validating its resources."""

    read: Callable[[Path, Diagnostics], list[RawResource] | None]     # a folder's raw blocks; None if unreadable
    validate: Callable[[list[RawResource], Scope, list[RawResource], "Calls"], "dict[Address, Resource]"]
    types: frozenset[str]
    diags: Diagnostics
    stack: tuple[Path, ...] = ()                                      # folders being loaded, the root first
    folders: dict[Path, Folder] = field(default_factory=dict)
    instances: set[ModulePath] = field(default_factory=set)           # every module call instance loaded

    def instantiate(self, raw: RawResource, instance: Address, body: dict, scope: Scope
                    ) -> tuple[ModuleValue, "dict[Address, Resource]"] | None:
        """One instance of the call `raw`, its arguments evaluated in `body`: its outputs and resources."""
        folder = self._folder(raw, scope)
        if folder is None or not folder.ok:
            return None
        before = self._errors()
        where = str(instance)
        args = {k: v for k, v in body.items() if k not in CALL_KEYS}
        for key in sorted(set(args) - set(folder.declared)):
            self.diags.error("Unsupported argument", f'{where} sets "{key}", which the module {folder.path} does not '
                             f"declare as a variable; its variables: {', '.join(sorted(folder.declared)) or 'none'}.",
                             raw.position_of((key,)), where, key)
        found = {k: (v, f'the argument "{k}" of {where}', False, raw.position_of((k,)))
                 for k, v in args.items() if k in folder.declared}
        values = variables.resolve(folder.declared, found, self.diags, lambda var: (
            f'{where} does not set "{var.name}", a variable of the module {folder.path} without a default; add '
            f"{var.name} = VALUE to the call.", raw.position, where))
        if self._errors() > before:
            return None
        path = scope.module + (ModuleStep(raw.name, instance.key),)
        self.instances.add(path)
        inner = Scope(folder.path, values, resource_types=scope.resource_types, budget=scope.budget,
                      workspace=scope.workspace, module=path, root=scope.root or scope.base)
        blocks = [r for r in folder.raws if r.type in self.types or r.type == BLOCK]
        local_raws = [r for r in folder.raws if r.type == "local"]
        resources = self.validate(blocks, inner, local_raws, replace(self, stack=self.stack + (folder.path,)))
        after = tuple(parse_target(d, scope.module) for d in _call_depends_on(raw))
        for res in resources.values():
            res.after = res.after + after
        outputs, reads = self._outputs(folder, inner, where)
        if self._errors() > before:
            return None
        return ModuleValue(instance, outputs, reads), resources

    def _errors(self) -> int:
        return len([d for d in self.diags if d.severity == "error"])

    def _folder(self, raw: RawResource, scope: Scope) -> Folder | None:
        """The folder a call names, read once; None (reported) when it is not a local folder or calls itself."""
        where = module_text(scope.module + (ModuleStep(raw.name),))
        source = raw.body.get("source") if isinstance(raw.body, dict) else None
        pos = raw.position_of(("source",))
        if not _NAME.match(raw.name):
            self.diags.error("Invalid module name", f"{raw.name!r} is not a valid module name: use letters, digits, "
                             "'_' and '-', starting with a letter or '_'.", raw.position, where)
            return None
        if source is None:
            self.diags.error("Missing required attribute", f'{where} needs "source", the module\'s folder, such as '
                             'source = "./vm".', raw.position, where, "source")
            return None
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            what = source if isinstance(source, str) else "an expression"
            self.diags.error("Unsupported module source", f"{where}: source is {what!r}; only a local folder, as a "
                             "path relative to this file starting with ./ or ../, is supported (no registry, Git or "
                             "URL sources, no absolute paths, no expressions).", pos, where, "source")
            return None
        path = (Path(raw.position.file).parent / source).resolve()
        if not path.is_dir():
            self.diags.error("Module folder not found", f"{where}: {source} ({path}) is not a folder; a module is a "
                             "folder of *.hcl, *.yaml or *.yml files.", pos, where, "source")
            return None
        if path in self.stack:
            chain = " -> ".join(str(p) for p in (*self.stack[self.stack.index(path):], path))
            self.diags.error("Module calls itself", f"{where} loads {path}, which is already being loaded ({chain}); "
                             "a module cannot call itself, directly or through other modules.", pos, where, "source")
            return None
        if path not in self.folders:
            self.folders[path] = self._read(path)
        return self.folders[path]

    def _read(self, path: Path) -> Folder:
        raws = self.read(path, self.diags)
        if raws is None:
            return Folder(path, [], {}, False)
        ok = True
        for raw in raws:
            if raw.type in ROOT_ONLY:
                self.diags.error("Not allowed in a module", f"A {raw.type} block belongs in the root configuration, "
                                 f"not in the module {path}; declare it there and pass what the module needs "
                                 "through variables.", raw.position)
                ok = False
        before = self._errors()
        declared = variables.declare([r for r in raws if r.type == "variable"], self.diags)
        named = {(r.type, r.name) for r in raws if r.type in self.types | {"local", BLOCK}}
        outputs_.declare([r for r in raws if r.type == "output"], Scope(path, resource_types=self.types), declared,
                         named, self.diags)
        return Folder(path, raws, declared, ok and self._errors() == before)

    def _outputs(self, folder: Folder, scope: Scope, where: str) -> tuple[dict[str, Any], frozenset[Address]]:
        """The instance's outputs by name, and the resource instances they read."""
        values: dict[str, Any] = {}
        reads: set[Address] = set()
        for raw in folder.raws:
            if raw.type != "output" or not isinstance(raw.body, dict) or "value" not in raw.body:
                continue
            inner = replace(scope, used=set())
            try:
                values[raw.name] = evaluate(raw.body["value"], inner)
            except EvalError as exc:
                self.diags.error(exc.summary, f"{where}, output.{raw.name}: {exc.detail}", exc.pos,
                                 f"{where}.output.{raw.name}", "value")
                continue
            reads |= inner.used
        return values, frozenset(reads)


def _call_depends_on(raw: RawResource) -> list[str]:
    """The addresses a call's `depends_on` names (HCL writes references, YAML strings)."""
    items = depends_on_written(raw.body.get("depends_on") if isinstance(raw.body, dict) else None)
    return [item for item in items if isinstance(item, str)] if isinstance(items, list) else []


def schema_section() -> dict:
    """The `modules:` section of the YAML file format's JSON Schema."""
    return {"type": ["object", "null"],
            "description": "Module calls (HCL: `module \"NAME\" { source = \"./FOLDER\" ... }`): a local folder of "
                           "configuration loaded once per instance; its outputs are read as module.NAME.OUTPUT.",
            "propertyNames": {"pattern": f"^{MODULE_NAME}$"},
            "additionalProperties": {
                "type": "object", "required": ["source"],
                "properties": {
                    "source": {"type": "string", "pattern": r"^\.\.?/",
                               "description": "The module's folder, relative to this file: ./NAME or ../NAME."},
                    "count": {"description": "Make this many instances, module.NAME[0] and on."},
                    "for_each": {"description": "One instance per key of a map (or item of a list of strings), "
                                                "module.NAME[\"key\"]."},
                    "depends_on": {"type": "array", "items": {"type": "string"},
                                   "description": "Addresses every resource of the module comes after."}},
                "additionalProperties": {"description": "An argument: the value of the module's variable of "
                                                        "that name."}}}
