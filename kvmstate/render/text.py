"""The plan as text, in the shape Terraform users know: `+`, `~`, `-/+`, `-`."""

from __future__ import annotations

import json
from typing import Any

from kvmstate.plan.model import Action, AttributeChange, Plan, ResourceChange
from kvmstate.render.hosts import on_host, per_host_lines, unreachable_lines
from kvmstate.render.mask import MASK
from kvmstate.render.style import Style
from kvmstate.state import State

_HEAD = {
    Action.CREATE: ("+", "green", "will be created"),
    Action.UPDATE: ("~", "yellow", "will be updated in place"),
    Action.RESTART: ("~", "yellow", "will be updated and restarted"),
    Action.REPLACE: ("-/+", "red", "must be replaced"),
    Action.DELETE: ("-", "red", "will be destroyed"),
    Action.REVERT: ("<", "cyan", "will be reverted to"),
}
FORGOTTEN = "will be forgotten: its object stays in libvirt"      # a `removed` block
DRIFT = {
    "deleted": "was deleted outside kvmstate",
    "changed": "was changed outside kvmstate",
    "unrecorded": "was created by an apply that stopped before recording it: it will be recorded",
    "marked": ("carries this state's ownership mark but is not recorded (after `state rm`, `state mv`, or an "
               "interrupted apply): it will be recorded"),
    "remark": ("is recorded here but carries the ownership mark of another address or state (after a `moved` "
               "block, `state mv` or `state recover`): the mark will be rewritten for this address"),
    "unfinished": "was being created by an interrupted apply, which stopped before libvirt made it",
    "unknown": "could not be read",
}
_CLASS_NOTE = {"live": "", "restart": " # requires restart", "replace": " # forces replacement"}


def value(v: Any, masked: bool = True) -> str:
    """A value as HCL would write it; a masked sensitive value as the mask itself (unless `masked` is false:
    configuration that `plan --generate-config-out` writes holds no mask)."""
    if masked and v == MASK:
        return MASK
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(value(i, masked) for i in v) + "]"
    if isinstance(v, dict) and not v:
        return "{}"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {value(i, masked)}" for k, i in v.items()) + " }"
    return str(v)


def render_plan(plan: Plan, style: Style) -> str:
    out: list[str] = [style(f"Warning: {w}", "bold", "red") + "\n" for w in plan.warnings]
    out += [style(line, "yellow", "bold") + "\n" for line in unreachable_lines(plan)]
    if plan.drift:
        out.append(style("Objects that changed since the state was last written:", "bold"))
        out.append("")
        for drift in plan.drift:
            out.append(f"  # {style(drift.address, 'bold')} {DRIFT[drift.kind]}{': ' + drift.reason if drift.reason else ''}")
            width = max((len(c.path) for c in drift.changes), default=0)
            for c in drift.changes:   # before = live, after = recorded
                out.append(f"      {style('~', 'yellow')} {c.path:<{width}} = {value(c.after)} -> {value(c.before)}")
            out.append("")
    changes = [c for c in plan.resource_changes if c.action != Action.NOOP or c.importing]
    for m in plan.moved:
        out.append(f"  # {style(m.from_, 'bold')} has moved to {style(m.to, 'bold')}")
    for address in plan.removed:
        out.append(f"  # {style(address, 'bold')} {FORGOTTEN}")
    if plan.moved or plan.removed:
        out.append("")
    if plan.options.refresh_only:
        if plan.drift:
            out.append(style("This is a refresh-only plan:", "bold") + " applying it records the changes above "
                       "in the state and changes no object.")
        else:
            out.append(style("No changes.", "bold", "green") + " The state matches the live objects.")
        return "\n".join(out) + "\n"
    if not changes and (plan.moved or plan.removed):
        out.append(style(f"Plan: {len(plan.moved)} to move, {len(plan.removed)} to forget;", "bold") +
                   " only the state changes.")
        return "\n".join(out) + "\n"
    if not changes:
        out.append(style("No changes.", "bold", "green") + " The live objects match the configuration.")
        return "\n".join(out) + "\n"
    out.append("kvmstate will perform the following actions:")
    out.append("")
    for change in changes:
        out.extend(_resource(change, style, on_host(plan, change)))
        out.append("")
    out.append(style(summary_line(plan), "bold"))
    out.extend(per_host_lines(plan))
    return "\n".join(out) + "\n"


def summary_line(plan: Plan, done: bool = False) -> str:
    """`Plan: 1 to add, ...`, or after an apply `Resources: 1 added, ...`."""
    s = plan.summary
    if done:
        imported = f"{s.imports} imported, " if s.imports else ""
        return f"Resources: {imported}{s.add} added, {s.change} changed, {s.replace} replaced, {s.destroy} " \
            f"destroyed" + (f", {s.revert} reverted." if s.revert else ".")
    imports = f"{s.imports} to import, " if s.imports else ""
    return f"Plan: {imports}{s.add} to add, {s.change} to change, {s.replace} to replace, {s.destroy} to destroy" + \
        (f", {s.revert} to revert." if s.revert else ".")


def heading(change: ResourceChange) -> tuple[str, str]:
    """The sign and the verb of a change: `+` "will be created", "will be imported, then updated in place"."""
    sign, _, verb = _HEAD.get(change.action, ("<=", "", ""))
    if change.create_before_destroy:
        sign, verb = "+/-", "must be replaced (the new one is created first)"
    elif change.action == Action.RESTART and not change.changes:
        verb = "will be restarted"
    if change.importing:
        verb = "will be imported" + (f", then {verb.removeprefix('will be ')}" if verb else "")
    return sign, verb


def _resource(change: ResourceChange, style: Style, on: str = "") -> list[str]:
    sign, verb = heading(change)
    colour = _HEAD.get(change.action, ("", "green"))[1]
    lines = [f"  # {style(change.reverts, 'bold')}{on} {verb} {change.type} {change.name} ({change.address})"
             if change.action == Action.REVERT else f"  # {style(change.address, 'bold')}{on} {verb}"]
    if change.reason:
        lines.append(style(f"  # (because {change.reason})", "dim"))
    lines.extend(style(f"  # ({note})", "dim") for note in change.notes)
    head = f"{' ' * (3 - len(sign))}{style(sign, colour)} {change.type} {json.dumps(change.name)}"
    if change.action == Action.DELETE or (change.action != Action.CREATE and not change.changes):
        return lines + [head]
    lines.append(head + " {")
    if change.action == Action.CREATE:
        width = max((len(k) for k in change.after or {}), default=0)
        for key, v in (change.after or {}).items():
            lines.append(f"      {style('+', 'green')} {key:<{width}} = {value(v)}")
    else:
        width = max((len(c.path) for c in change.changes), default=0)
        for c in change.changes:
            lines.append(f"      {_attr_line(c, width, style)}")
    lines.append("    }")
    return lines


def _attr_line(c: AttributeChange, width: int, style: Style) -> str:
    note = _CLASS_NOTE[c.update] + (" (changed outside kvmstate)" if c.outside else "")
    if c.before is None:
        return f"{style('+', 'green')} {c.path:<{width}} = {value(c.after)}{style(note, 'dim')}"
    if c.after is None:
        return f"{style('-', 'red')} {c.path:<{width}} = {value(c.before)}{style(note, 'dim')}"
    return f"{style('~', 'yellow')} {c.path:<{width}} = {value(c.before)} -> {value(c.after)}{style(note, 'dim')}"


def render_state(state: State, style: Style) -> str:
    if not state.resources:
        return "The state is empty.\n"
    out = []
    for r in state.resources:
        out.append(f"# {style(r.address, 'bold')}:")
        out.append(f"{r.type} {json.dumps(r.name)} {{")
        fields = {"host": r.host, **({"uri": r.uri} if r.uri else {}), "identity": r.identity, **r.attributes}
        width = max(len(k) for k in fields)
        for key, v in fields.items():
            out.append(f"    {key:<{width}} = {value(v)}")
        if r.computed:
            out.append(style("    # found when applied:", "dim"))
            width = max(len(k) for k in r.computed)
            out.extend(f"    {key:<{width}} = {value(v)}" for key, v in r.computed.items())
        out.append("}")
        out.append("")
    return "\n".join(out)
