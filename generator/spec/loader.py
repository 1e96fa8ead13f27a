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
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

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
        """Place a diagnostic at its path as written, or at the nearest enclosing place."""
        # a name problem points at the key, except for the spec's name, which is a value
        at_key = diagnostic.code in _AT_KEY and diagnostic.path != ("name",)
        table = self.keys if at_key else self.values
        path = self._as_written(diagnostic.path)
        for depth in range(len(path), -1, -1):
            position = table.get(path[:depth]) or self.values.get(path[:depth])
            if position:
                return diagnostic.located(self.file, *position, path)
        return diagnostic.located(self.file, 1, 1, path)

    def _as_written(self, path: SpecPath) -> SpecPath:
        """The path in the text: `slot: Slt` has no `type` key, `Color: [a, b]` no `values`."""
        for index, part in enumerate(path):
            if part in _SHORTHAND_KEYS and path[: index + 1] not in self.values:
                return path[:index] + path[index + 1 :]
        return path


_SHORTHAND_KEYS = ("type", "values")
_AT_KEY = {
    "unknown-key",
    "reserved-word",
    "bad-name",
    "duplicate-name",
    "missing-key",
    "missing-id",
}


class _Constructor(RoundTripConstructor):
    """Records every duplicate key (the first value wins) instead of stopping at the first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.duplicates: list[tuple[Any, Any, Any]] = []

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        if key in mapping:
            self.duplicates.append((node.start_mark, key, key_node.start_mark))
            return False
        return True


@dataclass
class _Walk:
    """Positions gathered while turning ruamel's round-trip tree into plain Python."""

    keys: dict[SpecPath, Position]
    values: dict[SpecPath, Position]
    mappings: dict[Position, SpecPath]

    def plain(self, node: Any, path: SpecPath) -> Any:
        if isinstance(node, CommentedMap):
            self.mappings[(node.lc.line + 1, node.lc.col + 1)] = path
            plain: dict[str, Any] = {}
            for key, value in node.items():
                child = (*path, _key_text(key))
                position = (node.lc.data or {}).get(key)  # none for keys merged by `<<`
                if position:
                    key_line, key_col, value_line, value_col = position
                    self.keys[child] = (key_line + 1, key_col + 1)
                    # an empty value is placed at the next key: point at its own key instead
                    self.values[child] = (
                        self.keys[child] if value is None else (value_line + 1, value_col + 1)
                    )
                plain[_key_text(key)] = self.plain(value, child)
            return plain
        if isinstance(node, CommentedSeq):
            items = []
            for index, value in enumerate(node):
                line, col = node.lc.item(index)
                self.values[(*path, index)] = (line + 1, col + 1)
                items.append(self.plain(value, (*path, index)))
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


def _key_text(key: Any) -> str:
    """A mapping key as the user wrote it: `true:` is 'true', not 'True'."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[Diagnostic]]:
    """Parse YAML text into plain Python, its source map and any duplicate keys.

    A syntax error stops the parse and is raised as a SpecError; duplicate keys are returned
    (the first value is kept) so they are reported together with every later problem.
    """
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (error.problem or error.context or "invalid YAML").strip()
        if error.problem and error.context and error.context_mark:
            start = error.context_mark
            problem += (
                f" ({error.context.strip()} at line {start.line + 1}, column {start.column + 1})"
            )
        raise SpecError(
            [Diagnostic("yaml-syntax", (), problem, "fix the YAML syntax here", file, line, col)]
        ) from None
    except ReaderError as error:
        before = text[: error.position]
        line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
        raise SpecError(
            [Diagnostic("yaml-syntax", (), error.reason, "remove this character", file, line, col)]
        ) from None
    except (YAMLError, ValueError, TypeError, KeyError) as error:  # a bad `!!tag` value
        raise SpecError(
            [
                Diagnostic(
                    "yaml-syntax",
                    (),
                    f"a value cannot be read ({str(error).splitlines()[0] if str(error) else error!r})",
                    "check values with explicit tags such as `!!int`",
                    file,
                    1,
                    1,
                )
            ]
        ) from None
    nested = isinstance(tree, (CommentedMap, CommentedSeq))
    root = (tree.lc.line + 1, tree.lc.col + 1) if nested else (1, 1)
    walk = _Walk({}, {(): root}, {})
    data = walk.plain(tree, ())
    duplicates = [
        Diagnostic(
            "duplicate-key",
            (*walk.mappings.get((start.line + 1, start.column + 1), ()), _key_text(key)),
            f"duplicate key '{_key_text(key)}'",
            "give each key a unique name, or remove the repeated one",
            file,
            mark.line + 1,
            mark.column + 1,
        )
        for start, key, mark in yaml.constructor.duplicates
    ]
    return data, SourceMap(file, walk.keys, walk.values), duplicates


def read_spec_text(path: Path, fix: str = "check the path and that the file is UTF-8") -> str:
    """The text of a spec file; an unreadable file is a diagnostic whose fix is `fix`."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        diagnostic = Diagnostic(
            "unreadable", (), f"cannot read the spec ({reason})", fix, str(path), 0, 0
        )
        raise SpecError([diagnostic]) from None


def load_spec(path: Path) -> Spec:
    """Read, shape-check and meaning-check a spec file; raise SpecError with every problem."""
    return parse_spec(read_spec_text(path), str(path))


def parse_spec(text: str, file: str = "<spec>") -> Spec:
    """Shape-check and meaning-check spec text; raise SpecError with every problem."""
    data, source, problems = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecError(
            [
                Diagnostic(
                    "not-a-mapping",
                    (),
                    "the spec is not a YAML mapping",
                    "start from `apigen: 1`, `name:` and `version:` keys",
                    file,
                    *source.values[()],
                )
            ]
        )
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        shape = (source.locate(d) for d in _shape_diagnostics(error.errors()))
        raise SpecError([*problems, *shape]) from None
    problems += (source.locate(d) for d in check_spec(spec))
    if problems:
        raise SpecError(problems)
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
            hint = did_you_mean(key, allowed)[2:]
            listed = f" (allowed: {', '.join(allowed)})" if allowed else ""
            yield Diagnostic(
                "unknown-key", path, f"unknown key '{key}'", hint or f"remove it{listed}"
            )
        elif kind == "missing":
            yield Diagnostic(
                "missing-key", path, f"missing required key '{path[-1]}'", f"add `{path[-1]}:` here"
            )
        elif kind == "literal_error":
            expected = str(error.get("ctx", {}).get("expected", ""))
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
            hint = did_you_mean(given, choices) if isinstance(given, str) else ""
            yield Diagnostic(
                "bad-value",
                path,
                f"{given!r} is not allowed here"
                if isinstance(given, (str, int, float))
                else f"{_describe(given)} is not allowed here",
                f"use {'one of ' if len(choices) > 1 else ''}{expected}{hint}",
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
