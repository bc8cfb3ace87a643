"""Fixtures for the libvirt provider's tests: a private test-driver host per test."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from kvmstate_libvirt import LibvirtProvider

# libvirt's test driver reads a node description from a file; each open of a file
# URI gets its own in-memory driver instance, unlike the process-wide test:///default.
NODE_XML = """<node>
  <cpu>
    <mhz>3000</mhz>
    <model>i686</model>
    <active>4</active>
    <nodes>1</nodes>
    <sockets>1</sockets>
    <cores>4</cores>
    <threads>1</threads>
  </cpu>
  <memory>8388608</memory>
</node>
"""


@pytest.fixture
def uri(tmp_path: Path) -> str:
    node = tmp_path / "node.xml"
    node.write_text(NODE_XML)
    return f"test://{node}"


@pytest.fixture
def provider(uri: str):
    p = LibvirtProvider()
    p.configure({"h1": uri}, {"shutdown_timeout": 1})
    yield p
    p.close()


@pytest.fixture
def conn(provider: LibvirtProvider) -> libvirt.virConnect:
    """The provider's own connection: the test driver's objects exist only inside it."""
    return provider.connections.get("h1").conn
