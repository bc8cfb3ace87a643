"""The state file's document model (its JSON Schema is in schemas/state.schema.json)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kvmstate import __version__

STATE_VERSION = 2      # 2: resources may record a fingerprint; a version 1 state reads as is


class StateResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="Resource address, TYPE.NAME.")
    type: str
    name: str = Field(description="The object's name in libvirt.")
    host: str = Field(description="The named libvirt host the object lives on.")
    uri: str | None = Field(None, exclude_if=lambda v: v is None,
                            description="The libvirt URI the host was reached by when the object was last "
                                        "recorded: a host removed from the configuration is still reached by it.")
    identity: str | None = Field(description="libvirt's identity of the object: a UUID, or a volume's key; "
                                             "null while a create is pending.")
    pending: Literal["create"] | None = Field(
        None, description='"create" from just before kvmstate asks libvirt to create the object until it is '
                          "recorded: after a crash the object may or may not exist.")
    attributes: dict[str, Any] = Field(description="The attributes as last applied or refreshed.")
    dependencies: list[str] = Field(default_factory=list, description="Addresses this resource depended on when applied.")
    computed: dict[str, Any] = Field(default_factory=dict,
                                     description="Values the provider found when applying, such as a guest's addresses "
                                                 "(interfaces[].ipv4); never compared with the configuration.")
    fingerprint: str | None = Field(
        None, exclude_if=lambda v: v is None,
        description="The provider's digest of the live object when it last compared equal to `attributes`: a plan "
                    "that finds the same digest and the same desired attributes skips reading the object's values.")


class StateOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="The output's value when last applied.")
    sensitive: bool = Field(False, description="Masked by `kvmstate output` unless --show-sensitive is given.")
    description: str = ""


class State(BaseModel):
    """The whole state file."""

    model_config = ConfigDict(extra="forbid", title="kvmstate state")

    version: Literal[2] = STATE_VERSION
    serial: int = Field(0, ge=0, description="Increases with every write.")
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()),
                         description="Identifies this state's history; objects kvmstate creates carry it.")
    kvmstate_version: str = __version__
    resources: list[StateResource] = Field(default_factory=list)
    outputs: dict[str, StateOutput] = Field(default_factory=dict, description="Output values, as of the last apply.")

    @field_validator("version", mode="before")
    @classmethod
    def _upgrade(cls, version: Any) -> Any:
        """Version 1 differs only in having no fingerprints: read as version 2 (and written so)."""
        return STATE_VERSION if version == 1 else version

    def get(self, address: str) -> StateResource | None:
        return next((r for r in self.resources if r.address == address), None)

    def put(self, resource: StateResource) -> None:
        self.remove(resource.address)
        self.resources.append(resource)
        self.resources.sort(key=lambda r: r.address)

    def remove(self, address: str) -> None:
        self.resources = [r for r in self.resources if r.address != address]
