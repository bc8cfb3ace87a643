"""Lifecycle meta-arguments applied to a planned change.

    ignore_changes         differences at these attribute paths are not planned; the live value is kept
    prevent_destroy        a plan that would delete or replace the resource fails, naming it
    create_before_destroy  a replacement creates the new object first, where libvirt's unique names allow it

The planner calls these; they only read and adjust `ResourceChange`s.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from kvmstate.addrs import parse_path
from kvmstate.config import Resource
from kvmstate.diagnostics import Diagnostics
from kvmstate.plan.diff import set_path
from kvmstate.plan.model import Action, AttributeChange, ResourceChange
from kvmstate.metadata import submodel
from kvmstate.provider import LiveObject


def check_ignore_paths(resource: Resource, diags: Diagnostics) -> None:
    """Every `ignore_changes` entry must name an attribute of the resource's model."""
    for i, text in enumerate(resource.meta.lifecycle.ignore_changes):
        model = type(resource.spec)
        for part in parse_path(text):
            if isinstance(part, int):
                continue
            if model is None or part not in model.model_fields:
                diags.error("Unknown attribute", f'lifecycle.ignore_changes names "{text}", which is not an '
                            f"attribute of {resource.address.type}. Known attributes: "
                            f"{', '.join(type(resource.spec).model_fields)}.",
                            resource.raw.position_of(("lifecycle", "ignore_changes", i)), str(resource.address),
                            f"lifecycle.ignore_changes[{i}]")
                break
            model = submodel(model.model_fields[part].annotation)


def drop_ignored(resource: Resource, changes: list[AttributeChange],
                 desired: dict[str, Any]) -> tuple[list[AttributeChange], dict[str, Any]]:
    """The changes not covered by `ignore_changes`, and the desired attributes with the live value kept there."""
    ignored = [parse_path(p) for p in resource.meta.lifecycle.ignore_changes]
    if not ignored:
        return changes, desired
    kept, after = [], copy.deepcopy(desired)
    for change in reversed(changes):        # reversed: removing list items from the end keeps indexes valid
        path = parse_path(change.path)
        if any(path[:len(i)] == i for i in ignored):
            set_path(after, path, change.before)
        else:
            kept.append(change)
    return kept[::-1], after


def check_prevent_destroy(change: ResourceChange, resource: Resource | None, diags: Diagnostics) -> None:
    if resource is None or not resource.meta.lifecycle.prevent_destroy:
        return
    if change.action not in (Action.DELETE, Action.REPLACE):
        return
    verb = "delete" if change.action == Action.DELETE else "replace"
    diags.error("Resource protected by prevent_destroy",
                f"{change.address} has lifecycle.prevent_destroy set, but this plan would {verb} it "
                f"(because {change.reason}). Remove prevent_destroy from the resource if this is intended, "
                "or change the configuration so it is kept.",
                resource.raw.position_of(("lifecycle", "prevent_destroy")), change.address,
                "lifecycle.prevent_destroy")


def order_replacement(change: ResourceChange, resource: Resource, obj: LiveObject,
                      where: Callable[[str, str, str, dict], tuple], scope: str | None) -> None:
    """Create before destroy when asked and when the new object is found at another place than the old one.

    `where(host, type, name, attributes)` gives the key under which libvirt keeps a name unique, and
    `scope` the attribute that namespaces names of this type (a volume's pool), if any.
    """
    if change.action != Action.REPLACE or not resource.meta.lifecycle.create_before_destroy:
        return
    old = where(obj.host, obj.type, obj.name, obj.attributes)
    new = where(change.host, change.type, change.name, change.after or {})
    if old != new:
        change.create_before_destroy = True
        return
    per = f"host and {scope}" if scope else "host"
    change.notes.append(f"create_before_destroy cannot apply: libvirt names are unique per {per}, and the "
                        f"new {change.type} keeps the name {change.name!r} on host {change.host}, so the old one "
                        "is deleted first")
