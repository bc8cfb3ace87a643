"""The YAML reader's fast path (libyaml) reads every value and position exactly as ruamel's own parser does."""

from __future__ import annotations

from kvmstate.config.yaml_file import read_yaml
from kvmstate.diagnostics import Diagnostics

DOC = """\
domains:
  web:
    vcpu: 2
    memory: 1GiB
    autostart: true
    power: "running"
    description: yes
    machine: 0x1F
    disks:
      - {volume: '007', bus: virtio}
      - volume: 2024-01-01
    interfaces: [{network: 'null', mac: null}, {network: on, model: 1.5}]
  1234: {vcpu: ~}
"""

PLURALS = {"domains": "domain"}


def test_fast_path_matches_ruamel() -> None:
    fast = read_yaml("f.yaml", DOC, PLURALS, Diagnostics())
    # A %YAML directive sends the text through ruamel's pure-Python parser; it shifts lines by two.
    slow = read_yaml("f.yaml", "%YAML 1.2\n---\n" + DOC, PLURALS, Diagnostics())
    assert [(r.type, r.name, r.body) for r in fast] == [(r.type, r.name, r.body) for r in slow]
    assert fast[0].body["interfaces"][0] == {"network": "null", "mac": None}
    assert fast[0].body["disks"][0]["volume"] == "007" and fast[0].body["description"] == "yes"
    for f, s in zip(fast, slow):
        assert {p: (pos.line + 2, pos.column) for p, pos in f.positions.items()} == \
               {p: (pos.line, pos.column) for p, pos in s.positions.items()}
        assert (f.position.line + 2, f.position.column) == (s.position.line, s.position.column)
    assert fast[0].positions[("disks", 1, "volume")].line == 11
