"""Resolving a checked spec into the IR: every name, route, status and number decided once.

`resolve(spec, lock)` is a pure function: the same spec and lock give the same `Api`, and
`Api.lock` is the lock to write back. It trusts the spec (the loader has checked it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from .conventions import (
    BUILTIN_ERRORS,
    IDEMPOTENCY_KEY,
    PAGE_DEFAULT_LIMIT,
    PAGE_MAX_LIMIT,
    PATH_PARAM,
    PERIOD_SECONDS,
    TRANSPORT_ERRORS,
    crud_operation_name,
    crud_route,
    custom_route,
    grpc_status_for,
)
from .ir import (
    Api,
    ApiError,
    Constraints,
    Entity,
    Enum,
    EnumValue,
    Event,
    Field,
    Filter,
    GraphQLBinding,
    HttpBinding,
    HttpParam,
    Message,
    Operation,
    OperationKind,
    Output,
    RateLimit,
    RpcBinding,
    TypeRef,
)
from .lock import Lock, LockedNumbers, assign_numbers, with_retired
from .names import Name
from .spec.model import SCALAR_TYPES, EntitySpec, FieldSpec, OperationSpec, Spec

# A field to build: its spec name, its spec, and per-style name overrides ("graphql", "proto").
FieldDecl = tuple[str, FieldSpec, dict[str, str]]
CrudKind = Literal["list", "get", "create", "update", "delete"]


class _Resolver:
    """Builds the IR from a spec, numbering proto fields against the previous lock."""

    def __init__(self, spec: Spec, previous: Lock) -> None:
        self.spec = spec
        self.previous = previous
        self.messages: dict[str, LockedNumbers] = {}
        self.enum_numbers: dict[str, LockedNumbers] = {}

    def api(self) -> Api:
        spec = self.spec
        enums = tuple(self.enum(name, e.values, e.description) for name, e in spec.enums.items())
        entities = tuple(self.entity(name, e) for name, e in spec.entities.items())
        operations = tuple(
            op for name, e in spec.entities.items() for op in self.crud_operations(name, e)
        ) + tuple(self.custom_operation(name, op) for name, op in spec.operations.items())
        events = tuple(self.event(name) for name in spec.events)
        scopes = tuple(spec.auth.bearer.scopes.items()) if spec.auth else ()
        return Api(
            name=Name(spec.name),
            title=spec.title or Name(spec.name).pascal,
            description=spec.description,
            version=spec.version,
            enums=enums,
            entities=entities,
            operations=operations,
            events=events,
            errors=self.errors(),
            scopes=scopes,
            auth=spec.auth is not None,
            rate_limit=(
                RateLimit(spec.rate_limit.requests, PERIOD_SECONDS[spec.rate_limit.per])
                if spec.rate_limit
                else None
            ),
            lock=Lock(
                with_retired(self.messages, self.previous.messages),
                with_retired(self.enum_numbers, self.previous.enums),
            ),
        )

    # -- types and fields ---------------------------------------------------------------------

    def type_ref(self, field: FieldSpec) -> TypeRef:
        kind: Literal["scalar", "enum", "entity"] = (
            "scalar"
            if field.type in SCALAR_TYPES
            else "enum"
            if field.type in self.spec.enums
            else "entity"
        )
        return TypeRef(kind, field.type, field.list)

    def field(self, name: str, spec: FieldSpec, number: int, **names: str) -> Field:
        ref = self.type_ref(spec)
        wire = f"{name}_id" if ref.is_ref else name
        as_int = spec.type == "int"
        return Field(
            name=Name(name),
            type=ref,
            optional=spec.optional,
            read_only=spec.read_only,
            description=spec.description,
            constraints=Constraints(
                minimum=_number(spec.min, as_int),
                maximum=_number(spec.max, as_int),
                min_length=spec.min_length,
                max_length=spec.max_length,
                pattern=spec.pattern,
            ),
            default=spec.default,
            example=spec.example,
            number=number,
            json_name=wire,
            graphql_name=names.get("graphql", Name(wire).camel),
            proto_name=names.get("proto", wire),
        )

    def message(self, name: Name, fields: list[FieldDecl], description: str = "") -> Message:
        """A message whose fields are numbered against the lock entry of the same name."""
        built = [self.field(field_name, spec, 0, **names) for field_name, spec, names in fields]
        numbers = assign_numbers(
            self.previous.messages.get(name.pascal), [f.proto_name for f in built]
        )
        self.messages[name.pascal] = numbers
        return Message(
            name=name,
            fields=tuple(replace(f, number=numbers.live[f.proto_name]) for f in built),
            description=description,
            reserved_numbers=tuple(sorted(numbers.reserved.values())),
            reserved_names=tuple(sorted(numbers.reserved)),
        )

    def enum(self, name: str, values: list[str], description: str) -> Enum:
        enum_name = Name(name)
        numbers = assign_numbers(self.previous.enums.get(name), values)
        self.enum_numbers[name] = numbers
        return Enum(
            name=enum_name,
            values=tuple(
                EnumValue(v, Name(v).upper, f"{enum_name.upper}_{Name(v).upper}", numbers.live[v])
                for v in values
            ),
            description=description,
            proto_zero=f"{enum_name.upper}_UNSPECIFIED",
            reserved_numbers=tuple(sorted(numbers.reserved.values())),
            reserved_names=tuple(
                f"{enum_name.upper}_{Name(v).upper}" for v in sorted(numbers.reserved)
            ),
        )

    def entity(self, name: str, spec: EntitySpec) -> Entity:
        entity_name = Name(name)
        message = self.message(entity_name, _plain_fields(spec.fields), spec.description)
        return Entity(
            name=entity_name,
            plural=entity_name.plural(),
            message=message,
            operations=tuple(
                crud_operation_name(kind, entity_name).snake for kind in spec.operations
            ),
            filters=tuple(Filter(message.field(f), kind) for f, kind in spec.filters.items()),
        )

    # -- operations -----------------------------------------------------------------------------

    def crud_operations(self, name: str, spec: EntitySpec) -> list[Operation]:
        return [self.crud_operation(kind, Name(name), spec) for kind in spec.operations]

    def crud_operation(self, kind: CrudKind, entity: Name, spec: EntitySpec) -> Operation:
        op_name = crud_operation_name(kind, entity)
        id_field: FieldDecl = ("id", FieldSpec(type="id"), {})
        writable = [f for f in _plain_fields(spec.fields) if f[0] != "id" and not f[1].read_only]
        inputs: list[FieldDecl]
        if kind == "list":
            inputs = [*_page_fields(), *self.filter_fields(spec)]
        elif kind in ("get", "delete"):
            inputs = [id_field]
        elif kind == "create":
            inputs = [*writable, *_idempotency_field()]
        else:
            inputs = [
                id_field,
                *[
                    (n, s.model_copy(update={"optional": True, "default": None}), x)
                    for n, s, x in writable
                ],
            ]
        scopes = spec.scopes.read if kind in ("list", "get") else spec.scopes.write
        output = (
            Output("none")
            if kind == "delete"
            else Output("page" if kind == "list" else "entity", entity.raw)
        )
        method, path = crud_route(kind, entity)
        article = "an" if entity.snake[0] in "aeiou" else "a"
        noun = " ".join(entity.plural().parts if kind == "list" else (article, *entity.parts))
        description = f"{kind.capitalize()} {noun}."
        return self.operation(
            op_name,
            kind,
            entity.raw,
            description,
            inputs,
            output,
            errors=[],
            scopes=list(scopes),
            public=False,
            idempotent=kind == "create",
            method=method,
            path=path,
            status=None,
        )

    def filter_fields(self, spec: EntitySpec) -> list[FieldDecl]:
        fields: list[FieldDecl] = []
        for name, kind in spec.filters.items():
            field = spec.fields[name].model_copy(
                update={"optional": True, "read_only": False, "default": None}
            )
            if kind == "eq":
                fields.append((name, field, {}))
            else:
                fields += [(f"{name}_from", field, {}), (f"{name}_to", field, {})]
        return fields

    def custom_operation(self, name: str, spec: OperationSpec) -> Operation:
        op_name = Name(name)
        output_text = (spec.output or "").strip()
        if not output_text:
            output = Output("none")
        elif output_text.startswith("["):
            output = Output("list", output_text[1:-1].strip())
        else:
            output = Output("entity", output_text)
        inputs = [*_plain_fields(spec.input), *(_idempotency_field() if spec.idempotent else [])]
        method, path = custom_route(op_name, spec.kind, spec.http)
        return self.operation(
            op_name,
            spec.kind,
            None,
            spec.description,
            inputs,
            output,
            errors=spec.errors,
            scopes=spec.scopes,
            public=spec.public,
            idempotent=spec.idempotent,
            method=method,
            path=path,
            status=spec.status,
        )

    def operation(
        self,
        name: Name,
        kind: OperationKind,
        entity: str | None,
        description: str,
        inputs: list[FieldDecl],
        output: Output,
        errors: list[str],
        scopes: list[str],
        public: bool,
        idempotent: bool,
        method: str,
        path: str,
        status: int | None,
    ) -> Operation:
        rpc_name = name.pascal
        message = self.message(Name(f"{rpc_name}Request"), inputs)
        needs_auth = self.spec.auth is not None and not public
        all_errors = _operation_errors(kind, message, method, needs_auth, bool(scopes), errors)
        success = status or {"create": 201, "delete": 204}.get(
            kind, 204 if output.kind == "none" and kind == "command" else 200
        )
        statuses = sorted({self.error_status(code) for code in all_errors})
        op_entity = entity or output.entity
        return Operation(
            name=name,
            kind=kind,
            entity=entity,
            description=description,
            input=message,
            output=output,
            errors=tuple(sorted(all_errors, key=lambda c: (self.error_status(c), c))),
            scopes=tuple(scopes),
            public=public or self.spec.auth is None,
            idempotent=idempotent,
            http=_http_binding(
                name,
                kind,
                message,
                method,
                path,
                success,
                tuple(statuses),
                public and self.spec.auth is not None,
                self.base_path,
                op_entity or "Operations",
            ),
            graphql=_graphql_binding(name, kind, entity, message, output),
            rpc=RpcBinding(
                rpc_name, f"{rpc_name}Request", f"{rpc_name}Response", _response_field(output)
            ),
        )

    @property
    def base_path(self) -> str:
        return f"/v{self.spec.version.split('.')[0]}"

    def error_status(self, code: str) -> int:
        builtin = BUILTIN_ERRORS.get(code)
        return builtin.status if builtin else self.spec.errors[code].status

    # -- events and errors ----------------------------------------------------------------------

    def event(self, name: str) -> Event:
        spec = self.spec.events[name]
        event_name = Name(name)
        message = self.message(event_name, _plain_fields(spec.payload), spec.description)
        rpc_name = f"Watch{event_name.pascal}"
        return Event(
            name=event_name,
            type=name,
            description=spec.description,
            message=message,
            key=message.field(spec.key),
            graphql_field=event_name.camel,
            rpc=RpcBinding(rpc_name, f"{rpc_name}Request", f"{rpc_name}Response", "event"),
        )

    def errors(self) -> tuple[ApiError, ...]:
        builtin = [
            ApiError(e.code, e.status, e.grpc, e.message, "", True) for e in BUILTIN_ERRORS.values()
        ]
        declared = [
            ApiError(
                code, e.status, e.grpc or grpc_status_for(e.status), e.message, e.description, False
            )
            for code, e in self.spec.errors.items()
        ]
        return tuple(builtin + declared)


def resolve(spec: Spec, lock: Lock | None = None) -> Api:
    """The IR of a checked spec; `lock` is the previous lock (None for a new spec)."""
    return _Resolver(spec, lock or Lock()).api()


# -- helpers: small pure functions of spec pieces ---------------------------------------------


def _number(value: float | None, as_int: bool) -> int | float | None:
    if value is None:
        return None
    return int(value) if as_int or float(value).is_integer() else value


def _plain_fields(fields: dict[str, FieldSpec]) -> list[FieldDecl]:
    return [(name, spec, {}) for name, spec in fields.items()]


def _page_fields() -> list[FieldDecl]:
    limit = FieldSpec(
        type="int",
        optional=True,
        min=1,
        max=PAGE_MAX_LIMIT,
        default=PAGE_DEFAULT_LIMIT,
        description="Page size.",
    )
    cursor = FieldSpec(
        type="string", optional=True, description="Opaque cursor from the previous page."
    )
    return [
        ("limit", limit, {"graphql": "first", "proto": "page_size"}),
        ("cursor", cursor, {"graphql": "after", "proto": "page_token"}),
    ]


def _idempotency_field() -> list[FieldDecl]:
    key = FieldSpec(
        type="string",
        optional=True,
        min_length=1,
        max_length=255,
        description="Repeating a request with the same key returns the first result.",
    )
    return [(IDEMPOTENCY_KEY, key, {})]


def _operation_errors(
    kind: str,
    message: Message,
    method: str,
    needs_auth: bool,
    has_scopes: bool,
    declared: list[str],
) -> set[str]:
    codes = {"rate_limited", *declared}
    if message.fields:
        codes |= {"validation_failed"}
    if method in ("POST", "PUT", "PATCH"):
        codes.add("bad_request")
    if needs_auth:
        codes.add("unauthenticated")
        if has_scopes:
            codes.add("permission_denied")
    if kind in ("get", "update", "delete"):
        codes.add("not_found")
    return codes


def _http_binding(
    name: Name,
    kind: str,
    message: Message,
    method: str,
    path: str,
    success: int,
    statuses: tuple[int, ...],
    optional_auth: bool,
    base_path: str,
    tag: str,
) -> HttpBinding:
    path_names = set(PATH_PARAM.findall(path))
    params: list[HttpParam] = []
    body_fields = []
    for field in message.fields:
        if field.name.snake in path_names:
            params.append(HttpParam(field.json_name, "path", field, True))
        elif field.name.snake == IDEMPOTENCY_KEY:
            params.append(HttpParam("Idempotency-Key", "header", field, False))
        elif method in ("GET", "DELETE"):
            params.append(HttpParam(field.json_name, "query", field, not field.optional))
        else:
            body_fields.append(field)
    has = {"path": bool(path_names), "body": bool(body_fields), "public": optional_auth}
    return HttpBinding(
        method=method,
        path=base_path + path,
        operation_id=name.camel,
        params=tuple(params),
        body=f"{name.pascal}Body" if body_fields else None,
        success_status=success,
        error_statuses=statuses,
        transport_errors=tuple(error for k, error in TRANSPORT_ERRORS.items() if has[k]),
        tag=tag,
    )


def _graphql_binding(
    name: Name, kind: str, entity: str | None, message: Message, output: Output
) -> GraphQLBinding:
    entity_name = Name(entity) if entity else None
    if kind == "list" and entity_name:
        return GraphQLBinding(
            "Query", entity_name.plural().camel, None, f"{entity_name.pascal}Connection!"
        )
    if kind == "get" and entity_name:
        return GraphQLBinding("Query", entity_name.camel, None, entity_name.pascal)
    result = {
        "entity": f"{output.entity}!" if kind != "query" else str(output.entity),
        "list": f"[{output.entity}!]!",
        "page": f"{output.entity}Connection!",
        "none": "ID!" if kind == "delete" else "Boolean!",
    }[output.kind]
    if kind in ("query",):
        return GraphQLBinding("Query", name.camel, None, result)
    has_input = any(f.name.snake not in ("id", IDEMPOTENCY_KEY) for f in message.fields)
    return GraphQLBinding(
        "Mutation", name.camel, f"{name.pascal}Input" if has_input else None, result
    )


def _response_field(output: Output) -> str:
    if output.kind == "none" or output.entity is None:
        return ""
    entity = Name(output.entity)
    return entity.plural().snake if output.kind in ("list", "page") else entity.snake
