"""User-data templates: Jinja2 in a sandbox, where an unknown variable is an error that names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render_file(path: Path, variables: dict[str, Any]) -> str:
    """The template at `path` rendered with `variables`; a ValueError says what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the template {path}: {exc}") from None
    try:
        return _ENV.from_string(text).render(**variables)
    except UndefinedError as exc:
        raise ValueError(f"the template {path.name} uses {exc.message.removesuffix(' is undefined')}, "
                         "which `template_vars` does not define") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" line {line}" if line else ""
        raise ValueError(f"the template {path.name}{where} is invalid: {exc.message or exc}") from None
