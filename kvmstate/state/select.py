"""Which backend and workspace a command uses.

The backend, first found wins: `--state FILE` (a local file, no workspaces), the
global `--backend KIND[:PROJECT]` option or KVMSTATE_BACKEND (for pipelines), the
configuration's `backend` block (kvmstate.config.backend), else the local file
beside the configuration. A backend is named in messages and saved plans by its
location: a file path, or `pg:PROJECT/WORKSPACE`.

The workspace: `--workspace NAME` or KVMSTATE_WORKSPACE, else the one chosen with
`kvmstate workspace select` (kept in `.kvmstate/workspace` beside the
configuration), else `default`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from kvmstate.diagnostics import error

if TYPE_CHECKING:
    from kvmstate.state.backend import Backend

DEFAULT_WORKSPACE = "default"

SELECTED = Path(".kvmstate") / "workspace"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass
class Choice:
    """The command line's global --backend and --workspace (None: not given)."""

    backend: str | None = None
    workspace: str | None = None


chosen = Choice()


def folder_of(config_path: Path) -> Path:
    return config_path if config_path.is_dir() else config_path.parent


def default_state_path(config_path: Path) -> Path:
    from kvmstate.state.store import DEFAULT_STATE_FILE
    return folder_of(config_path) / DEFAULT_STATE_FILE


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise error("Invalid workspace name", f"{name!r} is not a workspace name: use letters, digits, '-', '_' "
                    "and '.', starting with a letter or digit (at most 63 characters), e.g. pr-123.")
    return name


def current_workspace(config_path: Path) -> str:
    name = chosen.workspace or os.environ.get("KVMSTATE_WORKSPACE")
    if not name:
        try:
            name = (folder_of(config_path) / SELECTED).read_text().strip()
        except FileNotFoundError:
            name = DEFAULT_WORKSPACE
    return check_name(name or DEFAULT_WORKSPACE)


def select_workspace(config_path: Path, name: str) -> None:
    """Remember `name` as the workspace for commands run on this configuration."""
    file = folder_of(config_path) / SELECTED
    file.parent.mkdir(exist_ok=True)
    file.write_text(check_name(name) + "\n")


def parse_spec(spec: str) -> tuple[str, dict]:
    """`local`, `local:PATH`, `pg` or `pg:PROJECT` as (kind, settings)."""
    kind, _, rest = spec.partition(":")
    if kind == "local":
        return kind, {"path": rest} if rest else {}
    if kind == "pg":
        return kind, {"project": rest} if rest else {}
    raise error("Unknown backend", f"{spec!r} is not a backend: use local, local:PATH, pg or pg:PROJECT.")


def open_backend(config_path: Path, state: Path | str | None = None, lock_timeout: float = 0,
                 workspace: str | None = None, spec: str | None = None) -> Backend:
    """The backend of `config_path`'s state in `workspace` (default: the current one)."""
    from kvmstate.state.crypto import Codec
    from kvmstate.state.store import WORKSPACES_DIR, StateStore, workspace_path
    codec = Codec.from_env()
    if state is not None and str(state).startswith("pg:"):          # a saved plan's location
        project, _, workspace = str(state)[3:].partition("/")
        configured_kind, configured = _configured(config_path)
        kind, settings = "pg", {**(configured if configured_kind == "pg" else {}), "project": project}
    elif state is not None:                                      # --state, or a saved plan's local location
        path = Path(state)
        named = path.parent.parent.name == WORKSPACES_DIR
        return StateStore(path, lock_timeout, codec, path.parent.name if named else DEFAULT_WORKSPACE,
                          path.parent.parent.parent / path.name if named else path)
    else:
        kind, settings = parse_spec(spec) if spec else _configured(config_path)
    workspace = check_name(workspace) if workspace else current_workspace(config_path)
    if kind == "local":
        default = Path(settings["path"]) if settings.get("path") else default_state_path(config_path)
        return StateStore(workspace_path(default, workspace), lock_timeout, codec, workspace, default)
    if kind == "pg":
        project = settings.get("project") or os.environ.get("KVMSTATE_PG_PROJECT")
        if not project:
            raise error("No project for the PostgreSQL backend", "Name the project whose state this is: "
                        "`backend \"pg\" { project = \"NAME\" }` in the configuration, --backend pg:NAME, or "
                        "KVMSTATE_PG_PROJECT. Projects sharing a database never see each other's state.")
        unknown = set(settings) - {"project", "schema", "service"}
        if unknown:
            raise error("Unknown backend setting", f"The pg backend takes project, schema and service, not "
                        f"{', '.join(sorted(unknown))}. Connection settings and passwords come from libpq "
                        "(PGHOST, PGDATABASE, pg_service.conf, ~/.pgpass), never from the configuration.")
        from kvmstate.state.postgres import PostgresBackend        # psycopg loads only for this backend
        return PostgresBackend(str(project), workspace, lock_timeout, codec, str(settings.get("schema", "kvmstate")),
                               settings.get("service"))
    raise error("Unknown backend", f"The backend kind {kind!r} is not known; kvmstate has local and pg.")


def _configured(config_path: Path) -> tuple[str, dict]:
    spec = chosen.backend or os.environ.get("KVMSTATE_BACKEND")
    if spec:
        return parse_spec(spec)
    from kvmstate.config.backend import read_backend
    return read_backend(config_path) or ("local", {})
