"""The checked-in JSON Schemas match the models, and the examples validate against them."""

from pathlib import Path

import pytest

from kvmstate.provider import Registry
from kvmstate.schemas import all_schemas, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["config.schema.json", "plan.schema.json", "state.schema.json"])
def test_checked_in_schema_is_current(name: str) -> None:
    current = render(all_schemas(Registry.discover())[name])
    assert (ROOT / "schemas" / name).read_text() == current, \
        "schemas/ is out of date: run `.venv/bin/python -m kvmstate.schemas schemas`"
