"""The raw spec: the YAML as the user wrote it, shape-checked by pydantic.

These models check the shape of a spec (keys, value types, literals) and publish it as a
JSON Schema (`apigen schema`) for editors. Shorthands are normalised here, so later stages see
one form: `slot: Slot` is `{type: Slot}`, `Slot?` is optional, `[Slot]` a list, and an enum or
scope list is a mapping. Meaning (does `Slot` exist?) is checked in `checks.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SCALAR_TYPES = (
    "id",
    "string",
    "int",
    "float",
    "bool",
    "date",
    "datetime",
    "decimal",
    "email",
    "url",
    "uuid",
    "bytes",
)
CRUD_OPERATIONS = ("list", "get", "create", "update", "delete")


class SpecModel(BaseModel):
    """Strict: unknown keys are errors and nothing is coerced (`"5"` is not `5`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _field_shorthand(value: Any) -> Any:
    """`"Slot"`, `"Slot?"`, `"[Slot]"` and `{type: "[Slot]?"}` all become one mapping."""
    if isinstance(value, str):
        value = {"type": value}
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        expr = value["type"].strip()
        normalised = dict(value)
        if expr.endswith("?"):
            normalised["optional"] = True
            expr = expr[:-1].strip()
        if expr.startswith("[") and expr.endswith("]"):
            normalised["list"] = True
            expr = expr[1:-1].strip()
        normalised["type"] = expr
        return normalised
    return value


class FieldSpec(SpecModel):
    """One field of an entity, an operation input or an event payload."""

    type: str = Field(description="A scalar, enum or entity name; `T?` optional, `[T]` a list.")
    optional: bool = False
    list: bool = Field(default=False, description="Set by the `[T]` shorthand.")
    read_only: bool = Field(default=False, description="Set by the server, never by a client.")
    description: str = ""
    example: Any = None
    default: Any = None
    min: float | None = None
    max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


FieldDecl = Annotated[
    FieldSpec, BeforeValidator(_field_shorthand, json_schema_input_type=str | FieldSpec)
]
Fields = dict[str, FieldDecl]


def _enum_shorthand(value: Any) -> Any:
    return {"values": value} if isinstance(value, list) else value


class EnumSpec(SpecModel):
    values: list[str] = Field(min_length=1)
    description: str = ""


EnumDecl = Annotated[
    EnumSpec, BeforeValidator(_enum_shorthand, json_schema_input_type=list[str] | EnumSpec)
]


class EntityScopes(SpecModel):
    """Scopes required by the entity's CRUD operations."""

    read: list[str] = []
    write: list[str] = []


class EntitySpec(SpecModel):
    description: str = ""
    fields: Fields = Field(min_length=1)
    operations: list[Literal["list", "get", "create", "update", "delete"]] = []
    filters: dict[str, Literal["eq", "range"]] = {}
    scopes: EntityScopes = EntityScopes()


class OperationSpec(SpecModel):
    """A command (changes state) or a query (reads), beyond CRUD."""

    kind: Literal["command", "query"]
    description: str = ""
    http: str | None = Field(default=None, description="Route override, e.g. `POST /appointments`.")
    input: Fields = {}
    output: str | None = Field(default=None, description="An entity, `[Entity]`, or none.")
    errors: list[str] = []
    scopes: list[str] = []
    public: bool = Field(default=False, description="Served without a token.")
    idempotent: bool = Field(default=False, description="Takes an idempotency key (commands).")
    status: Literal[200, 201, 202, 204] | None = Field(default=None, description="Success status.")


class EventSpec(SpecModel):
    description: str = ""
    key: str = Field(description="The payload field subscribers filter on.")
    payload: Fields = Field(min_length=1)


GRPC_STATUSES = (
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "OUT_OF_RANGE",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "ABORTED",
    "ALREADY_EXISTS",
    "RESOURCE_EXHAUSTED",
    "CANCELLED",
    "DATA_LOSS",
    "UNKNOWN",
    "INTERNAL",
    "UNIMPLEMENTED",
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
)


class ErrorSpec(SpecModel):
    status: int
    message: str
    description: str = ""
    grpc: Literal[GRPC_STATUSES] | None = Field(  # type: ignore[valid-type]
        default=None, description="gRPC status code; derived from `status` when absent."
    )


def _scopes_shorthand(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(scope, str) for scope in value):
        return dict.fromkeys(value, "")
    return value


class BearerSpec(SpecModel):
    scopes: Annotated[
        dict[str, str],
        BeforeValidator(_scopes_shorthand, json_schema_input_type=list[str] | dict[str, str]),
    ] = {}


class AuthSpec(SpecModel):
    bearer: BearerSpec


class RateLimitSpec(SpecModel):
    """How many operation calls each caller may make per period, in every style together."""

    requests: int = Field(ge=1, description="Calls allowed per period (and in one burst).")
    per: Literal["second", "minute", "hour"] = Field(description="The period.")


class Spec(SpecModel):
    """An apigen domain spec (`apigen: 1`)."""

    model_config = ConfigDict(title="apigen spec")

    apigen: Literal[1] = Field(description="The spec format version.")
    name: str = Field(description="snake_case; the Python package and proto package.")
    title: str = ""
    description: str = ""
    version: str = Field(description="Semantic version; its major is the `/v<major>` prefix.")
    auth: AuthSpec | None = None
    rate_limit: RateLimitSpec | None = Field(
        None,
        description="Calls each caller (a token's subject, else a client address) may make, "
        "beyond which every style answers `rate_limited` with when to retry.",
    )
    enums: dict[str, EnumDecl] = {}
    entities: dict[str, EntitySpec] = {}
    operations: dict[str, OperationSpec] = {}
    events: dict[str, EventSpec] = {}
    errors: dict[str, ErrorSpec] = {}
