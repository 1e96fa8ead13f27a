"""The GraphQL render context: views of the IR for the GraphQL adapter and client templates.

`graphql_context(api, contracts)` is merged into the service render context (key `graphql`).
Every GraphQL name comes from the IR, the same names the SDL emitter wrote, so the adapter
binds to the emitted schema, not a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..contracts.graphql import graphql_type
from ..conventions import IDEMPOTENCY_KEY, PAGE_DEFAULT_LIMIT, PAGE_MAX_LIMIT
from ..ir import Api, Event, Field, Message, Operation
from ..writer import Plan
from .context import Param, ServiceOp, error_class, service_op, stdlib_types

GRAPHQL_CONTRACT = "contracts/schema.graphql"


@dataclass(frozen=True)
class Arg:
    """One value of an operation as GraphQL sends it: a root argument or an input field."""

    graphql: str  # the argument or input field name
    python: str  # the service keyword (a parameter) or the body model's field
    in_input: bool  # inside the `input` argument
    in_body: bool  # a body field (else a service keyword)
    param: Param | None  # the parameter, for keywords
    enum: str | None  # the model enum class of the value, when an enum
    variable_type: str  # its GraphQL type, for a client's variable

    @property
    def path(self) -> str:
        """Where a validation error points: `first`, `input.slotId`."""
        return f"input.{self.graphql}" if self.in_input else self.graphql

    @property
    def adapter_type(self) -> str:
        """The annotation a keyword is validated with, constraints included."""
        assert self.param is not None
        p = self.param
        base = p.annotation.removesuffix(" | None")
        if p.constraints:
            args = ", ".join(f"{k}={v!r}" for k, v in p.constraints.items())
            base = f"Annotated[{base}, Field({args})]"
        return f"{base} | None" if p.annotation.endswith(" | None") else base


@dataclass(frozen=True)
class GraphQLOp:
    s: ServiceOp
    args: tuple[Arg, ...]
    input_type: str | None
    document: str  # the client's operation document

    @property
    def op(self) -> Operation:
        return self.s.op

    @property
    def method(self) -> str:
        return self.s.method

    @property
    def root(self) -> str:
        return self.op.graphql.root

    @property
    def field(self) -> str:
        return self.op.graphql.field

    @property
    def keywords(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.in_body)

    @property
    def body_args(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.in_body)

    @property
    def root_args(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.in_input)

    @property
    def input_args(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.in_input)

    @property
    def constant(self) -> str:
        """The client's module constant holding the document."""
        return "_" + self.method.upper()

    @property
    def paged(self) -> bool:
        return self.op.output.kind == "page"


@dataclass(frozen=True)
class Reference:
    """A reference field of an object type, resolved through the request's loader."""

    field: str  # `provider`
    attribute: str  # `provider_id`
    entity: str  # `Provider`
    optional: bool
    is_list: bool


@dataclass(frozen=True)
class ObjectView:
    name: str  # the GraphQL type
    model: str  # the pydantic model
    aliases: tuple[tuple[str, str], ...]  # (GraphQL field, model attribute), where they differ
    references: tuple[Reference, ...]
    enum_fields: tuple[tuple[str, str], ...]  # (model attribute, enum class)
    selection: str  # the client's selection set of the scalar fields, aliased to model names


@dataclass(frozen=True)
class LoaderView:
    entity: str  # the model
    method: str  # the service's get method
    scopes: tuple[str, ...]
    public: bool


def _enum_class(api: Api, f: Field) -> str | None:
    return api.enum(f.type.name).name.raw if f.type.kind == "enum" else None


@dataclass(frozen=True)
class SubscriptionView:
    """One event as a `Subscription` field: the adapter's source and the client's method."""

    event: Event
    model: str  # the payload model
    key_variable_type: str  # the key argument's GraphQL type
    document: str  # the client's subscription document

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def field(self) -> str:
        return self.event.graphql_field

    @property
    def method(self) -> str:
        """The client's method: `subscribe_appointment_status_changed`."""
        return f"subscribe_{self.event.name.snake}"

    @property
    def key_arg(self) -> str:
        """The key argument: `appointmentId`."""
        return self.event.key.graphql_name

    @property
    def key_python(self) -> str:
        return self.event.key.json_name

    @property
    def constant(self) -> str:
        """The client's module constant holding the document."""
        return f"_SUBSCRIBE_{self.event.name.snake.upper()}"


def _object(api: Api, model: str, message: Message, getters: dict[str, Operation]) -> ObjectView:
    """The object type of an entity or an event payload, `model` its pydantic model."""
    fields = message.fields
    references = tuple(
        Reference(f.name.camel, f.json_name, f.type.name, f.optional, f.type.is_list)
        for f in fields
        if f.type.is_ref and f.type.name in getters
    )
    selection = " ".join(
        f.graphql_name if f.graphql_name == f.json_name else f"{f.json_name}: {f.graphql_name}"
        for f in fields
    )
    return ObjectView(
        name=message.name.pascal,
        model=model,
        aliases=tuple(
            (f.graphql_name, f.json_name) for f in fields if f.graphql_name != f.json_name
        ),
        references=references,
        enum_fields=tuple((f.json_name, e) for f in fields if (e := _enum_class(api, f))),
        selection=selection,
    )


def _op(api: Api, op: Operation, objects: dict[str, ObjectView]) -> GraphQLOp:
    s = service_op(op)
    params = {p.name: p for p in s.params}
    body = {f.json_name for f in s.body_fields}
    input_type = op.graphql.input_type
    args: list[Arg] = []
    for f in op.input.fields:
        if f.name.snake == IDEMPOTENCY_KEY:
            continue
        in_input = bool(input_type) and not (op.kind == "update" and f.name.snake == "id")
        in_body = f.json_name in body and f.json_name not in params
        if not in_body and f.json_name not in params:
            raise ValueError(f"input field '{f.json_name}' of {op.name.snake} has no place")
        args.append(
            Arg(
                graphql=f.graphql_name,
                python=f.json_name,
                in_input=in_input,
                in_body=in_body,
                param=params.get(f.json_name),
                enum=_enum_class(api, f),
                variable_type=graphql_type(api, f.type, f.optional),
            )
        )
    variables = [(a.graphql, a.variable_type) for a in args if not a.in_input]
    if input_type:
        variables.append(("input", f"{input_type}!"))
    if op.idempotent:
        key = op.input.field(IDEMPOTENCY_KEY)
        variables.append((key.graphql_name, graphql_type(api, key.type, True)))
    declared = ", ".join(f"${name}: {type_}" for name, type_ in variables)
    passed = ", ".join(f"{name}: ${name}" for name, _ in variables)
    entity = op.output.entity
    if op.output.kind == "none" or entity is None:
        selection = ""
    elif op.output.kind == "page":
        selection = (
            f" {{ nodes {{ {objects[entity].selection} }} pageInfo {{ hasNextPage endCursor }} }}"
        )
    else:
        selection = f" {{ {objects[entity].selection} }}"
    keyword = "query" if op.graphql.root == "Query" else "mutation"
    call = f"{op.graphql.field}({passed})" if passed else op.graphql.field
    head = f"{keyword} {op.name.pascal}({declared})" if declared else f"{keyword} {op.name.pascal}"
    document = f"{head} {{ {call}{selection} }}"
    return GraphQLOp(s, tuple(args), input_type, document)


def _subscription(api: Api, event: Event, objects: dict[str, ObjectView]) -> SubscriptionView:
    key = event.key
    variable_type = graphql_type(api, key.type, True)
    model = event.message.name.pascal
    selection = objects[model].selection
    document = (
        f"subscription {event.name.pascal}(${key.graphql_name}: {variable_type}) "
        f"{{ {event.graphql_field}({key.graphql_name}: ${key.graphql_name}) {{ {selection} }} }}"
    )
    return SubscriptionView(event, model, variable_type, document)


def _scalars(sdl: str) -> list[str]:
    return re.findall(r"^scalar (\w+)", sdl, flags=re.MULTILINE)


def graphql_context(api: Api, contracts: Plan) -> dict[str, Any]:
    """The `graphql` entry of the service render context."""
    getters = {op.entity: op for op in api.operations if op.kind == "get" and op.entity}
    objects = {e.name.raw: _object(api, e.name.raw, e.message, getters) for e in api.entities}
    for event in api.events:
        model = event.message.name.pascal
        objects.setdefault(model, _object(api, model, event.message, getters))
    ops = [_op(api, op, objects) for op in api.operations]
    subscriptions = [_subscription(api, e, objects) for e in api.events]
    referenced = sorted({r.entity for o in objects.values() for r in o.references})
    loaders = [
        LoaderView(e, getters[e].name.snake, getters[e].scopes, getters[e].public)
        for e in referenced
    ]
    service_ops = [o.s for o in ops]
    models: set[str] = set()
    for o in ops:
        if o.s.body:
            models.add(o.s.body)
        if o.s.result_model:
            models.add(o.s.result_model.removeprefix("list[").removesuffix("]"))
        models.update(a.enum for a in o.args if a.enum)
    models.update(o.model for o in objects.values())
    models.update(e.name.raw for e in api.enums)
    return {
        "graphql": {
            "ops": ops,
            "subscriptions": subscriptions,
            "objects": list(objects.values()),
            "loaders": loaders,
            "enums": [
                (e.name.pascal, e.name.raw, [(v.graphql_name, v.value) for v in e.values])
                for e in api.enums
            ],
            "scalars": _scalars(contracts[GRAPHQL_CONTRACT]),
            "models": sorted(models),
            "stdlib": stdlib_types(service_ops),
            "client_class": f"{api.name.pascal}GraphQLClient",
            "path": f"{api.base_path}/graphql",
            "page_default": PAGE_DEFAULT_LIMIT,
            "page_max": PAGE_MAX_LIMIT,
            "codes": [(error_class(e), e.graphql_code) for e in api.errors],
        }
    }
