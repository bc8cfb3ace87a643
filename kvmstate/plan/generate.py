"""`plan --generate-config-out=FILE`: write the configuration of objects import blocks adopt.

For each pending import block whose `to` the configuration does not declare, the
object is read through its provider and written as a resource block: HCL, or YAML
when FILE ends in .yaml or .yml. Only what a user sets is written (metadata.as_written:
no defaults, nothing libvirt fills in such as MACs), and the result is validated by
the type's model, so that the plan that follows imports the object with no
further change. An existing FILE is never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kvmstate.addrs import Address
from kvmstate.config import Configuration
from kvmstate.config.hosts import DEFAULT_HOST
from kvmstate.config.imports import Import
from kvmstate.diagnostics import Diagnostics, error
from kvmstate.metadata import as_written
from kvmstate.plan.imports import unconfigured
from kvmstate.plan.live import read_live
from kvmstate.provider import LiveObject, Registry
from kvmstate.render.text import value
from kvmstate.state import State


def generate(config: Configuration, state: State, registry: Registry, out: Path) -> list[Address]:
    """Write FILE for the undeclared import targets; the addresses written (none: FILE is not created)."""
    blocks = unconfigured(config, state)
    if not blocks:
        return []
    if out.resolve().parent not in {f.resolve().parent for f in config.files}:
        raise error("File outside the configuration", f"{out} is not in the configuration's folder, so the plan "
                    "would not read it; give a path in that folder, e.g. generated.hcl beside the import blocks.")
    if out.exists():
        raise error("File exists", f"{out} already exists; --generate-config-out writes a new file and never "
                    "overwrites one. Choose another name, or move the file away.")
    diags = Diagnostics()
    live = read_live(registry, {(DEFAULT_HOST, b.target.type) for b in blocks})
    bodies: dict[Address, dict[str, Any]] = {}
    for block in blocks:
        if block.target.key is not None:
            diags.error("Cannot generate configuration", f"{block.target} is an instance of a repeated resource; "
                        f"write the {block.target.type} \"{block.target.name}\" block with its count or for_each "
                        "yourself.", block.pos, str(block.target), "to")
            continue
        if block.target.module:
            diags.error("Cannot generate configuration", f"{block.target} lies in a module, and the file is written "
                        f"in the root folder, where it would declare {block.target.type}.{block.target.name}; write "
                        "the block in the module's folder yourself.", block.pos, str(block.target), "to")
            continue
        obj = _named(live.values(), block, diags)
        if obj is not None:
            bodies[block.target] = _body(registry, block, obj, diags)
    diags.raise_if_errors()
    text = _yaml(bodies, registry) if out.suffix in (".yaml", ".yml") else _hcl(bodies)
    with open(out, "x", encoding="utf-8") as f:
        f.write(text)
    return sorted(bodies)


def _named(objects: Any, block: Import, diags: Diagnostics) -> LiveObject | None:
    found = [o for o in objects if isinstance(o, LiveObject) and o.type == block.target.type and o.name == block.id]
    if len(found) == 1:
        return found[0]
    detail = f"libvirt has no {block.target.type} named {block.id!r} on host {DEFAULT_HOST}." if not found else \
        f"libvirt has {len(found)} {block.target.type}s named {block.id!r}; declare {block.target} yourself."
    diags.error("No such object" if not found else "Ambiguous import", detail, block.pos, str(block.target), "id")
    return None


def _body(registry: Registry, block: Import, obj: LiveObject, diags: Diagnostics) -> dict[str, Any]:
    model = registry.types[obj.type].model
    name = {} if obj.name == block.target.name else {"name": obj.name}
    for filled in (False, True):     # libvirt's values only when the model needs them (a bridge network's bridge)
        body = as_written(model, obj.attributes, filled)
        try:
            model.model_validate(body, context={"base_dir": Path(block.pos.file).parent})
            return {**name, **body}
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
    diags.error("Cannot generate configuration", f"{obj.type} {obj.name!r} cannot be written as configuration: "
                f"{problem}.", block.pos, str(block.target))
    return {}


def _hcl(bodies: dict[Address, dict[str, Any]]) -> str:
    blocks = []
    for address, body in bodies.items():
        width = max((len(k) for k in body), default=0)
        lines = [f"  {k:<{width}} = {value(_escaped(v), masked=False)}" for k, v in body.items()]
        blocks.append(f'{address.type} "{address.name}" {{\n' + "\n".join(lines) + "\n}\n")
    return _HEADER + "\n".join(blocks)


def _yaml(bodies: dict[Address, dict[str, Any]], registry: Registry) -> str:
    """The resources under their plural sections, attributes in the model's order, laid out as `kvmstate fmt`
    lays YAML out."""
    import io

    from ruamel.yaml import YAML
    doc: dict[str, dict] = {}
    for address, body in bodies.items():
        doc.setdefault(registry.types[address.type].plural, {})[address.name] = _escaped(body)
    yaml = YAML(typ="rt", pure=True)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(doc, out)
    return _HEADER + out.getvalue()


def _escaped(value: Any) -> Any:
    """Strings as literal text: `${` and `%{` would start an expression or a directive."""
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    return value


_HEADER = "# Written by kvmstate plan --generate-config-out from the live objects; review it and keep it.\n"
