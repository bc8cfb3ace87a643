"""Print the fuzz seed at the end of every run that fuzzed, so a CI failure can be replayed."""

from __future__ import annotations

import sys


def pytest_terminal_summary(terminalreporter) -> None:
    fuzz = sys.modules.get("tests.config.test_fuzz")
    if fuzz is not None:
        terminalreporter.write_line(f"fuzz seed: {fuzz.SEED} (replay with KVMSTATE_FUZZ_SEED={fuzz.SEED})")
