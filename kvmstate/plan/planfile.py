"""Saved plans: `plan --out FILE` writes one, `apply FILE` carries it out, `show FILE` prints it.

A saved plan is the JSON plan (the same document as `plan --json`), written with
mode 0600. It records the state's lineage and serial, hashes of the configuration
files and of the variables' values, and the options it was made with. Before applying it, kvmstate checks that
the state and the files are unchanged, plans again with the same options and
checks that the live objects still give exactly the saved actions. Any
difference refuses the plan as stale, before anything is touched. With a state key
set (kvmstate.state.crypto), the saved plan is encrypted like the state.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pydantic import ValidationError

from kvmstate.config import Configuration
from kvmstate.config.loader import EXTENSIONS
from kvmstate.diagnostics import error
from kvmstate.plan.model import PLAN_FORMAT_VERSION, Plan, Source
from kvmstate.state import State
from kvmstate.state.crypto import Codec


def files_hash(config: Configuration) -> str:
    """sha256 over the configuration files' names and contents, in name order."""
    digest = hashlib.sha256()
    for file in sorted(config.files, key=lambda f: f.name):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def variables_hash(config: Configuration) -> str:
    """sha256 over the variables' values (from --var, --var-file, the environment and defaults)."""
    values = json.dumps(config.variables, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(values).hexdigest()


def source(config: Configuration, path: str, state: str) -> Source:
    """What a saved plan was made from: a change to the files or to a variable's value makes it stale."""
    return Source(path=path, state=state, hash=files_hash(config), variables=variables_hash(config))


def save(plan: Plan, path: Path) -> None:
    """Write the plan, readable by its owner only (it holds every desired attribute)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        codec = Codec.from_env()
        with open(fd, "w", encoding="utf-8") as f:
            f.write((json.dumps(codec.seal(plan.model_dump(mode="json"))) if codec.encrypts else
                     plan.model_dump_json(indent=2)) + "\n")
    except OSError as exc:
        raise error("Cannot write the plan", f"{path}: {exc.strerror}.") from None


def is_plan_file(path: Path) -> bool:
    """Whether a command-line PATH names a saved plan rather than configuration."""
    if not path.is_file() or path.suffix in EXTENSIONS:
        return False
    with open(path, "rb") as f:
        return f.read(1) == b"{"


def load(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error("Cannot read the saved plan", f"{path}: {exc}.") from None
    data = Codec.from_env().open(data)
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != PLAN_FORMAT_VERSION:
        raise error("Unsupported saved plan", f"{path} has plan format {version!r}; this kvmstate reads format "
                    f"{PLAN_FORMAT_VERSION!r}. Make the plan again with this kvmstate.")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise error("Invalid saved plan", f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}.") from None
    if plan.source is None:
        raise error("Invalid saved plan", f"{path} does not say which configuration it was made from; save plans "
                    "with `kvmstate plan --out FILE`.")
    return plan


def check_fresh(saved: Plan, state: State, config: Configuration) -> None:
    """Refuse a saved plan whose state, configuration files or variable values changed since it was made."""
    reasons = []
    if state.lineage != saved.lineage:
        reasons.append(f"the state has lineage {state.lineage}, the plan was made for {saved.lineage}")
    if state.serial != (saved.prior_serial or 0):
        reasons.append(f"the state is at serial {state.serial}, the plan was made at serial {saved.prior_serial or 0}"
                       " (something was applied since)")
    if files_hash(config) != saved.source.hash:
        reasons.append(f"the configuration files in {saved.source.path} changed")
    if variables_hash(config) != saved.source.variables:
        reasons.append("the variables have other values (--var, --var-file, KVMSTATE_VAR_NAME): give the "
                       "same ones as to `kvmstate plan --out`")
    if reasons:
        raise _stale("; ".join(reasons))


def check_same(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan when planning again now gives other actions (the live objects changed)."""
    def by_address(plan: Plan) -> dict[str, str]:
        items = [*plan.resource_changes, *plan.drift]
        return {f"{type(i).__name__}:{i.address}": i.model_dump_json() for i in items}
    old, new = by_address(saved), by_address(fresh)
    differ = sorted({k.split(":", 1)[1] for k in old.keys() | new.keys() if old.get(k) != new.get(k)})
    if differ:
        raise _stale(f"the live objects changed since the plan was made ({', '.join(differ)})")


def _stale(why: str):
    return error("Stale plan", f"The saved plan no longer applies: {why}. Nothing was changed. Run "
                 "`kvmstate plan --out FILE` again and review the new plan.")
