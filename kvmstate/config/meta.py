"""Meta-arguments: keys any resource may carry that steer kvmstate rather than libvirt.

    depends_on  addresses this resource must come after, beyond its references
    lifecycle   { prevent_destroy, ignore_changes, create_before_destroy }
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kvmstate.addrs import Address

RESERVED = ("count", "for_each")      # understood by later versions; rejected with a clear message for now


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prevent_destroy: bool = Field(False, description="Fail any plan that would delete or replace this resource.")
    ignore_changes: list[str] = Field(default_factory=list,
                                      description="Attribute paths whose differences are not planned.")
    create_before_destroy: bool = Field(False, description="On replacement, create the new object first.")


class Meta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    depends_on: list[str] = Field(default_factory=list, description="Addresses to come after, e.g. network.lab.")
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)

    @field_validator("depends_on")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            Address.parse(value)
        return values


KEYS = tuple(Meta.model_fields)
