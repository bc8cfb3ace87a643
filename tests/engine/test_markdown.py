"""The Markdown plan stays under GitHub's comment limit without cutting a diff."""

from __future__ import annotations

import re

from kvmstate.plan.model import Action, AttributeChange, Moved, Plan, ResourceChange
from kvmstate.render.markdown import GITHUB_LIMIT, render_markdown

SECTION = re.compile(r"<details><summary><code>[^<]*? (\S+)</code>.*?</summary>\n(.*?)</details>\n", re.S)


def big_plan(resources: int, attributes: int) -> Plan:
    plan = Plan(lineage="l")
    for i in range(resources):
        after = {f"attribute_{j}": f"value-{i}-{j}-" + "x" * 40 for j in range(attributes)}
        action = Action.CREATE if i % 3 else Action.UPDATE
        changes = [] if action == Action.CREATE else \
            [AttributeChange(path=k, before="old", after=v, update="live") for k, v in after.items()]
        plan.resource_changes.append(ResourceChange(address=f"domain.vm-{i:04}", type="domain", name=f"vm-{i:04}",
                                                    host="default", action=action, reason="it is not in the state",
                                                    after=after, changes=changes))
    plan.count()
    return plan


def expected_lines(change: ResourceChange) -> list[str]:
    if change.action == Action.CREATE:
        return [f'+ {k} = "{v}"' for k, v in change.after.items()]
    return [line for c in change.changes for line in (f'- {c.path} = "old"', f'+ {c.path} = "{c.after}"')]


def check_sections(text: str, plan: Plan) -> tuple[int, int]:
    """Every shown section is whole: its diff has all its lines, or it says it is collapsed."""
    full = collapsed = 0
    for address, body in SECTION.findall(text):
        change = plan.change(address)
        block = re.search(r"```diff\n(.*?)\n```\n", body, re.S)
        if block:
            assert block.group(1).split("\n") == expected_lines(change), address
            full += 1
        else:
            assert "collapsed to fit the comment" in body, address
            collapsed += 1
    assert text.count("<details>") == text.count("</details>") == full + collapsed
    return full, collapsed


def test_small_plan_is_shown_whole() -> None:
    plan = big_plan(5, 3)
    text = render_markdown(plan)
    assert check_sections(text, plan) == (5, 0) and "collapsed" not in text


def test_long_plan_collapses_the_biggest_sections_and_stays_under_the_limit() -> None:
    plan = big_plan(200, 12)                   # about 250,000 characters in full
    text = render_markdown(plan)
    assert len(text) < GITHUB_LIMIT
    full, collapsed = check_sections(text, plan)
    assert full > 0 and collapsed > 0 and full + collapsed == 200
    assert f"{collapsed} of 200 sections are collapsed" in text


def test_huge_plan_leaves_out_sections_and_says_how_many() -> None:
    plan = big_plan(3000, 2)
    text = render_markdown(plan)
    assert len(text) < GITHUB_LIMIT
    full, collapsed = check_sections(text, plan)
    assert f"{3000 - full - collapsed} more sections are not shown" in text
    assert "### kvmstate plan: 2000 to add, 1000 to change" in text


def test_banner_names_what_is_deleted_or_replaced() -> None:
    plan = big_plan(2, 1)
    plan.resource_changes[0].action = Action.REPLACE
    plan.count()
    assert "> **:warning: This plan deletes or replaces 1 resources: `domain.vm-0000` (replaced).**" \
        in render_markdown(plan)


def test_moves_and_forgotten_resources_are_in_the_comment() -> None:
    """A refactoring plan (moved and removed blocks) showed reviewers nothing of what it moves or forgets."""
    plan = big_plan(1, 1)
    plan.moved = [Moved(from_="domain.vm", to='module.site["a"].domain.vm')]
    plan.removed = ["volume.scratch"]
    text = render_markdown(plan)
    assert "<summary>1 moved, 1 forgotten: only the state changes</summary>" in text
    assert '# domain.vm has moved to module.site["a"].domain.vm' in text
    assert "# volume.scratch will be forgotten: its object stays in libvirt" in text
    plan.resource_changes[0].action = Action.NOOP
    plan.count()
    assert "### kvmstate plan: 1 to move, 1 to forget; only the state changes" in render_markdown(plan)
