"""Outputs as text or JSON, with sensitive values masked unless asked for.

    text, all:     NAME = VALUE per line (VALUE as JSON; the mask when masked)
    text, NAME:    the value alone (a string without quotes)
    --json, all:   {"NAME": {"sensitive": false, "value": VALUE}, ...}; a masked output has no "value"
    --json, NAME:  the value as JSON

A single sensitive output asked for by name without --show-sensitive is refused
rather than printed masked, so a script never mistakes the mask for the value.
"""

from __future__ import annotations

import json

from kvmstate.diagnostics import error
from kvmstate.render.mask import MASK
from kvmstate.state.model import StateOutput



def render_outputs(outputs: dict[str, StateOutput], name: str | None, as_json: bool, show_sensitive: bool) -> str:
    if name is not None:
        out = outputs[name]
        if out.sensitive and not show_sensitive:
            raise error("Sensitive output", f"The output {name!r} is sensitive; pass --show-sensitive to print it.")
        if isinstance(out.value, str) and not as_json:
            return out.value + "\n"
        return json.dumps(out.value, indent=2 if as_json else None) + "\n"
    if as_json:
        doc = {}
        for key, out in sorted(outputs.items()):
            doc[key] = {"sensitive": out.sensitive}
            if show_sensitive or not out.sensitive:
                doc[key]["value"] = out.value
        return json.dumps(doc, indent=2) + "\n"
    lines = []
    for key, out in sorted(outputs.items()):
        value = MASK if out.sensitive and not show_sensitive else json.dumps(out.value)
        lines.append(f"{key} = {value}")
    return "".join(line + "\n" for line in lines)
