"""docs/configuration.md lists every attribute of every resource type with its real update class."""

import re
from pathlib import Path

import pytest

from kvmstate.metadata import field_meta
from kvmstate.provider import Registry

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
REGISTRY = Registry.discover()


def documented(rtype: str) -> dict[str, str]:
    section = DOC.split(f"### {rtype}\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \|(?:[^|]*\|){2} *(live|restart|replace) *\|", section, re.M)
    return dict(rows)


@pytest.mark.parametrize("rtype", sorted(REGISTRY.types))
def test_every_attribute_is_documented_with_its_update_class(rtype: str) -> None:
    model = REGISTRY.types[rtype].model
    actual = {name: field_meta(model, name)["x-update"] for name in model.model_fields}
    assert documented(rtype) == actual
