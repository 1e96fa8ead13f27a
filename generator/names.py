"""Names: one spec name, cased once for every style, and the words no style may use.

A `Name` is built once in the IR from the spelling in the spec (`book_appointment`,
`AppointmentStatus`, `appointment.status_changed`) and carries every casing the emitters
and renderers need, so no later stage re-cases a name.
"""

from __future__ import annotations

import difflib
import keyword
import re
from dataclasses import dataclass
from functools import cached_property

_WORD_SPLIT = re.compile(r"[._\-\s]+|(?<=[a-z0-9])(?=[A-Z])")

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PASCAL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

# Words that would break a generated Python module, GraphQL schema or proto file.
PYTHON_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}
PROTO_RESERVED = frozenset(
    [
        "syntax",
        "import",
        "weak",
        "public",
        "package",
        "option",
        "message",
        "enum",
        "service",
        "rpc",
        "returns",
        "stream",
        "oneof",
        "map",
        "reserved",
        "extensions",
        "extend",
        "to",
        "max",
        "repeated",
        "optional",
        "required",
        "group",
        "double",
        "float",
        "int32",
        "int64",
        "uint32",
        "uint64",
        "sint32",
        "sint64",
        "fixed32",
        "fixed64",
        "sfixed32",
        "sfixed64",
        "bool",
        "string",
        "bytes",
        "true",
        "false",
    ]
)
GRAPHQL_RESERVED = frozenset({"true", "false", "null"})


def reserved_in(word: str) -> str | None:
    """The style in which `word` is reserved, or None when every style accepts it."""
    if word in PYTHON_RESERVED:
        return "Python"
    if word in PROTO_RESERVED:
        return "proto"
    if word in GRAPHQL_RESERVED or word.startswith("__"):
        return "GraphQL"
    return None


def words(text: str) -> list[str]:
    """Split any spelling (snake, Pascal, dotted, kebab) into lower-case words."""
    return [w.lower() for w in _WORD_SPLIT.split(text) if w]


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """A `; did you mean 'x'?` suffix for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


def pluralize(word: str) -> str:
    """English plural of one lower-case word (appointment -> appointments, category -> categories)."""
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


@dataclass(frozen=True)
class Name:
    """A spec name and its casings for every style."""

    raw: str

    @cached_property
    def parts(self) -> tuple[str, ...]:
        return tuple(words(self.raw))

    @property
    def snake(self) -> str:
        return "_".join(self.parts)

    @property
    def upper(self) -> str:
        return self.snake.upper()

    @property
    def kebab(self) -> str:
        return "-".join(self.parts)

    @property
    def pascal(self) -> str:
        return "".join(p.capitalize() for p in self.parts)

    @property
    def camel(self) -> str:
        pascal = self.pascal
        return pascal[:1].lower() + pascal[1:]

    def plural(self) -> Name:
        """The name with its last word in the plural (Appointment -> Appointments)."""
        *head, last = self.parts
        return Name("_".join([*head, pluralize(last)]))

    def __add__(self, other: Name | str) -> Name:
        tail = other.raw if isinstance(other, Name) else other
        return Name(f"{self.snake}_{'_'.join(words(tail))}")

    def __str__(self) -> str:
        return self.raw
