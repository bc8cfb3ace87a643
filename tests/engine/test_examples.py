"""Every example topology validates, is formatted, and plans in dependency order."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvmstate.cli import application
from kvmstate.config import load
from kvmstate.config.variables import Inputs
from kvmstate.plan.planner import make_plan
from kvmstate.provider import Registry
from kvmstate.state import State
from kvmstate.render.mask import mask_plan

from tests.engine.fake_provider import FakeProvider

app = application()

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ["basic", "basic-hcl", "lab-vars", "lab", "workstation", "multi-host"]
VARS = {"lab": ["ssh_key=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@example"]}


def var_args(name: str) -> list[str]:
    return [arg for value in VARS.get(name, []) for arg in ("--var", value)]


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_example_validates_and_is_formatted(name: str) -> None:
    folder = ROOT / "examples" / name
    assert CliRunner().invoke(app, ["validate", str(folder), *var_args(name)]).exit_code == 0
    assert CliRunner().invoke(app, ["fmt", "--check", str(folder)]).exit_code == 0


def test_lab_builds_overlays_on_one_base_and_seeds_before_the_vms() -> None:
    registry = Registry([FakeProvider()])
    config = load(ROOT / "examples" / "lab", registry, Inputs(VARS["lab"], [], env={}))
    plan = make_plan(config, State(), registry)
    assert plan.summary.add == 12
    order = config.graph.order()
    for vm in ("web", "db", "cache"):
        assert order.index("volume.base") < order.index(f'volume.root["{vm}"]') < order.index(f'domain.vm["{vm}"]')
        assert order.index(f'cloudinit.seed["{vm}"]') < order.index(f'domain.vm["{vm}"]')
        root = config.resources[next(a for a in config.resources if str(a) == f'volume.root["{vm}"]')]
        assert root.attributes["backing_store"] == "debian-12.qcow2"
    assert "(sensitive value)" in str(mask_plan(plan).model_dump()) and "AAAAC3Nza" not in str(mask_plan(plan).model_dump())
