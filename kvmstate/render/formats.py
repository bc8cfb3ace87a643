"""The output formats of a plan, and the one entry that masks sensitive values before any of them."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kvmstate.plan.model import Plan
    from kvmstate.render.style import Style


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def render(plan: Plan, fmt: Format, style: Style) -> str:
    """The plan in the asked format, ending with a newline; sensitive values are masked in every format."""
    from kvmstate.render.mask import mask_plan
    plan = mask_plan(plan)
    if fmt == Format.json:
        return plan.model_dump_json(indent=2) + "\n"
    if fmt == Format.markdown:
        from kvmstate.render.markdown import render_markdown
        return render_markdown(plan)
    from kvmstate.render.text import render_plan
    return render_plan(plan, style)
