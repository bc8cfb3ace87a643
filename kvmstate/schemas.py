"""JSON Schemas of the desired-state file, the JSON plan and the state file.

They are generated from the models and checked in under schemas/; a test fails
when they are out of date. Regenerate with `python -m kvmstate.schemas schemas/`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kvmstate.addrs import NAME_PATTERN
from kvmstate.config.hosts import schema_section as hosts_schema
from kvmstate.config.modules import schema_section as modules_schema
from kvmstate.config.meta import Meta
from kvmstate.plan.model import Plan
from kvmstate.provider import Registry
from kvmstate.state import State

BASE = "https://kvmstate.dev/schemas"


def config_schema(registry: Registry) -> dict:
    """The YAML file format: plural resource types mapping names to attributes (HCL has the same attributes)."""
    meta = Meta.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict = dict(meta.pop("$defs", {}))
    properties = {}
    for rtype in sorted(registry.types.values(), key=lambda t: t.name):
        schema = rtype.model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        schema["properties"].update(meta["properties"])      # meta-arguments: depends_on, lifecycle
        defs[rtype.name] = schema
        properties[rtype.plural] = {
            "type": ["object", "null"],
            "description": f"{rtype.model.__doc__.strip().splitlines()[0] if rtype.model.__doc__ else rtype.name} "
                           f"(HCL: `{rtype.name} \"NAME\" {{ ... }}`).",
            "propertyNames": {"pattern": f"^{NAME_PATTERN}$"},
            "additionalProperties": {"$ref": f"#/$defs/{rtype.name}"},
        }
    for schema in defs.values():
        for name, prop in schema.get("properties", {}).items():
            schema["properties"][name] = {"anyOf": [prop, {"$ref": "#/$defs/expression"}]}
    defs["expression"] = {"type": "string", "pattern": r"\$\{",
                          "description": "An expression: a string with ${...} in it, e.g. ${var.size}."}
    properties.update(_language_sections())
    properties["hosts"] = hosts_schema()
    properties["modules"] = modules_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{BASE}/config.schema.json",
            "title": "kvmstate desired-state file", "type": "object", "additionalProperties": False,
            "properties": properties, "$defs": defs}


def _language_sections() -> dict:
    """`variables:`, `outputs:`, `locals:`, `moved:`, `removed:`, `import:` and `backend:` (HCL: `variable "NAME"
    { ... }`, `output "NAME" { ... }`, `locals { ... }`, `backend "KIND" { ... }`, ...)."""
    def section(description: str, props: dict, required: list[str]) -> dict:
        return {"type": ["object", "null"], "description": description,
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"},
                "additionalProperties": {"type": "object", "additionalProperties": False, "properties": props,
                                         "required": required}}
    def blocks(description: str, props: dict, required: list[str]) -> dict:
        """A YAML list of blocks (HCL: repeated unlabelled blocks)."""
        return {"type": ["array", "null"], "description": description,
                "items": {"type": "object", "additionalProperties": False, "properties": props, "required": required}}
    text = {"type": "string"}
    return {
        "variables": section("Input variables (HCL: `variable \"NAME\" { ... }`); read as var.NAME.", {
            "type": {**text, "description": "string, number, bool, any, list(T), map(T) or object({NAME = T})."},
            "default": {"description": "The value when no other source sets one; without it the variable is "
                                       "required."},
            "description": text,
            "sensitive": {"type": "boolean", "description": "Outputs that read it must be sensitive too."},
            "nullable": {"type": "boolean", "description": "false: null is not a value (default true)."},
            "validation": {"type": "array", "description": "Rules the value must pass.",
                           "items": {"type": "object", "additionalProperties": False,
                                     "required": ["condition", "error_message"],
                                     "properties": {"condition": {"description": "An expression giving true or "
                                                                                 "false, e.g. ${var.n >= 1}."},
                                                    "error_message": text}}}}, []),
        "outputs": section("Values recorded in the state at apply (HCL: `output \"NAME\" { ... }`).", {
            "value": {"description": "The value, usually an expression such as ${network.lab.name}."},
            "description": text,
            "sensitive": {"type": "boolean", "description": "Masked by `kvmstate output` unless --show-sensitive."}},
            ["value"]),
        "locals": {"type": ["object", "null"], "description": "Local values (HCL: `locals { NAME = ... }`); read as "
                   "local.NAME.", "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_-]*$"}},
        "moved": blocks("State entries renamed without touching libvirt (HCL: `moved { from = ..., to = ... }`); "
                        "see docs/configuration.md.", {
            "from": {**text, "description": "The address recorded, e.g. domain.web[0] or module.vm[0]."},
            "to": {**text, "description": "The address to record it at, e.g. domain.web[\"a\"] or module.vm[\"a\"]."}},
            ["from", "to"]),
        "removed": blocks("State entries forgotten, their objects kept in libvirt (HCL: `removed { from = ... }`).", {
            "from": {**text, "description": "The address to forget, no longer declared."},
            "lifecycle": {"type": "object", "additionalProperties": False,
                          "properties": {"destroy": {"const": False}}}}, ["from"]),
        "import": blocks("Objects made outside kvmstate to adopt (HCL: `import { to = ..., id = ... }`); see "
                         "docs/configuration.md.", {
            "to": {**text, "description": "The resource address, e.g. domain.web or domain.vm[\"${each.key}\"]."},
            "id": {**text, "description": "The object's name in libvirt."},
            "for_each": {"description": "A map or a list of strings: one import each."}}, ["to", "id"]),
        "backend": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                    "description": "Where the state lives (HCL: `backend \"pg\" { ... }`); literals only, never a "
                                   "password: see docs/state.md.",
                    "properties": {
                        "local": {"type": ["object", "null"], "additionalProperties": False,
                                  "properties": {"path": {**text, "description": "The state file."}}},
                        "pg": {"type": "object", "additionalProperties": False, "required": ["project"],
                               "properties": {"project": {**text, "description": "Whose state this is."},
                                              "schema": {**text, "description": "PostgreSQL schema (kvmstate)."},
                                              "service": {**text, "description": "A pg_service.conf service."}}}}},
    }


def all_schemas(registry: Registry) -> dict[str, dict]:
    def top(model, name: str) -> dict:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{BASE}/{name}",
                **model.model_json_schema()}
    return {"config.schema.json": config_schema(registry),
            "plan.schema.json": top(Plan, "plan.schema.json"),
            "state.schema.json": top(State, "state.schema.json")}


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in all_schemas(Registry.discover()).items():
        (out / name).write_text(render(schema))
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "schemas")
