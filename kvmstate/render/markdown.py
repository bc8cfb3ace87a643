"""The plan as a pull-request comment (GitHub and GitLab flavoured Markdown).

A summary table of counts, a bold banner when anything is deleted or replaced,
and one collapsible `<details>` section per resource with its reason and diff.
The whole stays under GitHub's comment limit: when it would not, the biggest
sections are collapsed to their headline (and the comment says so), then the
last sections are left out with a count; a diff is never cut in the middle.
"""

from __future__ import annotations

import html
import re

from kvmstate.plan.model import Action, AttributeChange, Drift, Plan, ResourceChange
from kvmstate.render.hosts import markdown_table, on_host, unreachable_lines
from kvmstate.render.text import DRIFT, FORGOTTEN, heading, value

GITHUB_LIMIT = 65_536
_NOTE = {"live": "", "restart": "  # requires restart", "replace": "  # forces replacement"}
_RESERVE = 600          # room for the notes about collapsed and omitted sections


def render_markdown(plan: Plan, limit: int = GITHUB_LIMIT) -> str:
    head = _head(plan)
    sections = [_Section(_summary(c) + html.escape(on_host(plan, c)), _body(c), _diff_lines(c))
                for c in plan.resource_changes if c.action != Action.NOOP or c.importing]
    if plan.moved or plan.removed:
        sections.insert(0, _Section(f"{len(plan.moved)} moved, {len(plan.removed)} forgotten: only the state "
                                    "changes", "", [*(f"# {m.from_} has moved to {m.to}" for m in plan.moved),
                                                    *(f"# {a} {FORGOTTEN}" for a in plan.removed)]))
    if plan.drift:
        sections.insert(0, _Section("Objects changed outside kvmstate since the last apply",
                                    "", [line for d in plan.drift for line in _drift_lines(d)]))
    budget = limit - len(head) - _RESERVE
    size = {id(s): len(s.full()) + 1 for s in sections}      # + 1: the newline joining sections
    total = sum(size.values())
    for section in sorted(sections, key=lambda s: -size[id(s)]):
        if total <= budget:
            break
        section.collapsed = True
        short = len(section.text()) + 1
        total, size[id(section)] = total - size[id(section)] + short, short
    shown = list(sections)
    while shown and total > budget:
        total -= size[id(shown.pop())]
    out = [head, *(s.text() for s in shown)]
    collapsed = sum(s.collapsed for s in shown)
    if collapsed:
        out.append(f"_{collapsed} of {len(sections)} sections are collapsed to their headline to keep this comment "
                   f"under {limit:,} characters; the job log or `kvmstate show FILE` has every diff._\n")
    if len(shown) < len(sections):
        out.append(f"_{len(sections) - len(shown)} more sections are not shown to keep this comment under "
                   f"{limit:,} characters; the job log or `kvmstate show FILE` has them all._\n")
    return "\n".join(out)


class _Section:
    def __init__(self, summary: str, body: str, lines: list[str]):
        self.summary, self.body, self.lines, self.collapsed = summary, body, lines, False

    def full(self) -> str:
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", "\n".join(self.lines))), default=0))
        diff = f"{fence}diff\n" + "\n".join(self.lines) + f"\n{fence}\n" if self.lines else ""
        return f"<details><summary>{self.summary}</summary>\n\n{self.body}{diff}\n</details>\n"

    def text(self) -> str:
        if not self.collapsed:
            return self.full()
        return (f"<details><summary>{self.summary}</summary>\n\n{self.body}_Diff of {len(self.lines)} lines "
                "collapsed to fit the comment._\n\n</details>\n")


def _head(plan: Plan) -> str:
    s = plan.summary
    lines = [f"> **:warning: {html.escape(w)}**\n" for w in [*plan.warnings, *unreachable_lines(plan)]]
    if plan.options.refresh_only:
        lines.append(f"### kvmstate refresh-only plan: {len(plan.drift)} objects changed outside kvmstate\n")
        lines.append("Applying it records these changes in the state and changes no object.\n")
        return "\n".join(lines)
    if not any(c.action != Action.NOOP or c.importing for c in plan.resource_changes) and plan.has_changes:
        lines.append(f"### kvmstate plan: {len(plan.moved)} to move, {len(plan.removed)} to forget; only the state "
                     "changes\n")
        return "\n".join(lines)
    if not plan.has_changes:
        lines.append("### kvmstate plan: no changes\n")
        lines.append("The live objects match the configuration.\n")
        return "\n".join(lines)
    imports = f"{s.imports} to import, " if s.imports else ""
    lines.append(f"### kvmstate plan: {imports}{s.add} to add, {s.change} to change, {s.replace} to replace, "
                 f"{s.destroy} to destroy{f', {s.revert} to revert' if s.revert else ''}\n")
    gone = [c for c in plan.resource_changes if c.action in (Action.DELETE, Action.REPLACE)]
    if gone:
        names = ", ".join(f"`{c.address}` ({'replaced' if c.action == Action.REPLACE else 'destroyed'})"
                          for c in gone[:20])
        more = f" and {len(gone) - 20} more" if len(gone) > 20 else ""
        lines.append(f"> **:warning: This plan deletes or replaces {len(gone)} resources: {names}{more}.**\n")
    lines.append("| Action | Resources |\n|---|---:|")
    lines.append(f"| :heavy_plus_sign: add | {s.add} |\n| :pencil2: change | {s.change} |\n"
                 f"| :arrows_counterclockwise: replace | {s.replace} |\n| :x: destroy | {s.destroy} |\n" +
                 (f"| :rewind: revert | {s.revert} |\n" if s.revert else ""))
    if plan.by_host:
        lines.append(markdown_table(plan))
    return "\n".join(lines)


def _summary(c: ResourceChange) -> str:
    sign, verb = heading(c)
    if c.action == Action.REVERT:
        return (f"<code>{html.escape(sign)} {html.escape(c.reverts or '')}</code> {verb} {html.escape(c.type)} "
                f"<code>{html.escape(c.name)}</code> ({html.escape(c.address)})")
    return f"<code>{html.escape(sign)} {html.escape(c.address)}</code> {verb}"


def _body(c: ResourceChange) -> str:
    text = f"Because {c.reason}.\n\n" if c.reason else ""
    return text + "".join(f"Note: {n}.\n\n" for n in c.notes)


def _diff_lines(c: ResourceChange) -> list[str]:
    if c.action == Action.CREATE:
        return [f"+ {k} = {value(v)}" for k, v in (c.after or {}).items()]
    if c.action == Action.DELETE:
        return [f"- {k} = {value(v)}" for k, v in (c.before or {}).items()]
    return [line for change in c.changes for line in _change_lines(change)]


def _change_lines(c: AttributeChange, drift: bool = False) -> list[str]:
    old, new = (c.after, c.before) if drift else (c.before, c.after)     # drift: after = recorded, before = live
    note = "" if drift else _NOTE[c.update] + ("  (changed outside kvmstate)" if c.outside else "")
    lines = []
    if old is not None:
        lines.append(f"- {c.path} = {value(old)}{note if new is None else ''}")
    if new is not None:
        lines.append(f"+ {c.path} = {value(new)}{note}")
    return lines


def _drift_lines(d: Drift) -> list[str]:
    return [f"# {d.address} {DRIFT[d.kind]}{': ' + d.reason if d.reason else ''}"] + [line for c in d.changes for line in _change_lines(c, drift=True)]
