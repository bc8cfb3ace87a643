"""The JSON outputs and the examples validate against the checked-in schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from tests.engine.test_scenarios import SCENARIOS
from tests.engine.scenarios import run_until_plan

ROOT = Path(__file__).resolve().parents[2]


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text())


@pytest.mark.parametrize("folder", [s for s in SCENARIOS if (s / "plan.json").exists()], ids=lambda p: p.name)
def test_plan_and_state_json_validate(folder: Path, tmp_path: Path) -> None:
    plan, _, state = run_until_plan(folder, tmp_path)
    jsonschema.validate(plan.model_dump(mode="json"), schema("plan.schema.json"))
    jsonschema.validate(json.loads(state.model_dump_json()), schema("state.schema.json"))


def test_yaml_examples_validate_against_the_config_schema() -> None:
    for path in ROOT.glob("examples/**/*.yaml"):
        jsonschema.validate(YAML(typ="safe").load(path.read_text()), schema("config.schema.json"))


def test_config_schema_rejects_unknown_attributes() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"domains": {"web": {"memroy": "1GiB"}}}, schema("config.schema.json"))
