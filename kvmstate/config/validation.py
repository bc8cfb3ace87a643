"""Custom validation rules of input variables.

    variable "vm_count" {                     variables:
      type = number                             vm_count:
      validation {                                type: number
        condition     = var.vm_count <= 16        validation:
        error_message = "At most 16 VMs."           - condition: ${var.vm_count <= 16}
      }                                               error_message: At most 16 VMs.
    }

A variable may have several rules; each is checked once every variable has its
value, and every rule that fails is reported with its message, where the value came
from and where the rule stands. A condition may read any variable and call any
function (`can(regex(...))` is the usual test); it must give true or false.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kvmstate.config.conditions import failing
from kvmstate.config.evaluate import EvalError, Scope
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position, shown


@dataclass
class Rule:
    condition: Any
    message: Any
    pos: Position


def declare(raw: RawResource, diags: Diagnostics) -> list[Rule] | None:
    """The rules of one variable block; None (after reporting) when one is malformed."""
    written = raw.body.get("validation", []) if isinstance(raw.body, dict) else []
    if isinstance(written, dict):
        written = [written]
    rules = []
    for i, rule in enumerate(written if isinstance(written, list) else [written]):
        pos = raw.position_of(("validation", i))
        if not isinstance(rule, dict) or set(rule) != {"condition", "error_message"}:
            diags.error("Invalid validation rule", "A validation rule has exactly two attributes, `condition` (true "
                        "when the value is good) and `error_message` (a sentence for the user).", pos,
                        f"var.{raw.name}", "validation")
            return None
        rules.append(Rule(rule["condition"], rule["error_message"], pos))
    return rules


def check(declared: dict[str, Any], values: dict[str, Any], sources: dict[str, tuple[str, Position | None]],
          diags: Diagnostics) -> None:
    """Report every rule whose condition is false for the value the variable got."""
    for name, var in declared.items():
        if name not in values:
            continue
        scope = Scope(Path(var.raw.position.file).parent, values)
        for rule in var.validations:
            source, where = sources.get(name, ("its default", None))
            try:
                message = failing(rule.condition, rule.message, scope, rule.pos, "Invalid validation rule")
                if message is None:
                    continue
            except EvalError as exc:
                diags.error(exc.summary, f"var.{name}: {exc.detail}", exc.pos or rule.pos, f"var.{name}", "validation")
                continue
            shown_value = "(sensitive)" if var.sensitive else shown(values[name])
            diags.error("Invalid value for variable", f"{message}\n\nvar.{name} is {shown_value}, from {source}; "
                        f"this was checked by the validation rule at {rule.pos}.", where or rule.pos, f"var.{name}")
