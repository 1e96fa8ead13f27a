"""The one Jinja environment of the renderers: strict, boring and deterministic."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2


def _templates() -> Path:
    """The templates: inside the package when installed from a wheel, else the checkout's."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


TEMPLATES = _templates()


def _py_string(text: str) -> str:
    """A Python string literal (double-quoted when possible, as ruff format prefers)."""
    literal = json.dumps(text, ensure_ascii=False)
    return literal if "\\u" not in literal else repr(text)


def _docstring(text: str) -> str:
    """Text made safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()


FILTERS: dict[str, Callable[..., Any]] = {
    "py_string": _py_string,
    "docstring": _docstring,
    "py_repr": repr,
}


def environment(root: Path = TEMPLATES) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env
