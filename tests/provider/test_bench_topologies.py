"""The benchmark's topology written in each style makes the same libvirt objects, and each plans nothing once
applied: a scale figure measures a true no-op plan of the same work, whichever way the files are written."""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from bench import scale, testdriver
from bench.topology import Topology


def objects(uri: str) -> dict[str, list[str]]:
    conn = libvirt.open(uri)
    try:
        return {"networks": sorted(n.name() for n in conn.listAllNetworks()),
                "volumes": sorted(v.name() for p in conn.listAllStoragePools() for v in p.listAllVolumes(0)),
                "domains": sorted(d.name() for d in conn.listAllDomains(0))}
    finally:
        conn.close()


@pytest.mark.parametrize("style", ["modules"])
def test_each_style_makes_the_same_objects_and_plans_nothing(tmp_path: Path, style: str) -> None:
    topo = Topology(4, prefix="b")
    uri, config, state = testdriver.build(topo, tmp_path / "for_each")
    styled_uri, styled_config, styled_state = testdriver.build(topo, tmp_path / style, style=style)
    scale.check_noop(styled_config, styled_state, styled_uri)        # raises unless nothing changes or drifts
    assert objects(styled_uri) == objects(uri)
    assert len(objects(uri)["domains"]) == 4
