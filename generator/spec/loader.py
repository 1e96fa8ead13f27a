"""Loading a spec: YAML with positions -> shape check -> meaning checks, all problems at once.

The YAML is read with ruamel.yaml, which keeps the line and column of every key and value.
The tree is turned into plain Python beside an index of positions by spec path, so every
diagnostic, whichever stage finds it, is reported at `file:line:col`.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..diagnostics import Diagnostic, SpecError, SpecPath
from ..names import did_you_mean
from .checks import check_spec
from .model import Spec

Position = tuple[int, int]


@dataclass(frozen=True)
class SourceMap:
    """Positions (1-based line, column) of every key and value, by spec path."""

    file: str
    keys: dict[SpecPath, Position]
    values: dict[SpecPath, Position]

    def locate(self, diagnostic: Diagnostic) -> Diagnostic:
        """Place a diagnostic at its path, or at the nearest enclosing place that exists."""
        table = self.keys if diagnostic.code in _AT_KEY else self.values
        path = diagnostic.path
        if path not in self.values:  # a normalised shorthand: `slot: Slot` has no `type` key
            path = tuple(p for p in path if p not in _SHORTHAND_KEYS)
        for depth in range(len(path), -1, -1):
            position = table.get(path[:depth]) or self.values.get(path[:depth])
            if position:
                return diagnostic.located(self.file, *position)
        return diagnostic.located(self.file, 1, 1)


_SHORTHAND_KEYS = ("type", "values")
_AT_KEY = {"unknown-key", "reserved-word", "bad-name", "duplicate-name"}


def _plain(
    node: Any, path: SpecPath, keys: dict[SpecPath, Position], values: dict[SpecPath, Position]
) -> Any:
    """Turn ruamel's round-trip tree into plain Python, recording positions as it goes."""
    if isinstance(node, CommentedMap):
        plain: dict[Any, Any] = {}
        for key, value in node.items():
            child = (*path, str(key))
            key_line, key_col = node.lc.key(key)
            value_line, value_col = node.lc.value(key)
            keys[child] = (key_line + 1, key_col + 1)
            values[child] = (value_line + 1, value_col + 1)
            plain[str(key)] = _plain(value, child, keys, values)
        return plain
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            values[(*path, index)] = (line + 1, col + 1)
            items.append(_plain(value, (*path, index), keys, values))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int) and type(node) is not int:  # ScalarBoolean and ScalarInt
        return bool(node) if type(node).__name__ == "ScalarBoolean" else int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, dt.date):
        return node.isoformat()
    return node


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse YAML text into plain Python and its source map; YAML errors are diagnostics."""
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (error.problem or error.context or "invalid YAML").strip()
        fix = "fix the YAML syntax at this place"
        if "found duplicate key" in str(error) or "duplicate key" in problem:
            problem, fix = _duplicate_key(str(error)), "give each entry a unique name"
        raise SpecError([Diagnostic("yaml-syntax", (), problem, fix, file, line, col)]) from None
    except YAMLError as error:
        raise SpecError(
            [Diagnostic("yaml-syntax", (), str(error), "fix the YAML", file, 1, 1)]
        ) from None
    keys: dict[SpecPath, Position] = {}
    values: dict[SpecPath, Position] = {(): (1, 1)}
    return _plain(tree, (), keys, values), SourceMap(file, keys, values)


def _duplicate_key(text: str) -> str:
    for line in text.splitlines():
        if "found duplicate key" in line:
            return line.strip().rstrip(".").replace("found duplicate key", "duplicate name")
    return "duplicate name"


def load_spec(path: Path) -> Spec:
    """Read, shape-check and meaning-check a spec file; raise SpecError with every problem."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SpecError(
            [
                Diagnostic(
                    "unreadable",
                    (),
                    f"cannot read the spec ({reason})",
                    "check the path and that the file is UTF-8",
                    file,
                    0,
                    0,
                )
            ]
        ) from None
    return parse_spec(text, file)


def parse_spec(text: str, file: str = "<spec>") -> Spec:
    """Shape-check and meaning-check spec text; raise SpecError with every problem."""
    data, source = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecError(
            [
                Diagnostic(
                    "not-a-mapping",
                    (),
                    "the spec is not a YAML mapping",
                    "start from `apigen: 1`, `name:` and `version:` keys",
                    file,
                    1,
                    1,
                )
            ]
        )
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        raise SpecError(source.locate(d) for d in _shape_diagnostics(error.errors())) from None
    problems = list(check_spec(spec))
    if problems:
        raise SpecError(source.locate(d) for d in problems)
    return spec


# -- shape errors: pydantic's errors, said in the spec's words -------------------------------

_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def _shape_diagnostics(errors: Iterable[ErrorDetails]) -> Iterable[Diagnostic]:
    for error in errors:
        path: SpecPath = tuple(error["loc"])
        kind = error["type"]
        given = error.get("input")
        if kind == "extra_forbidden":
            key = str(path[-1])
            allowed = _allowed_keys(path[:-1])
            yield Diagnostic(
                "unknown-key",
                path,
                f"unknown key '{key}'",
                f"remove it{did_you_mean(key, allowed) or ''}"
                + (f" (allowed: {', '.join(allowed)})" if allowed else ""),
            )
        elif kind == "missing":
            yield Diagnostic(
                "missing-key", path, f"missing required key '{path[-1]}'", f"add `{path[-1]}:` here"
            )
        elif kind == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            choices = [c.strip(" '") for c in str(expected).replace(" or ", ",").split(",")]
            hint = did_you_mean(str(given), choices) if isinstance(given, str) else ""
            yield Diagnostic(
                "bad-value",
                path,
                f"{given!r} is not allowed here",
                f"use one of {expected}{hint.replace('; ', ' (') + ')' if hint else ''}",
            )
        elif kind in _EXPECTED:
            yield Diagnostic(
                "wrong-type",
                path,
                f"expected {_EXPECTED[kind]}, got {_describe(given)}",
                f"write {_EXPECTED[kind]} here",
            )
        elif kind in ("too_short", "list_too_short", "dict_too_short"):
            yield Diagnostic("empty", path, "must not be empty", "add at least one entry")
        else:
            yield Diagnostic("bad-value", path, error["msg"].lower(), "correct the value")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    kind = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if isinstance(value, (bool, int, float, str)) else kind


def _allowed_keys(path: SpecPath) -> list[str]:
    """The keys the spec model accepts at `path`, found by walking the model's annotations."""
    annotation: Any = Spec
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return []
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            annotation = args[-1] if args else Any
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated[...]` and `X | None` down to the model or container inside."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
