"""Meta-arguments: keys any resource may carry that steer kvmstate rather than libvirt.

    count       a whole number: that many instances, addressed TYPE.NAME[0], [1], ...
    for_each    a map (or a list of strings): one instance per key, TYPE.NAME["key"]
    name        the object's name in libvirt (default: the resource name; NAME-KEY for an instance)
    depends_on  addresses this resource must come after, beyond its references
    host        the named host it lives on (kvmstate.config.hosts); default: the host `default`
    lifecycle   { prevent_destroy, ignore_changes, create_before_destroy, precondition, postcondition }
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kvmstate.addrs import NAME_PATTERN, parse_target
from kvmstate.config.expressions import Ref
from kvmstate.config.refactor import ref_text
from kvmstate.config.source import RawResource

REPEAT = ("count", "for_each")        # evaluated before the rest of the body, to make the instances


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    condition: Any = Field(description="An expression that gives true when all is well.")
    error_message: Any = Field(description="The sentence shown when the condition is false.")


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    prevent_destroy: bool = Field(False, description="Fail any plan that would delete or replace this resource.")
    ignore_changes: list[str] = Field(default_factory=list,
                                      description="Attribute paths whose differences are not planned.")
    create_before_destroy: bool = Field(False, description="On replacement, create the new object first.")
    precondition: list[Condition] = Field(default_factory=list, description="Checked by every plan: `condition` "
                                          "(reads self, host, var, ...) must be true, or the plan fails with "
                                          "`error_message` (kvmstate.config.conditions).")
    postcondition: list[Condition] = Field(default_factory=list, description="Checked after the resource is "
                                           "applied, with `self` as applied.")


class Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    count: int | None = Field(None, ge=0, description="Make this many instances, TYPE.NAME[0] and on; "
                              "count.index is the instance's number.")
    for_each: dict[str, Any] | list[str] | None = Field(
        None, description="Make one instance per key of a map (or item of a list of strings), TYPE.NAME[\"key\"]; "
        "each.key and each.value describe the instance.")
    name: str | None = Field(None, pattern=f"^{NAME_PATTERN}$",
                             description="The object's name in libvirt. Default: the resource's name; for an "
                             "instance, NAME-INDEX or NAME-KEY.")
    depends_on: list[str] = Field(default_factory=list, description="Addresses to come after, e.g. network.lab or "
                                      "module.db.")
    host: str | None = Field(None, description="The named host (a `host` block) the object lives on. Default: the "
                             "host `default`, the URI given by --uri.")
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)

    @field_validator("depends_on")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            parse_target(value)
        return values


KEYS = tuple(Meta.model_fields)


def depends_on_written(items: Any) -> Any:
    """`depends_on` as written, before evaluation: an HCL reference (`pool.images`, `module.db`) becomes its
    address text; anything else is left for validation to judge."""
    if not isinstance(items, list):
        return items
    return [_address_text(item) if isinstance(item, Ref) else item for item in items]


def lifecycle_written(raw: RawResource) -> RawResource:
    """The resource with `lifecycle.ignore_changes` as written, before evaluation: HCL references to its own
    attributes (`[memory, disks[0].bus]`, as Terraform users write them) become their path text, so they are
    never read as references to variables or resources."""
    lifecycle = raw.body.get("lifecycle") if isinstance(raw.body, dict) else None
    paths = lifecycle.get("ignore_changes") if isinstance(lifecycle, dict) else None
    if not isinstance(paths, list) or not any(isinstance(p, Ref) for p in paths):
        return raw
    written = [_address_text(p) if isinstance(p, Ref) else p for p in paths]
    return replace(raw, body={**raw.body, "lifecycle": {**lifecycle, "ignore_changes": written}})


def _address_text(ref: Ref) -> Any:
    try:
        return ref_text(ref)
    except ValueError:
        return ref                      # a computed index: validation says it is not an address
