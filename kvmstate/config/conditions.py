"""`precondition` and `postcondition` blocks in a resource's `lifecycle`: checks with the user's message.

    domain "web" {                                       domains:
      memory = var.memory                                  web:
      lifecycle {                                            memory: ${var.memory}
        precondition {                                       lifecycle:
          condition     = parsesize(self.memory) <= host.memory    precondition:
          error_message = "Not enough memory on ${host.name}."       - condition: ${parsesize(self.memory) <= host.memory}
        }                                                            error_message: Not enough memory.
        postcondition {
          condition     = self.power == "running"
          error_message = "web did not start."
        }
      }
    }

The blocks are taken out of the body before it is evaluated (kvmstate.config.loader),
since they read what only the plan and the apply know: `self` (the desired attributes
in a precondition; in a postcondition the attributes as applied, with computed values
such as a guest's addresses) and `host` (the facts the provider reads about the host
the resource lives on: name, memory and free_memory in bytes, cpus, arch). Besides
those they see what the resource's other attributes see: var, local, each, count,
resources. Preconditions are checked by every plan (kvmstate.plan.planner), so a
plan never promises what the apply refuses; postconditions after the apply of the
resource (kvmstate.apply.applier). A condition must give true or false.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Literal

from kvmstate.config.evaluate import EvalError, Scope, evaluate
from kvmstate.config.expressions import Ref, refs_in
from kvmstate.config.printf import type_name
from kvmstate.config.source import RawResource
from kvmstate.diagnostics import Diagnostics, Position, shown

if TYPE_CHECKING:
    from kvmstate.config.loader import Resource

KINDS = ("precondition", "postcondition")


@dataclass(frozen=True)
class Condition:
    kind: Literal["precondition", "postcondition"]
    condition: Any
    message: Any
    pos: Position


def take(raw: RawResource, diags: Diagnostics) -> tuple[RawResource, list[Condition]]:
    """The raw resource without its condition blocks, and those blocks (malformed ones reported)."""
    lifecycle = raw.body.get("lifecycle") if isinstance(raw.body, dict) else None
    if not isinstance(lifecycle, dict) or not set(KINDS) & set(lifecycle):
        return raw, []
    out = []
    for kind in KINDS:
        written = lifecycle.get(kind, [])
        for i, block in enumerate(written if isinstance(written, list) else [written]):
            pos = raw.position_of(("lifecycle", kind, i) if isinstance(written, list) else ("lifecycle", kind))
            if not isinstance(block, dict) or set(block) != {"condition", "error_message"}:
                diags.error(f"Invalid {kind}", f"A {kind} block has exactly two attributes, `condition` (true when "
                            "all is well) and `error_message` (a sentence for the user).", pos,
                            f"{raw.type}.{raw.name}", f"lifecycle.{kind}")
                continue
            out.append(Condition(kind, block["condition"], block["error_message"],  # type: ignore[arg-type]
                                 raw.position_of(("lifecycle", kind, i, "condition")) if isinstance(written, list)
                                 else pos))
    rest = {k: v for k, v in lifecycle.items() if k not in KINDS}
    return replace(raw, body={**raw.body, "lifecycle": rest}), out


def failing(condition: Any, message: Any, scope: Scope, pos: Position, summary: str) -> Any:
    """The evaluated message when `condition` is false; None when it is true. An EvalError (with `summary`)
    when it gives anything else, or when either fails. Shared with variable validation rules."""
    ok = evaluate(condition, scope)
    if not isinstance(ok, bool):
        raise EvalError(summary, f"The condition must give true or false, not {type_name(ok)} {shown(ok)}.", pos)
    return None if ok else evaluate(message, scope)


def _with_self(scope: Scope, this: dict[str, Any], host: dict[str, Any]) -> Scope:
    return replace(scope, symbols={**scope.symbols, "self": this, "host": host}, used=set())


def check(conditions: list[Condition], kind: str, scope: Scope, this: dict[str, Any], host: dict[str, Any],
          address: str, diags: Diagnostics) -> None:
    """Report every condition of `kind` that does not hold for `self` = `this` on `host`."""
    inner = _with_self(scope, this, host)
    for cond in conditions:
        if cond.kind != kind:
            continue
        try:
            message = failing(cond.condition, cond.message, inner, cond.pos, "Invalid condition")
            if message is None:
                continue
        except EvalError as exc:
            diags.error(exc.summary, f"{address}: {exc.detail}", exc.pos or cond.pos, address, f"lifecycle.{kind}")
            continue
        summary = "Resource precondition failed" if kind == "precondition" else "Resource postcondition failed"
        after = "; nothing was changed" if kind == "precondition" else \
            "; the object was applied and is recorded in the state"
        diags.error(summary, f"{message}\n\nThis was checked by the {kind} of {address}{after}.", cond.pos, address,
                    f"lifecycle.{kind}")


def check_resource(resource: Resource, kind: str, this: dict[str, Any], facts: Callable[[str], dict[str, Any]],
                   diags: Diagnostics) -> None:
    """Check one resource's conditions of `kind`; the host facts are read only when it has some."""
    if resource.scope is not None and any(c.kind == kind for c in resource.conditions):
        check(resource.conditions, kind, resource.scope, {**this, "name": resource.object_name},
              facts(resource.host), str(resource.address), diags)


def check_names(resource: Resource, facts: Callable[[str], dict[str, Any]], diags: Diagnostics) -> None:
    """At plan time, every attribute of `self` and `host` a postcondition names exists, so that a misspelt name
    fails the plan rather than the apply. Only the first step is known before the apply (computed values such
    as a guest's addresses lie inside attributes the plan already has)."""
    posts = [c for c in resource.conditions if c.kind == "postcondition"]
    if resource.scope is None or not posts:
        return
    inner = _with_self(resource.scope, {**resource.attributes, "name": resource.object_name}, facts(resource.host))
    address = str(resource.address)
    for cond in posts:
        for ref in refs_in([cond.condition, cond.message]):
            if ref.root in ("self", "host") and ref.steps and isinstance(ref.steps[0], str):
                try:
                    evaluate(Ref(ref.pos, ref.root, ref.steps[:1]), inner)
                except EvalError as exc:
                    diags.error(exc.summary, f"{address}: {exc.detail}", exc.pos or cond.pos, address,
                                "lifecycle.postcondition")
