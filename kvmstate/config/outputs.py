"""Outputs: named values computed from variables and resources, recorded in the state at apply.

    output "web_ip" {                     outputs:
      value     = domain.web.name           web_ip:
      sensitive = false                       value: ${domain.web.name}
    }

References are checked when the configuration loads; the values are evaluated
after apply from the state (`evaluate`), so attributes the provider computed and
recorded there are available. An output that reads a sensitive variable must be
marked sensitive itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from kvmstate.addrs import Address
from kvmstate.config.evaluate import MODULE, EvalError, InstanceValue, ResourceValues, Scope, undeclared_output
from kvmstate.config.evaluate import evaluate as evaluate_expr
from kvmstate.config.expressions import SPLAT, Expr, Lit, Ref, refs_in
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics

KEYS = ("value", "sensitive", "description")


@dataclass
class Output:
    name: str
    value: Any                  # plain data with expressions inside
    raw: RawResource
    description: str = ""
    sensitive: bool = False


def declare(raws: list[RawResource], scope: Scope, declared: dict, resources: set[tuple[str, str]],
            diags: Diagnostics) -> dict[str, Output]:
    """Outputs by name; `declared` are the variables, `resources` the (type, name) of every resource block
    and ("local", name) of every local value."""
    out: dict[str, Output] = {}
    for raw in raws:
        where = f"output.{raw.name}"
        body = raw.body if isinstance(raw.body, dict) else {}
        if raw.name in out:
            diags.error("Duplicate output", f"{where} is declared twice: here and at {out[raw.name].raw.position}.",
                        raw.position, where)
            continue
        problems = [k for k in body if k not in KEYS]
        for key in problems:
            diags.error("Unknown attribute", f'An output has no attribute "{key}"; it takes {", ".join(KEYS)}.',
                        raw.position_of((key,)), where, key)
        if "value" not in body:
            diags.error("Missing required attribute", f'{where} needs "value".', raw.position, where, "value")
            continue
        if not isinstance(body.get("sensitive", False), bool) or not isinstance(body.get("description", ""), str):
            diags.error("Invalid value", "`sensitive` is true or false and `description` a string.", raw.position, where)
            continue
        sensitive = body.get("sensitive", False)
        for ref in refs_in(body["value"]):
            root = ref.root
            first = ref.steps[0] if ref.steps and isinstance(ref.steps[0], str) else None   # not pool[0]
            if root == "var" and first in declared:
                if declared[first].sensitive and not sensitive:
                    diags.error("Output refers to sensitive values", f"{where} reads var.{first}, which is "
                                "sensitive; mark the output `sensitive = true`.", ref.pos, where, "value")
                continue
            if root == MODULE and (root, first) in resources:
                if (err := undeclared_output(ref, scope)) is not None:
                    diags.error(err.summary, err.detail, err.pos, where, "value")
                continue
            if (root in scope.resource_types or root == "local") and (root, first) in resources \
                    or root == "path" \
                    or (root, first) == ("kvmstate", "workspace"):
                continue
            if root in scope.resource_types and isinstance(first, str):
                diags.error("Reference to undeclared resource", f"{where} refers to {root}.{first}, which is not "
                            "declared in the configuration.", ref.pos, where, "value")
            elif root == "local":
                diags.error("Reference to undeclared local value", f"{where} refers to local.{first}, which is not "
                            "declared.", ref.pos, where, "value")
            elif root == "var":
                diags.error("Reference to undeclared variable", f"{where} refers to var.{first}, which is not "
                            "declared.", ref.pos, where, "value")
            elif root in ("count", "each"):
                diags.error("Invalid reference", f"{root} is only available inside a repeated resource.", ref.pos,
                            where, "value")
            else:
                diags.error("Unknown reference", f"{ref.text()} is neither a variable nor a resource.", ref.pos,
                            where, "value")
        if not problems:
            out[raw.name] = Output(raw.name, body["value"], raw, body.get("description", ""), sensitive)
    return out


def check(outputs: dict[str, Output], scope: Scope, instances: dict[Address, dict[str, Any]],
          modes: dict[tuple[str, str], str | None], diags: Diagnostics) -> None:
    """At plan time, with the desired `instances`: every instance, attribute and module output an output names
    exists, so that the apply does not fail on a name after changing everything. Only the attribute right after
    an instance is checked (values libvirt computes lie inside attributes, known after the apply), and an index
    that is not a literal ends the check (it may read a `for`'s names)."""
    scope = _reading(scope, instances, modes)
    for name, output in sorted(outputs.items()):
        for ref in refs_in(output.value):
            if ref.root not in scope.resource_types and ref.root != MODULE:
                continue
            try:
                evaluate_expr(Ref(ref.pos, ref.root, _named_part(ref.steps)), scope)
            except EvalError as exc:
                diags.error(exc.summary, f"output.{name}: {exc.detail}", exc.pos, f"output.{name}", "value")


def _named_part(steps: list) -> list:
    """The steps up to the first attribute after the instance: `web["a"].interfaces` of
    `domain.web["a"].interfaces[0].ipv4`, `web[*].name` of `domain.web[*].name`."""
    kept = steps[:1]
    for step in steps[1:]:
        if isinstance(step, Expr) and not isinstance(step, Lit):
            break
        kept.append(step)
        if isinstance(step, str) and step != SPLAT:
            break
    return kept


def evaluate(outputs: dict[str, Output], scope: Scope, instances: dict[Address, dict[str, Any]],
             modes: dict[tuple[str, str], str | None], diags: Diagnostics) -> dict[str, Any]:
    """Each output's value, with references reading `instances` (address -> values recorded after apply)."""
    scope = _reading(scope, instances, modes)
    out = {}
    for name, output in sorted(outputs.items()):
        try:
            out[name] = json.loads(json.dumps(evaluate_expr(output.value, scope)))
        except EvalError as exc:
            diags.error(exc.summary, f"output.{name}: {exc.detail}", exc.pos, f"output.{name}", "value")
        except KeyError:
            diags.error("Value not known", f"output.{name} refers to a resource that is not in the state; apply "
                        "it first.", output.raw.position, f"output.{name}", "value")
    return out


def _reading(scope: Scope, instances: dict[Address, dict[str, Any]], modes: dict[tuple[str, str], str | None]
             ) -> Scope:
    """The outputs' scope, its references reading `instances` (address -> values) and the module calls."""
    resources: dict[tuple[str, str], ResourceValues] = {}
    for key, mode in modes.items():
        resources[key] = ResourceValues(mode)
    for address, values in instances.items():
        if address.module:
            continue            # the root reads a module's resources through its outputs only
        key = (address.type, address.name)
        mode = modes.get(key, None if address.key is None else "count" if isinstance(address.key, int) else "for_each")
        resources.setdefault(key, ResourceValues(mode)).instances[address.key] = InstanceValue(address, values)
    resources.update({k: v for k, v in scope.resources.items() if k[0] == MODULE})   # from the configuration
    return replace(scope, resources=resources, used=set())
