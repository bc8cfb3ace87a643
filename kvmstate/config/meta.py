"""Meta-arguments: keys any resource may carry that steer kvmstate rather than libvirt.

    count       a whole number: that many instances, addressed TYPE.NAME[0], [1], ...
    for_each    a map (or a list of strings): one instance per key, TYPE.NAME["key"]
    name        the object's name in libvirt (default: the resource name; NAME-KEY for an instance)
    depends_on  addresses this resource must come after, beyond its references
    host        the named host it lives on (kvmstate.config.hosts); default: the host `default`
    lifecycle   { prevent_destroy, ignore_changes, create_before_destroy }
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kvmstate.addrs import NAME_PATTERN, parse_target

REPEAT = ("count", "for_each")        # evaluated before the rest of the body, to make the instances


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    prevent_destroy: bool = Field(False, description="Fail any plan that would delete or replace this resource.")
    ignore_changes: list[str] = Field(default_factory=list,
                                      description="Attribute paths whose differences are not planned.")
    create_before_destroy: bool = Field(False, description="On replacement, create the new object first.")


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
