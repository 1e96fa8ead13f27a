"""The render context: small views of the IR shaped for the service templates.

Templates see only these views and the IR, never the raw spec. Everything here is derived
from the IR alone; what several renderers would need belongs in the IR instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..ir import Api, ApiError, Field, Operation
from ..names import Name
from .environment import adapter_name
from .models import TEXT_TYPES

# The Python annotation of each scalar kind, as the generated modules import them.
_SCALAR_TYPES = {
    "id": "str",
    "string": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "date": "date",
    "datetime": "datetime",
    "decimal": "Decimal",
    "email": "str",
    "url": "str",
    "uuid": "UUID",
    "bytes": "str",
}

IDEMPOTENCY_HEADER = "Idempotency-Key"
_TEXT_TYPE = re.compile(r"\b(" + "|".join(TEXT_TYPES) + r")\b")


def python_type(field: Field) -> str:
    """The Python annotation of a field's value (entity references are ids)."""
    ref = field.type
    if ref.kind == "enum":
        base = ref.name
    elif ref.kind == "entity":
        base = "str"
    else:
        base = _SCALAR_TYPES[ref.name]
    return f"list[{base}]" if ref.is_list else base


@dataclass(frozen=True)
class Param:
    """A path or query parameter of an operation, as a keyword argument everywhere."""

    name: str  # the Python keyword
    wire: str  # its name on the wire
    location: str  # path | query
    annotation: str  # with `| None` when optional
    default: str | None  # a Python expression, or None when required
    constraints: dict[str, Any]  # FastAPI Query/Path keyword arguments

    @property
    def checked_annotation(self) -> str:
        """The annotation, with dates, date-times and decimals accepted only in text form."""
        return _TEXT_TYPE.sub(lambda m: TEXT_TYPES[m[1]], self.annotation)

    @property
    def constraint_args(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.constraints.items()]
        if self.wire != self.name:
            args.insert(0, f"alias={self.wire!r}")
        return ", ".join(args)


@dataclass(frozen=True)
class ServiceOp:
    """One operation as the service interface, the REST adapter and the clients see it."""

    op: Operation
    params: tuple[Param, ...]
    returns: str  # the Python annotation of the result
    result_model: str | None  # the model parsing the result (clients), None for no content

    @property
    def method(self) -> str:
        return self.op.name.snake

    @property
    def body(self) -> str | None:
        return self.op.http.body

    @property
    def text_types(self) -> list[str]:
        """The text-checked model aliases the parameters' `checked_annotation`s use."""
        return [TEXT_TYPES[t] for p in self.params for t in _TEXT_TYPE.findall(p.annotation)]

    @property
    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "query")

    @cached_property
    def body_fields(self) -> tuple[Field, ...]:
        """The fields sent in the body: the input minus parameters and the idempotency key."""
        if not self.body:
            return ()
        in_params = {p.field.json_name for p in self.op.http.params if p.field}
        return tuple(f for f in self.op.input.fields if f.json_name not in in_params)

    @cached_property
    def body_params(self) -> tuple[Param, ...]:
        """The body fields as keyword arguments (the clients' signature)."""
        return tuple(_param(f, "body", f.json_name, not f.optional) for f in self.body_fields)

    @property
    def adapter(self) -> str:
        """The name of the clients' module-level TypeAdapter of the result."""
        return adapter_name(self.result_model or "none")

    @property
    def idempotent(self) -> bool:
        return any(
            p.location == "header" and p.name == IDEMPOTENCY_HEADER for p in self.op.http.params
        )

    @property
    def docstring(self) -> str:
        return self.op.description or self.op.name.snake.replace("_", " ").capitalize() + "."

    @property
    def signature(self) -> str:
        """The method an implementation needs, as one line of Python."""
        params = [f"{p.name}: {p.annotation}" for p in self.params]
        body = [f"body: {self.body}"] if self.body else []
        args = ", ".join(["self", "*", "principal: Principal", *params, *body])
        return f"async def {self.method}({args}) -> {self.returns}"

    @property
    def no_content(self) -> bool:
        return self.op.output.kind == "none"


def _param(field: Field, location: str, wire: str, required: bool) -> Param:
    annotation = python_type(field)
    default = None
    if field.default is not None:
        default = repr(field.default)
        value = field.default
        if field.type.kind == "enum" and isinstance(value, str) and value.isidentifier():
            # datamodel-code-generator names a member after its value when it can.
            default = f"{field.type.name}.{value}"
    elif not required:
        annotation += " | None"
        default = "None"
    c = field.constraints
    constraints = {
        key: value
        for key, value in (
            ("ge", c.minimum),
            ("le", c.maximum),
            ("min_length", c.min_length),
            ("max_length", c.max_length),
            ("pattern", c.pattern),
        )
        if value is not None
    }
    if field.type.kind in ("entity",) or field.type.name == "id":
        constraints.setdefault("min_length", 1)
    return Param(field.json_name, wire, location, annotation, default, constraints)


def service_op(op: Operation) -> ServiceOp:
    params = tuple(
        _param(p.field, p.location, p.name, p.required)
        for p in op.http.params
        if p.field is not None and p.location in ("path", "query")
    )
    for p in params:
        if not p.name.isidentifier():
            raise ValueError(f"parameter '{p.wire}' of {op.name.snake} is not a Python name")
    output = op.output
    entity = output.entity
    if output.kind == "none" or entity is None:
        returns, model = "None", None
    elif output.kind == "entity":
        returns = model = entity
    elif output.kind == "list":
        returns = model = f"list[{entity}]"
    else:
        returns = model = f"{entity}Page"
    return ServiceOp(op, params, returns, model)


def error_class(error: ApiError) -> str:
    """The exception class of a catalogue error: `slot_unavailable` -> `SlotUnavailable`."""
    return Name(error.code).pascal


def model_names(api: Api, ops: list[ServiceOp]) -> list[str]:
    """The models a module typed with the operations imports, sorted."""
    names: set[str] = set()
    for s in ops:
        if s.body:
            names.add(s.body)
        if s.op.output.entity:
            names.add(s.returns.removeprefix("list[").removesuffix("]"))
        for p in (*s.params, *s.body_params):
            base = p.annotation.removesuffix(" | None").removeprefix("list[").removesuffix("]")
            if any(e.name.raw == base for e in api.enums):
                names.add(base)
    return sorted(names)


def stdlib_types(ops: list[ServiceOp]) -> list[tuple[str, str]]:
    """The standard library (module, name) pairs the parameters' annotations use, sorted."""
    tokens = set(
        re.findall(
            r"[A-Za-z_]+", " ".join(p.annotation for s in ops for p in (*s.params, *s.body_params))
        )
    )
    wanted = (
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
    )
    return [(module, name) for module, name in wanted if name in tokens]
