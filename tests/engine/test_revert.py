"""`--revert snapshot.X` against the recording fake provider: the plan's action, its text, JSON and Markdown,
the provider call on apply, and the refusals (not a snapshot, a snapshot not made yet, a domain with its own
changes, two snapshots of one domain, one the provider cannot revert to), and the provider's notes on how
a snapshot's deletion goes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.diagnostics import DiagnosticError
from kvmstate.plan.model import Action, Options
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Problem, Registry
from kvmstate.render.markdown import render_markdown
from kvmstate.render.style import Style
from kvmstate.render.text import render_plan
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

ROOT = Path(__file__).resolve().parents[2]
BASIC = ROOT / "examples" / "basic-hcl"
SNAPSHOTS = """
snapshot "points" {
  for_each    = { before_upgrade = "pre-upgrade", clean = "clean-install" }
  name        = each.value
  domain      = domain.basic-vm
  description = "taken ${each.key}"
}
"""


@pytest.fixture
def lab(tmp_path: Path):
    folder = tmp_path / "lab"
    shutil.copytree(BASIC, folder)
    (folder / "snapshots.hcl").write_text(SNAPSHOTS)
    provider = FakeProvider()
    provider.configure({"default": "fake:///"}, {})
    registry = Registry([provider])
    store = StateStore(folder / "state.json")
    config, state = load(folder, registry), State()
    assert apply_plan(make_plan(config, state, registry), config, state, store, registry).ok
    return folder, provider, registry, store


def plan(lab, *revert: str):
    folder, _, registry, store = lab
    config = load(folder, registry)
    return config, make_plan(config, store.read(), registry, Options(revert=list(revert)))


def test_revert_is_an_action_shown_in_text_json_and_markdown_and_applied(lab) -> None:
    folder, provider, registry, store = lab
    config, the_plan = plan(lab, 'snapshot.points["before_upgrade"]')
    change = the_plan.change('snapshot.points["before_upgrade"]')
    assert change.action == Action.REVERT and change.reverts == "domain.basic-vm"
    assert [c.action for c in the_plan.resource_changes if c.action != Action.NOOP] == [Action.REVERT]
    assert the_plan.has_changes and the_plan.summary.revert == 1
    text = render_plan(the_plan, Style(False))
    assert 'domain.basic-vm will be reverted to snapshot pre-upgrade (snapshot.points["before_upgrade"])' in text
    assert "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy, 1 to revert." in text
    data = json.loads(the_plan.model_dump_json())
    jsonschema.validate(data, json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    assert data["options"]["revert"] == ['snapshot.points["before_upgrade"]']
    assert data["summary"]["revert"] == 1
    (entry,) = [c for c in data["resource_changes"] if c["action"] == "revert"]
    assert entry["reverts"] == "domain.basic-vm" and entry["name"] == "pre-upgrade"
    assert "will be reverted to snapshot <code>pre-upgrade</code>" in render_markdown(the_plan)

    state = store.read()
    assert apply_plan(the_plan, config, state, store, registry).ok
    assert [c for c in provider.calls if c[0] == "revert"] == [("revert", "snapshot.pre-upgrade")]
    assert not make_plan(config, store.read(), registry).has_changes      # a revert is asked for each time


def test_a_plan_without_revert_leaves_the_json_as_it_was(lab) -> None:
    _, the_plan = plan(lab)
    data = json.loads(the_plan.model_dump_json())
    assert "revert" not in data["options"] and "revert" not in data["summary"]
    assert all("reverts" not in c for c in data["resource_changes"])


@pytest.mark.parametrize("revert, summary, detail", [
    (["domain.basic-vm"], "Nothing to revert to", "a domain is not something to revert to"),
    (["snapshot.nope"], "Unknown address", "no resource with this address"),
    (["snapshot.points", 'snapshot.points["clean"]'], "Two reverts of one object",
     'domain.basic-vm is already reverted to snapshot.points["before_upgrade"]'),
])
def test_refused_reverts_name_the_reason(lab, revert, summary, detail) -> None:
    with pytest.raises(DiagnosticError) as caught:
        plan(lab, *revert)
    text = str(caught.value)
    assert summary in text and detail in text, text


def test_a_snapshot_not_made_yet_or_a_domain_with_changes_is_refused(lab) -> None:
    folder, provider, registry, store = lab
    (folder / "snapshots.hcl").write_text(SNAPSHOTS + 'snapshot "later" {\n  domain = domain.basic-vm\n}\n')
    with pytest.raises(DiagnosticError) as caught:
        plan(lab, "snapshot.later")
    assert "Snapshot not ready" in str(caught.value) and "creates in this plan" in str(caught.value)
    assert "snapshots.hcl" in str(caught.value)
    (folder / "snapshots.hcl").write_text(SNAPSHOTS)
    main = folder / "main.hcl"
    main.write_text(main.read_text().replace('memory      = "128MiB"', 'memory      = "256MiB"'))
    with pytest.raises(DiagnosticError) as caught:
        plan(lab, 'snapshot.points["clean"]')
    assert "Reverted object has changes" in str(caught.value) and "domain.basic-vm itself restarts in this plan" in str(caught.value)


def test_a_snapshot_the_provider_cannot_revert_to_is_refused_at_its_attribute(lab) -> None:
    folder, provider, registry, store = lab
    provider.revert_refusals["internal"] = Problem("kind", "no revert to this kind; take another.")
    with pytest.raises(DiagnosticError) as caught:
        plan(lab, 'snapshot.points["clean"]')
    text = str(caught.value)
    assert "Cannot revert" in text and 'snapshot.points["clean"]: no revert to this kind' in text, text
    assert "snapshots.hcl:2:1" in text, text           # the block: kind is left at its default there
    provider.revert_refusals.clear()
    assert plan(lab, 'snapshot.points["clean"]')[1].summary.revert == 1


def test_the_provider_says_how_a_deletion_goes_in_the_plans_notes(lab) -> None:
    folder, provider, registry, store = lab
    provider.deletion_notes["pre-upgrade"] = "its overlays are merged back first"
    (folder / "snapshots.hcl").write_text(SNAPSHOTS.replace("before_upgrade = \"pre-upgrade\", ", ""))
    _, the_plan = plan(lab)
    change = the_plan.change('snapshot.points["before_upgrade"]')
    assert change.action == Action.DELETE and change.notes == ["its overlays are merged back first"]
    assert "# (its overlays are merged back first)" in render_plan(the_plan, Style(False))
    assert the_plan.change('snapshot.points["clean"]').notes == []
