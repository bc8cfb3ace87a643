"""The `backend` block: where the state lives, read before the rest of the configuration.

    backend "pg" {                    # HCL
      project = "lab"
    }

    backend:                          # YAML
      pg:
        project: lab

Its values are plain literals (no variables: the state must be found before the
configuration is evaluated) and never a secret: the database connection comes
from libpq's environment, service file and .pgpass. Only files that mention
`backend` are parsed here; the resource readers skip the block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvmstate.config.loader import find_files
from kvmstate.diagnostics import error


def read_backend(path: Path) -> tuple[str, dict[str, Any]] | None:
    """(kind, settings) of the configuration's backend block, or None without one."""
    found: list[tuple[str, dict, Path]] = []
    for file in find_files(path) if path.exists() else []:
        text = file.read_text(encoding="utf-8")
        if "backend" not in text:
            continue
        for kind, settings in (_from_hcl(text) if file.suffix == ".hcl" else _from_yaml(text)):
            found.append((kind, settings, file))
    if not found:
        return None
    if len(found) > 1:
        raise error("Several backend blocks", "A configuration has at most one backend block; found them in "
                    f"{', '.join(str(f[2]) for f in found)}.")
    kind, settings, file = found[0]
    if not isinstance(settings, dict) or not all(isinstance(v, (str, int, float, bool)) for v in settings.values()):
        raise error("Invalid backend block", f"{file}: the backend block holds literal values only (no variables "
                    "or nested blocks).")
    return kind, settings


def _from_hcl(text: str) -> list[tuple[str, dict]]:
    import hcl2
    blocks = hcl2.loads(text if text.endswith("\n") else text + "\n").get("backend", [])
    out = []
    for block in blocks:
        for label, body in block.items():
            out.append((label.strip('"'), {k: v.strip('"') if isinstance(v, str) else v
                                           for k, v in body.items() if k != "__is_block__"}))
    return out


def _from_yaml(text: str) -> list[tuple[str, dict]]:
    from ruamel.yaml import YAML
    doc = YAML(typ="safe").load(text)
    section = doc.get("backend") if isinstance(doc, dict) else None
    if section is None:
        return []
    if not isinstance(section, dict) or len(section) != 1:
        raise error("Invalid backend block", "`backend:` maps one backend kind to its settings, e.g. "
                    "`backend: {pg: {project: lab}}`.")
    return [(str(k), v or {}) for k, v in section.items()]
