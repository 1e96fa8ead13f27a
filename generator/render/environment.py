"""The one Jinja environment of the renderers: strict, boring and deterministic."""

from __future__ import annotations

import contextlib
import functools
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from ..cache import cache_dir


def _templates() -> Path:
    """The templates: inside the package when installed from a wheel, else the checkout's."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


TEMPLATES = _templates()


_json_string = json.JSONEncoder(ensure_ascii=False).encode


def _py_string(text: str) -> str:
    """A Python string literal (double-quoted when possible, as ruff format prefers)."""
    literal = _json_string(text)
    return literal if "\\u" not in literal else repr(text)


def _docstring(text: str) -> str:
    """Text made safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()


@jinja2.pass_environment
def _selectattr(
    env: jinja2.Environment,
    items: Iterable[Any],
    attribute: str,
    test: str | None = None,
    *args: Any,
) -> Iterator[Any]:
    """Jinja's `selectattr` on objects, without its per-item attribute and test dispatch: the
    clients select from every operation once per model (ten times faster for 500 entities)."""
    value = operator.attrgetter(attribute)
    if test is None:
        return (item for item in items if value(item))
    if test == "equalto":
        return (item for item in items if value(item) == args[0])
    return (item for item in items if env.call_test(test, value(item), args))


def adapter_name(model: str) -> str:
    """The clients' module-level TypeAdapter of a result model: `list[Slot]` -> `_LIST_SLOT`."""
    return "_" + re.sub(r"\W+", "_", model).strip("_").upper()


FILTERS: dict[str, Callable[..., Any]] = {
    "adapter_name": adapter_name,
    "py_string": _py_string,
    "docstring": _docstring,
    "py_repr": repr,
    "selectattr": _selectattr,
}


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates, kept across runs in apigen's cache folder (a template whose text
    changed has a new checksum, so it compiles anew); one that cannot be written costs time."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    folder = cache_dir() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _BytecodeCache(str(folder))


@functools.cache
def environment(root: Path = TEMPLATES) -> jinja2.Environment:
    """The environment of a template folder, one per process: each template compiles once,
    and its compiled code is reused by later runs."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env
