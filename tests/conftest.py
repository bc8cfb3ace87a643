"""Shared fixtures: the real-daemon tests run only inside scripts/private-libvirtd."""

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--regenerate", action="store_true",
                     help="Rewrite golden files (scenario plans, provider XML) from the current output.")


@pytest.fixture
def regenerate(request) -> bool:
    return request.config.getoption("--regenerate")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("KVMSTATE_PRIVATE_LIBVIRTD") == "1":
        return
    skip = pytest.mark.skip(reason="needs the private libvirtd: run through `make test`")
    for item in items:
        if "libvirtd" in item.keywords:
            item.add_marker(skip)
