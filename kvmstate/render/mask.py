"""The one masking rule: a sensitive value is shown as MASK in every output format.

Plans name their sensitive attributes (`Plan.sensitive`, from `x-sensitive`);
outputs carry their own flag. Renderers receive values already masked here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kvmstate.plan.model import Plan

MASK = "(sensitive value)"


def mask_plan(plan: Plan) -> Plan:
    """A copy for display in which every value of a sensitive attribute reads MASK."""
    if not plan.sensitive:
        return plan
    out = plan.model_copy(deep=True)
    for address, changes, values in [(c.address, c.changes, (c.before, c.after)) for c in out.resource_changes] + \
            [(d.address, d.changes, ()) for d in out.drift]:
        names = plan.sensitive.get(address, [])
        for name in names:
            for attrs in values:
                if attrs and name in attrs:
                    attrs[name] = MASK
        for change in changes:
            if change.path.split(".")[0].split("[")[0] in names:
                change.before = None if change.before is None else MASK
                change.after = None if change.after is None else MASK
    return out
