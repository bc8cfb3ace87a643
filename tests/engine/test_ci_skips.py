"""Under CI=true a real-daemon test that does not run is a failure (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = '''
import pytest
pytestmark = pytest.mark.libvirtd
def test_runs(): pass
def test_skips_itself(): pytest.skip("no guest image")
'''


@pytest.mark.parametrize("ci,daemon,summary", [
    ("", "", "2 skipped"),
    ("true", "", "2 errors"),                 # no daemon: both would be skipped, so both fail
    ("true", "1", "1 failed, 1 passed"),      # the daemon is there: the test's own skip fails
    ("", "1", "1 passed, 1 skipped"),
])
def test_skipped_libvirtd_test_fails_under_ci(tmp_path: Path, ci: str, daemon: str, summary: str) -> None:
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F401,F403\n")
    (tmp_path / "test_daemon.py").write_text(TESTS)
    env = {**os.environ, "CI": ci, "KVMSTATE_PRIVATE_LIBVIRTD": daemon, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore",
                             str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert summary in result.stdout.splitlines()[-1], result.stdout
    assert (result.returncode == 0) == (ci != "true"), result.stdout
    if ci:
        assert "CI=true: a test that needs libvirtd may not be skipped" in result.stdout
