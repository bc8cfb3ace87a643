"""The plan: one action per resource, with the attribute changes behind it and why.

This is plain data. The planner builds it, renderers print it, the applier walks
it, `plan --json` emits it and `plan --out` saves it (its JSON Schema is
schemas/plan.schema.json; the format is described in docs/json-format.md).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_serializer

from kvmstate import __version__

PLAN_FORMAT_VERSION = "1"


class Action(str, Enum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"          # in place, without disruption
    RESTART = "restart"        # in place, the object is restarted to take the change
    REPLACE = "replace"        # delete, then create
    DELETE = "delete"
    REVERT = "revert"          # what the object refers to is put back to it (a domain to a snapshot, --revert)


class AttributeChange(BaseModel):
    path: str = Field(description="Attribute path as written in the configuration, e.g. disks[0].volume.")
    before: Any = Field(None, description="Live value (null when absent).")
    after: Any = Field(None, description="Desired value (null when absent).")
    update: Literal["live", "restart", "replace"] = Field(description="How the change is applied.")
    outside: bool = Field(False, description="True when the live value drifted from the state and the file did not change.")


class ResourceChange(BaseModel):
    address: str
    type: str
    name: str
    host: str
    action: Action
    reason: str = Field("", description="Why this action, in a sentence.")
    changes: list[AttributeChange] = Field(default_factory=list)
    replace_paths: list[str] = Field(default_factory=list, description="Attribute paths that force the replacement.")
    identity: str | None = Field(None, description="libvirt identity of the existing object, if any.")
    before: dict[str, Any] | None = Field(None, description="Live attributes (for an update, only the keys the "
                                          "configuration sets); null for a create.")
    after: dict[str, Any] | None = Field(None, description="Desired attributes; null for a delete.")
    dependencies: list[str] = Field(default_factory=list)
    create_before_destroy: bool = Field(False, description="A replacement that creates the new object before "
                                        "deleting the old one.")
    notes: list[str] = Field(default_factory=list, description="Remarks about how the action is carried out, "
                             "e.g. why create_before_destroy cannot apply.")
    importing: bool = Field(False, exclude_if=lambda v: not v, description="The object exists outside kvmstate and "
                            "an `import` block adopts it: apply records it (then carries out the action); left out "
                            "when false.")
    reverts: str | None = Field(None, exclude_if=lambda v: v is None, description="For the action revert: the "
                                "address of what is put back to this object (a snapshot's domain).")


class Drift(BaseModel):
    """What happened to an object since the state was written: changed or deleted outside kvmstate,
    created by an apply that stopped before recording it ("unrecorded"), never created by an interrupted
    apply that had started to ("unfinished"), or in libvirt with this state's ownership mark for the
    address but not in the state ("marked": after `state rm`, `state mv` or an interrupted apply), or
    recorded here with the ownership mark of another address or state ("remark": after `state mv` or
    `state recover`; apply rewrites the mark), or not readable now ("unknown": its pool is inactive; it is
    kept as recorded)."""

    address: str
    kind: Literal["changed", "deleted", "unrecorded", "unfinished", "marked", "remark", "unknown"]
    changes: list[AttributeChange] = Field(default_factory=list)
    reason: str = Field("", description="Why an unknown object could not be read, e.g. its pool is inactive.")


class Options(BaseModel):
    """How the plan was asked for; a saved plan is applied with the same options."""

    destroy: bool = Field(False, description="Plan to delete everything in the state.")
    refresh_only: bool = Field(False, description="Only record drift in the state; change no object.")
    targets: list[str] = Field(default_factory=list, description="Addresses the plan is limited to "
                               "(with their dependencies); empty for all.")
    replace: list[str] = Field(default_factory=list, description="Addresses whose replacement was requested.")
    revert: list[str] = Field(default_factory=list, exclude_if=lambda v: not v,
                              description="Snapshot addresses whose domains are to be reverted to them (--revert).")
    skip_unreachable: bool = Field(False, exclude_if=lambda v: not v, description="Leave the resources of hosts "
                                   "that cannot be reached out of the plan instead of failing.")


class Source(BaseModel):
    """The configuration a plan was made from."""

    path: str = Field(description="The configuration file or folder, as given on the command line.")
    state: str = Field(description="The state file, as given or found.")
    hash: str = Field(description="sha256 over the configuration files' names and contents.")
    variables: str | None = Field(None, description="sha256 over the variables' values (--var, --var-file, "
                                  "the environment, defaults).")


class Summary(BaseModel):
    add: int = 0
    change: int = 0
    replace: int = 0
    destroy: int = 0
    imports: int = Field(0, exclude_if=lambda v: not v, description="Objects adopted by import blocks; left out "
                         "when none.")
    revert: int = Field(0, exclude_if=lambda v: not v, description="Objects reverted to a snapshot; left out "
                        "when none.")


class Moved(BaseModel):
    from_: str = Field(alias="from", description="The address the state recorded.")
    to: str = Field(description="The address the state records after apply (a `moved` block).")

    model_config = {"populate_by_name": True, "serialize_by_alias": True}


class Plan(BaseModel):
    model_config = {"title": "kvmstate plan"}

    format_version: str = PLAN_FORMAT_VERSION
    kvmstate_version: str = __version__
    lineage: str
    prior_serial: int | None = Field(None, description="Serial of the state the plan was made against; null if none.")
    source: Source | None = Field(None, description="The configuration and state the plan was made from.")
    options: Options = Field(default_factory=Options)
    resource_changes: list[ResourceChange] = Field(default_factory=list)
    drift: list[Drift] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="What the plan says loudly before anything "
                                "else, e.g. that the configuration declares no resources.")
    summary: Summary = Field(default_factory=Summary)
    by_host: dict[str, Summary] = Field(default_factory=dict, exclude_if=lambda v: not v,
                                        description="The summary per host; present when the plan spans hosts.")
    unreachable_hosts: dict[str, str] = Field(default_factory=dict, exclude_if=lambda v: not v,
                                              description="Hosts left out of the plan because they could not be "
                                              "reached (--skip-unreachable): host -> the error.")
    _live: dict[str, Any] = PrivateAttr(default_factory=dict)     # address -> LiveObject, for the applier
    _fingerprints: dict[str, str] = PrivateAttr(default_factory=dict)   # address -> the fingerprint of an object
                                                       # compared equal to its record, which records another or none
    sensitive: dict[str, list[str]] = Field(default_factory=dict,
                                            description="Address -> attributes whose values are masked in output.")
    moved: list[Moved] = Field(default_factory=list, description="State entries renamed by `moved` blocks; "
                               "left out when empty.")
    removed: list[str] = Field(default_factory=list, description="State entries forgotten by `removed` blocks; "
                               "their objects stay in libvirt. Left out when empty.")

    @model_serializer(mode="wrap")
    def _without_empty_refactoring(self, handler: Any) -> Any:
        data = handler(self)
        for key in ("moved", "removed"):
            if isinstance(data, dict) and not data.get(key):
                data.pop(key, None)
        return data

    @property
    def has_changes(self) -> bool:
        return any(c.action != Action.NOOP or c.importing for c in self.resource_changes) or \
            bool(self.moved or self.removed)

    @property
    def refreshes(self) -> bool:
        """A refresh-only plan with drift to record."""
        return self.options.refresh_only and any(d.kind != "unknown" for d in self.drift)

    def change(self, address: str) -> ResourceChange | None:
        return next((c for c in self.resource_changes if c.address == address), None)

    def count(self) -> None:
        s = Summary()
        hosts = {c.host: Summary() for c in self.resource_changes}
        for c in self.resource_changes:
            for one in (s, hosts[c.host]):
                one.add += c.action == Action.CREATE
                one.change += c.action in (Action.UPDATE, Action.RESTART)
                one.replace += c.action == Action.REPLACE
                one.destroy += c.action == Action.DELETE
                one.imports += c.importing
                one.revert += c.action == Action.REVERT
        self.summary = s
        self.by_host = dict(sorted(hosts.items())) if len(hosts) > 1 else {}
