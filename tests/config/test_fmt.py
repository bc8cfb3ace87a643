"""`kvmstate fmt`: canonical layout for HCL and YAML, comments kept, --check writes nothing and exits 3."""

from __future__ import annotations

from pathlib import Path

import hcl2
from typer.testing import CliRunner

from kvmstate.cli import application

app = application()

MESSY_HCL = '''# top comment
network   "lab" {
    mode="nat"   # why nat
  ipv4 =   "10.0.0.0/24"


  dhcp {
  start = "10.0.0.2"
      end = "10.0.0.9"
  }
}
'''
TIDY_HCL = '''# top comment
network "lab" {
  mode = "nat"   # why nat
  ipv4 = "10.0.0.0/24"

  dhcp {
    start = "10.0.0.2"
    end   = "10.0.0.9"
  }
}
'''
MESSY_YAML = "# lab\nnetworks:\n    lab:   # the lab\n        mode: nat\ndomains:\n  web:\n     disks:\n     - volume: x\n"
TIDY_YAML = "# lab\nnetworks:\n  lab:     # the lab\n    mode: nat\ndomains:\n  web:\n    disks:\n      - volume: x\n"


def test_fmt_rewrites_and_keeps_comments(tmp_path: Path) -> None:
    (tmp_path / "a.hcl").write_text(MESSY_HCL)
    (tmp_path / "b.yaml").write_text(MESSY_YAML)
    result = CliRunner().invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.hcl").read_text() == TIDY_HCL
    assert (tmp_path / "b.yaml").read_text() == TIDY_YAML
    assert hcl2.loads(TIDY_HCL) == hcl2.loads(MESSY_HCL)
    assert result.stdout.splitlines() == [str(tmp_path / "a.hcl"), str(tmp_path / "b.yaml")]
    again = CliRunner().invoke(app, ["fmt", "--check", str(tmp_path)])
    assert again.exit_code == 0 and again.stdout == ""


def test_fmt_check_lists_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.hcl").write_text(MESSY_HCL)
    (tmp_path / "tidy.hcl").write_text(TIDY_HCL)
    result = CliRunner().invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [str(tmp_path / "a.hcl")]
    assert (tmp_path / "a.hcl").read_text() == MESSY_HCL


def test_fmt_keeps_heredocs(tmp_path: Path) -> None:
    text = 'domain "web" {\n  description = <<EOT\n   kept   as   is\nEOT\n  vcpu=2\n}\n'
    (tmp_path / "a.hcl").write_text(text)
    assert CliRunner().invoke(app, ["fmt", str(tmp_path)]).exit_code == 0
    assert (tmp_path / "a.hcl").read_text() == 'domain "web" {\n  description = <<EOT\n   kept   as   is\nEOT\n  vcpu = 2\n}\n'


def test_fmt_refuses_a_file_that_does_not_parse(tmp_path: Path) -> None:
    (tmp_path / "bad.hcl").write_text('network "lab" {\n  mode = \n')
    result = CliRunner().invoke(app, ["fmt", "--no-color", str(tmp_path)])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error: Invalid HCL" in result.stderr and f"on {tmp_path / 'bad.hcl'} line" in result.stderr
    assert (tmp_path / "bad.hcl").read_text() == 'network "lab" {\n  mode = \n'
