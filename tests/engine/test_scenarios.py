"""Golden plans: each folder in tests/scenarios gives a text, a JSON and a Markdown plan (or diagnostics)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmstate.diagnostics import DiagnosticError, format_plain
from kvmstate.render.markdown import render_markdown
from kvmstate.render.style import Style
from kvmstate.render.text import render_plan
from kvmstate.render.mask import mask_plan

from tests.engine.scenarios import run_until_plan

SCENARIOS = sorted(p for p in (Path(__file__).parent.parent / "scenarios").iterdir() if p.is_dir())


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario(folder: Path, tmp_path: Path, golden) -> None:
    if (folder / "error.txt").exists():
        with pytest.raises(DiagnosticError) as exc:
            run_until_plan(folder, tmp_path)
        text = "\n".join(format_plain(d) for d in exc.value.diagnostics).replace(str(folder) + "/", "") + "\n"
        golden(folder / "error.txt", text)
        return
    plan, _, _ = run_until_plan(folder, tmp_path)
    golden(folder / "plan.txt", render_plan(mask_plan(plan), Style(False)))
    golden(folder / "plan.json", json.dumps(mask_plan(plan).model_dump(mode="json"), indent=2) + "\n")
    golden(folder / "plan.md", render_markdown(mask_plan(plan)))


TWINS = [p for p in SCENARIOS if (p / "twin").is_dir()]


@pytest.mark.parametrize("folder", TWINS, ids=[p.name for p in TWINS])
def test_twin_gives_the_same_plan(folder: Path, tmp_path: Path) -> None:
    """`twin/` is `after/` written in the other syntax (HCL and YAML): both must plan alike."""
    assert {p.suffix for p in (folder / "after").iterdir()} != {p.suffix for p in (folder / "twin").iterdir()}
    plan, _, _ = run_until_plan(folder, tmp_path / "after")
    twin, _, _ = run_until_plan(folder, tmp_path / "twin", after="twin")
    assert twin.model_dump(mode="json") == plan.model_dump(mode="json")
