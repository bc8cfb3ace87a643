"""Scenario folders: a configuration applied, the live objects then changed, a new configuration planned.

    tests/scenarios/NAME/
        before/      configuration applied first through the fake provider (optional)
        after/       configuration to plan against the resulting state
        twin/        after/ written in the other syntax (YAML for HCL): it must give the same plan
        options.yaml plan options for after/ (optional): {targets: [...], replace: [...], refresh_only: true}
        live.yaml    changes made to the live objects between the two (optional):
                       delete: [ADDRESS, ...]
                       set: {ADDRESS: {attribute: value}}
                       add: [{type, name, attributes, owner: {lineage, address} | null}]
                       pending: [ADDRESS, ...]   state entries turned into create intents, as a
                                                 crash between the intent and the result leaves them
        plan.txt     expected text plan (or error.txt: expected diagnostics)
        plan.json    expected JSON plan
        plan.md      expected Markdown plan (the pull-request comment)
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from kvmstate.apply.applier import apply_plan
from kvmstate.config import load
from kvmstate.config.loader import Configuration
from kvmstate.graph import Graph
from kvmstate.plan.model import Options
from kvmstate.plan.planner import make_plan
from kvmstate.provider import LiveObject, Owner, Registry
from kvmstate.state import State, StateStore

from tests.engine.fake_provider import FakeProvider

LINEAGE = "00000000-0000-4000-8000-000000000000"


def run_until_plan(folder: Path, tmp: Path, after: str = "after"):
    """Apply before/, change the live objects, and return (plan, provider, state) for after/ (or twin/)."""
    tmp.mkdir(parents=True, exist_ok=True)
    provider = FakeProvider()
    registry = Registry([provider])
    provider.configure({"default": "fake:///"}, {})
    store = StateStore(tmp / "state.json")
    state = State(lineage=LINEAGE)
    if (folder / "before").is_dir():
        config = load(folder / "before", registry)
        outcome = apply_plan(make_plan(config, state, registry), config, state, store, registry)
        assert outcome.ok, outcome
    patch_live(provider, state, folder / "live.yaml")
    wanted = load(folder / after, registry) if (folder / after).is_dir() else Configuration([], {}, Graph())
    options = Options.model_validate(_yaml(folder / "options.yaml"))
    return make_plan(wanted, state, registry, options), provider, state


def _yaml(path: Path) -> dict:
    return (YAML(typ="safe").load(path.read_text()) or {}) if path.exists() else {}


def patch_live(provider: FakeProvider, state: State, path: Path) -> None:
    patch = _yaml(path)
    for address in patch.get("pending", []):
        recorded = state.get(address)
        recorded.identity, recorded.pending = None, "create"
    for address in patch.get("delete", []):
        rtype, name = address.split(".", 1)
        del provider.objects[("default", rtype, name)]
    for address, attrs in (patch.get("set") or {}).items():
        rtype, name = address.split(".", 1)
        provider.objects[("default", rtype, name)].attributes.update(attrs)
    for item in patch.get("add", []):
        owner = Owner(**item["owner"]) if item.get("owner") else None
        obj = LiveObject(item["type"], item["name"], "default", f"id-foreign-{item['name']}", item["attributes"], owner)
        provider.objects[("default", obj.type, obj.name)] = obj
