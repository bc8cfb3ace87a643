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


def test_the_yaml_schema_knows_every_section_and_the_documented_examples() -> None:
    """Trial: an editor using the schema refused `locals:`, `moved:`, `removed:` and a variable's `validation`
    and `nullable`, all valid and documented. Placeholders such as `<the image's sha256>` are left aside."""
    import json
    import re

    import jsonschema
    from ruamel.yaml import YAML

    from kvmstate.config.yaml_file import LANGUAGE_SECTIONS
    registry = Registry.discover()
    schema = json.loads((ROOT / "schemas" / "config.schema.json").read_text())
    sections = {t.plural for t in registry.types.values()} | set(LANGUAGE_SECTIONS) | {"hosts", "modules"}
    assert set(schema["properties"]) == sections
    checked = 0
    for page in ("docs/configuration.md", "docs/hosts.md", "README.md"):
        for block in re.findall(r"```yaml\n(.*?)```", (ROOT / page).read_text(), re.S):
            errors = [e for e in jsonschema.Draft202012Validator(schema).iter_errors(YAML(typ="safe").load(block))
                      if not (isinstance(e.instance, str) and "<" in e.instance)]
            assert not errors, (page, block, errors[0].message)
            checked += 1
    assert checked >= 10
