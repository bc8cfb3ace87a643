"""Shared fixtures: the real-daemon tests run only inside scripts/private-libvirtd."""

import os
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--regenerate", action="store_true",
                     help="Rewrite golden files (scenario plans, provider XML) from the current output.")


@pytest.fixture
def golden(request):
    """`golden(path, actual)`: the output must equal the golden file; `pytest --regenerate` rewrites it instead.
    The one switch for every golden file (scenario plans, provider XML)."""
    regenerate = request.config.getoption("--regenerate")

    def check(path: Path, actual: str) -> None:
        if regenerate or not path.exists():
            path.write_text(actual)
            if not regenerate:
                pytest.fail(f"{path} did not exist and was written; review it and run again")
        assert actual == path.read_text(), f"{path} differs; run pytest --regenerate to accept the new output"
    return check


def pytest_collection_modifyitems(config, items):
    if os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD") == "1":
        return
    skip = pytest.mark.skip(reason="needs the private libvirtd: run through `make test`")
    for item in items:
        if "libvirtd" in item.keywords:
            item.add_marker(skip)
