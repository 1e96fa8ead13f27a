"""The IR: one frozen, fully resolved model of an API, the only thing emitters and renderers see.

Shape:

    Api
     |- enums:      Enum -> EnumValue (spec value, GraphQL name, proto name and number)
     |- entities:   Entity -> Message (the entity's fields) + its CRUD operations' names
     |- operations: Operation (CRUD and custom alike) -> input Message, Output,
     |              HttpBinding, GraphQLBinding, RpcBinding, errors, scopes
     |- events:     Event -> payload Message, key Field, every style's channel name
     |- errors:     ApiError (built-in and declared): HTTP status, gRPC status, codes
     `- lock:       the proto numbers after this build, to be written next to the spec

Invariants:
- Every reference is resolved: a `TypeRef` names an enum or entity that exists in `Api`.
- Every name is already cased for every style (`Name`, `Field.json_name`, `graphql_name`,
  `proto_name`); no emitter re-cases or re-derives a name, route or status.
- Every proto field and enum value has its stable number from the lock; numbers of removed
  fields are listed in `reserved_numbers`.
- Order is the spec's order, so every output is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from .conventions import WEBHOOKS_MANAGE_SCOPE, WEBHOOKS_PATH
from .lock import Lock
from .names import Name

OperationKind = Literal["list", "get", "create", "update", "delete", "command", "query"]


@dataclass(frozen=True)
class TypeRef:
    """A field's type: a scalar, an enum or an entity (sent as its id), maybe a list."""

    kind: Literal["scalar", "enum", "entity"]
    name: str
    is_list: bool = False

    @property
    def is_ref(self) -> bool:
        return self.kind == "entity"


@dataclass(frozen=True)
class Constraints:
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Field:
    """One field of a message. An entity reference `slot: Slot` is sent as `slot_id`."""

    name: Name
    type: TypeRef
    optional: bool
    read_only: bool
    description: str
    constraints: Constraints
    default: Any
    example: Any
    number: int
    json_name: str
    graphql_name: str
    proto_name: str


@dataclass(frozen=True)
class Message:
    """A named list of fields: an entity, an operation's input, an event's payload."""

    name: Name
    fields: tuple[Field, ...]
    description: str = ""
    reserved_numbers: tuple[int, ...] = ()
    reserved_names: tuple[str, ...] = ()

    def field(self, snake: str) -> Field:
        return next(f for f in self.fields if f.name.snake == snake)


@dataclass(frozen=True)
class EnumValue:
    value: str
    graphql_name: str
    proto_name: str
    number: int


@dataclass(frozen=True)
class Enum:
    name: Name
    values: tuple[EnumValue, ...]
    description: str = ""
    proto_zero: str = ""
    reserved_numbers: tuple[int, ...] = ()
    reserved_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    name: Name
    plural: Name
    message: Message
    operations: tuple[str, ...]
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class Filter:
    """A list filter: `eq` matches a value, `range` gives `<field>_from` and `<field>_to`."""

    field: Field
    kind: Literal["eq", "range"]


@dataclass(frozen=True)
class Output:
    """What an operation returns: one entity, a list, a page of a list, or nothing."""

    kind: Literal["entity", "list", "page", "none"]
    entity: str | None = None


@dataclass(frozen=True)
class HttpParam:
    name: str
    location: Literal["path", "query", "header"]
    field: Field | None
    required: bool


@dataclass(frozen=True)
class HttpBinding:
    method: str
    path: str
    operation_id: str
    params: tuple[HttpParam, ...]
    body: str | None
    success_status: int
    error_statuses: tuple[int, ...]
    transport_errors: tuple[tuple[int, str], ...]
    """(status, description) of what the HTTP layer answers before the service is called."""
    tag: str


@dataclass(frozen=True)
class GraphQLBinding:
    root: Literal["Query", "Mutation"]
    field: str
    input_type: str | None
    result_type: str


@dataclass(frozen=True)
class RpcBinding:
    name: str
    request: str
    response: str
    response_field: str


@dataclass(frozen=True)
class Operation:
    """One operation, CRUD or custom, bound to every style."""

    name: Name
    kind: OperationKind
    entity: str | None
    description: str
    input: Message
    output: Output
    errors: tuple[str, ...]
    scopes: tuple[str, ...]
    public: bool
    idempotent: bool
    http: HttpBinding
    graphql: GraphQLBinding
    rpc: RpcBinding


@dataclass(frozen=True)
class Event:
    """An event: its payload, the key subscribers filter on, and its name in every style."""

    name: Name
    type: str
    description: str
    message: Message
    key: Field
    graphql_field: str
    rpc: RpcBinding


@dataclass(frozen=True)
class RateLimit:
    """Calls each caller may make: `requests` per `seconds`, in every style together."""

    requests: int
    seconds: int


@dataclass(frozen=True)
class ApiError:
    """One entry of the error catalogue, used identically by every style."""

    code: str
    status: int
    grpc_status: str
    message: str
    description: str
    builtin: bool

    @property
    def graphql_code(self) -> str:
        return self.code.upper()


@dataclass(frozen=True)
class Api:
    name: Name
    title: str
    description: str
    version: str
    enums: tuple[Enum, ...]
    entities: tuple[Entity, ...]
    operations: tuple[Operation, ...]
    events: tuple[Event, ...]
    errors: tuple[ApiError, ...]
    scopes: tuple[tuple[str, str], ...]
    auth: bool
    rate_limit: RateLimit | None
    lock: Lock = field(compare=False)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def base_path(self) -> str:
        return f"/v{self.major}"

    @property
    def proto_package(self) -> str:
        return f"{self.name.snake}.v{self.major}"

    @property
    def webhooks_path(self) -> str:
        """Where webhook subscriptions are managed over REST (served when there are events)."""
        return self.base_path + WEBHOOKS_PATH

    @property
    def webhook_scopes(self) -> tuple[str, ...]:
        """Scopes every webhook-subscription call needs beyond a token: `webhooks:manage` when
        the spec declares it (subscribing to an event also needs that event's read scopes)."""
        return tuple(s for s, _ in self.scopes if s == WEBHOOKS_MANAGE_SCOPE)

    def entity(self, name: str) -> Entity:
        return self._entities[name]

    def enum(self, name: str) -> Enum:
        return self._enums[name]

    def error(self, code: str) -> ApiError:
        return self._errors[code]

    # Indexes for the lookups above, built once: emitters look up per field and operation.
    @cached_property
    def _entities(self) -> dict[str, Entity]:
        return {e.name.raw: e for e in self.entities}

    @cached_property
    def _enums(self) -> dict[str, Enum]:
        return {e.name.raw: e for e in self.enums}

    @cached_property
    def _errors(self) -> dict[str, ApiError]:
        return {e.code: e for e in self.errors}
