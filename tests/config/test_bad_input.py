"""Every bad input gives a diagnostic naming the file, line, column and field, and exit code 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kvmstate.cli import app

GOOD_NET = "networks:\n  lab:\n    mode: nat\n    ipv4: 192.168.150.0/24\n"

# (file name, content, summary, line, column, text that must appear in the detail)
CASES = [
    ("syntax.yaml", "networks:\n  lab: [\n    mode: nat\n", "Invalid YAML", 4, 1, "Expected ',' or ']'"),
    ("syntax.hcl", 'network "lab" {\n  mode = \n}\n', "Invalid HCL", 2, 10, "a value is missing"),
    ("unclosed.hcl", 'network "lab" {\n  mode = "nat"\n', "Invalid HCL", None, None, "closing brace"),
    ("unknown.yaml", GOOD_NET + "    autostrat: true\n", "Unknown attribute", 5, 5, 'Did you mean "autostart"'),
    ("unknown.hcl", 'network "lab" {\n  mode = "nat"\n  ipv4 = "10.0.0.0/24"\n  brigde = "x"\n}\n',
     "Unknown attribute", 4, 3, 'Did you mean "bridge"'),
    ("nested.yaml", "domains:\n  web:\n    disks:\n      - volume: v\n        buss: sata\n", "Unknown attribute", 5, 9,
     '"disks[0].buss"'),
    ("type.yaml", "domains:\n  web:\n    vcpu: two\n", "Invalid value", 3, 5, '"vcpu"'),
    ("bool.hcl", 'pool "p" {\n  path = "/srv/p"\n  autostart = "maybe"\n}\n', "Invalid value", 3, 3, '"autostart"'),
    ("enum.yaml", "networks:\n  lab:\n    mode: bridged\n", "Invalid value", 3, 5, "'nat', 'route', 'isolated' or 'open'"),
    ("size.yaml", "domains:\n  web:\n    memory: -1GiB\n", "Invalid value", 3, 5, "not a size"),
    ("zero.yaml", "domains:\n  web:\n    memory: 0\n", "Invalid value", 3, 5, "greater than zero"),
    ("huge.yaml", "domains:\n  web:\n    memory: 9000TiB\n", "Invalid value", 3, 5, "at most 1 PiB"),
    ("bridge.yaml", GOOD_NET + "    bridge: a-very-long-bridge-name\n", "Invalid value", 5, 5, '"bridge"'),
    ("traversal.yaml", "pools:\n  p:\n    path: /srv/../etc\n", "Invalid value", 3, 5, "without '..'"),
    ("relative.yaml", "pools:\n  p:\n    path: images\n", "Invalid value", 3, 5, "absolute path"),
    ("dhcp.yaml", GOOD_NET + "    dhcp: {start: 10.0.0.2, end: 10.0.0.9}\n", "Invalid value", 2, 3,
     "inside 192.168.150.0/24"),
    ("cidr.yaml", "networks:\n  lab:\n    ipv4: 192.168.150.1/24\n", "Invalid value", 3, 5, "CIDR"),
    ("missing.yaml", "pools:\n  p:\n    autostart: true\n", "Missing required attribute", 2, 3, '"path"'),
    ("ref.yaml", "volumes:\n  v:\n    pool: nowhere\n    capacity: 1GiB\n", "Reference to undeclared resource", 3, 5,
     "volume.v refers through \"pool\" to pool.nowhere"),
    ("dupkey.yaml", GOOD_NET + "  lab:\n    mode: isolated\n", "Invalid YAML", 5, 3, "duplicate key"),
    ("section.yaml", "netwroks:\n  lab: {}\n", "Unknown section", 1, 1, "networks"),
    ("block.hcl", 'netwrok "lab" {\n}\n', "Unknown resource type", 1, 1, "network"),
    ("label.hcl", 'network {\n}\n', "Missing resource name", 1, 1, 'network "NAME"'),
    ("expr.hcl", 'network "lab" {\n  mode = var.mode\n}\n', "Unsupported expression", 2, 10, "literal values"),
    ("name.yaml", "pools:\n  ../etc:\n    path: /srv\n", "Invalid resource name", 2, 3, "not a valid name"),
    ("mac.yaml", "domains:\n  web:\n    interfaces:\n      - {network: n, mac: '52:54:00:00:00:01'}\n"
     "      - {network: n, mac: '52:54:00:00:00:01'}\nnetworks:\n  n: {mode: isolated}\n",
     "Invalid value", 2, 3, "used by two interfaces"),
    ("top.yaml", "- networks\n", "Unexpected document", 1, 1, "mapping of resource types"),
    ("lifecycle.yaml", "pools:\n  p:\n    path: /srv\n    lifecycle:\n      prevent_destroi: true\n",
     "Unknown attribute", 5, 7, 'Did you mean "prevent_destroy"'),
    ("lifecycle.hcl", 'pool "p" {\n  path = "/srv"\n  lifecycle {\n    ignore_changes = "x"\n  }\n}\n',
     "Invalid value", 4, 5, '"lifecycle.ignore_changes"'),
    ("depends.yaml", "pools:\n  p:\n    path: /srv\n    depends_on: [network.gone]\n",
     "Reference to undeclared resource", 4, 18, "network.gone"),
    ("depends_bad.yaml", "pools:\n  p:\n    path: /srv\n    depends_on: [gone]\n", "Invalid value", 4, 5, "not a resource address"),
    ("capacity.yaml", "volumes:\n  v:\n    pool: p\n", "Invalid value", 2, 3, "`capacity` is required"),
    ("checksum.yaml", "volumes:\n  v:\n    pool: p\n    capacity: 1GiB\n    checksum: sha256:00\n",
     "Invalid value", 5, 5, '"checksum"'),
    ("nosource.yaml", "volumes:\n  v:\n    pool: p\n    capacity: 1GiB\n    checksum: sha256:" + "0" * 64 + "\n",
     "Invalid value", 2, 3, "`checksum` needs `source`"),
    ("scheme.yaml", "volumes:\n  v:\n    pool: p\n    source: ftp://host/x.img\n", "Invalid value", 4, 5,
     "only local files and http(s) URLs"),
    ("overlay.hcl", 'volume "v" {\n  pool = "p"\n  backing_store = "b"\n  format = "raw"\n}\n', "Invalid value", 1, 1,
     "must have format qcow2"),
    ("seed.yaml", "cloudinits:\n  s:\n    pool: p\n", "Invalid value", 2, 3, "needs `user_data` or `user_data_template`"),
    ("template.hcl", 'cloudinit "s" {\n  pool = "p"\n  user_data_template = "missing.j2"\n}\n', "Invalid value", 1, 1,
     "cannot read the template"),
    ("count.yaml", "pools:\n  p:\n    path: /srv\n    count: 2\n", "Not supported yet", 4, 5, "repeated resources"),
]


@pytest.mark.parametrize("name,content,summary,line,column,detail", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, name, content, summary, line, column, detail) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = CliRunner().invoke(app, ["validate", "--no-color", str(path)])
    err = result.stderr
    assert result.exit_code == 1, err
    assert "Traceback" not in err and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Error: {summary}" in err
    loc = re.search(rf"on {re.escape(str(path))} line (\d+), column (\d+)", err)
    assert loc, err
    if line is not None:
        assert int(loc.group(1)) == line, err
    if column is not None:
        assert int(loc.group(2)) == column, err
    assert detail in err


def test_duplicate_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD_NET)
    (tmp_path / "b.hcl").write_text('network "lab" {\n  mode = "isolated"\n}\n')
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: Duplicate resource" in result.stderr
    assert f"on {tmp_path / 'b.hcl'} line 1, column 1" in result.stderr
    assert f"{tmp_path / 'a.yaml'}:2:3" in result.stderr


def test_every_error_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text("domains:\n  a:\n    vcpu: x\n  b:\n    memroy: 1GiB\n")
    result = CliRunner().invoke(app, ["validate", "--no-color", str(tmp_path)])
    assert result.stderr.count("Error:") == 2


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["validate", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "No such file or folder" in missing.stderr
    empty = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert empty.exit_code == 1 and "No configuration files" in empty.stderr
