"""Meaning checks: a well-shaped spec that still cannot be built (unknown types, clashes...).

Each check is a generator of diagnostics over the shape-checked `Spec`, so one run reports
every problem. The checks apply the same conventions the IR applies (`conventions.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..conventions import (
    BUILTIN_ERRORS,
    HTTP_METHODS,
    PATH_PARAM,
    PATH_SEGMENT,
    ROUTE,
    WEBHOOKS_PATH,
    crud_operation_name,
    crud_route,
    custom_route,
    route_shape,
)
from ..diagnostics import Diagnostic, SpecPath
from ..names import EVENT_NAME, PASCAL_CASE, SNAKE_CASE, Name, did_you_mean, reserved_in
from .model import SCALAR_TYPES, Fields, FieldSpec, Spec

SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.\-]+)?(\+[0-9A-Za-z.\-]+)?$")
NUMERIC = {"int", "float", "decimal"}
ORDERED = NUMERIC | {"date", "datetime"}
TEXTUAL = {"string", "email", "url", "id", "uuid", "bytes"}
ENUM_VALUE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_spec(spec: Spec) -> Iterator[Diagnostic]:
    """Every meaning problem of a spec."""
    yield from _check_header(spec)
    yield from _check_enums(spec)
    yield from _check_entities(spec)
    yield from _check_operations(spec)
    yield from _check_routes(spec)
    yield from _check_events(spec)
    yield from _check_errors(spec)


def _check_header(spec: Spec) -> Iterator[Diagnostic]:
    yield from _check_snake(spec.name, ("name",), "the spec name")
    if not SEMVER.match(spec.version):
        yield Diagnostic(
            "bad-version",
            ("version",),
            f"'{spec.version}' is not a semantic version",
            "write MAJOR.MINOR.PATCH, e.g. 1.0.0",
        )


def _check_snake(name: str, path: SpecPath, what: str) -> Iterator[Diagnostic]:
    if not SNAKE_CASE.match(name):
        snake = Name(name).snake
        yield Diagnostic(
            "bad-name",
            path,
            f"{what} '{name}' is not snake_case",
            f"rename it to '{snake}'" if SNAKE_CASE.match(snake) else "give it a snake_case name",
        )
    elif style := reserved_in(name):
        yield Diagnostic(
            "reserved-word",
            path,
            f"{what} '{name}' is a reserved word in {style}",
            f"rename it, e.g. '{name}_value'",
        )


def _check_pascal(name: str, path: SpecPath, what: str) -> Iterator[Diagnostic]:
    if not PASCAL_CASE.match(name):
        yield Diagnostic(
            "bad-name",
            path,
            f"{what} '{name}' is not PascalCase",
            f"rename it to '{Name(name).pascal or 'Name'}'",
        )


def _check_enums(spec: Spec) -> Iterator[Diagnostic]:
    for name, enum in spec.enums.items():
        path: SpecPath = ("enums", name)
        yield from _check_pascal(name, path, "enum")
        if name in spec.entities:
            yield Diagnostic(
                "duplicate-name",
                path,
                f"'{name}' is both an enum and an entity",
                "rename one of them",
            )
        if name.lower() in SCALAR_TYPES:
            yield Diagnostic(
                "duplicate-name",
                path,
                f"'{name}' shadows the scalar type '{name.lower()}'",
                "rename the enum",
            )
        seen: set[str] = set()
        for index, value in enumerate(enum.values):
            value_path = (*path, "values", index)
            if not ENUM_VALUE.match(value):
                yield Diagnostic(
                    "bad-name",
                    value_path,
                    f"enum value '{value}' is not snake_case",
                    f"write it as '{Name(value).snake or 'value'}'",
                )
            elif value in ("true", "false", "null"):
                yield Diagnostic(
                    "reserved-word",
                    value_path,
                    f"enum value '{value}' is reserved in GraphQL",
                    "rename it",
                )
            if value in seen:
                yield Diagnostic(
                    "duplicate-name",
                    value_path,
                    f"enum value '{value}' is listed twice",
                    "remove the repeated value",
                )
            seen.add(value)


def _check_entities(spec: Spec) -> Iterator[Diagnostic]:
    for name, entity in spec.entities.items():
        path: SpecPath = ("entities", name)
        yield from _check_pascal(name, path, "entity")
        yield from _check_fields(spec, entity.fields, (*path, "fields"), allow_entity_lists=False)
        id_field = entity.fields.get("id")
        if id_field is None:
            yield Diagnostic(
                "missing-id",
                (*path, "fields"),
                f"entity '{name}' has no 'id' field",
                "add `id: id` as its first field",
            )
        elif id_field.type != "id" or id_field.optional or id_field.list:
            yield Diagnostic(
                "bad-id",
                (*path, "fields", "id"),
                "the 'id' field must be of type 'id', required, not a list",
                "write `id: id`",
            )
        if len(set(entity.operations)) != len(entity.operations):
            yield Diagnostic(
                "duplicate-name",
                (*path, "operations"),
                "an operation is listed twice",
                "list each CRUD operation once",
            )
        if entity.filters and "list" not in entity.operations:
            yield Diagnostic(
                "filters-without-list",
                (*path, "filters"),
                f"entity '{name}' has filters but no 'list' operation",
                "add 'list' to its operations or remove the filters",
            )
        for field_name, kind in entity.filters.items():
            filter_path = (*path, "filters", field_name)
            field = entity.fields.get(field_name)
            if field is None:
                yield Diagnostic(
                    "unknown-field",
                    filter_path,
                    f"filter on unknown field '{field_name}'",
                    f"filter on a field of {name}{did_you_mean(field_name, list(entity.fields))}",
                )
            elif field.list:
                yield Diagnostic(
                    "bad-filter",
                    filter_path,
                    "a list field cannot be filtered",
                    "filter on a single-valued field",
                )
            elif kind == "range" and field.type not in ORDERED:
                yield Diagnostic(
                    "bad-filter",
                    filter_path,
                    f"a 'range' filter needs an ordered type, not '{field.type}'",
                    "use `eq`, or filter a number, date or datetime field",
                )
        for group in ("read", "write"):
            yield from _check_scopes(spec, getattr(entity.scopes, group), (*path, "scopes", group))


def _check_fields(
    spec: Spec, fields: Fields, path: SpecPath, allow_entity_lists: bool
) -> Iterator[Diagnostic]:
    wire_names: dict[str, str] = {}
    for name, field in fields.items():
        field_path = (*path, name)
        yield from _check_snake(name, field_path, "field")
        wire = f"{name}_id" if field.type in spec.entities else name
        if wire in wire_names:
            yield Diagnostic(
                "duplicate-name",
                field_path,
                f"field '{name}' is sent as '{wire}', like field '{wire_names[wire]}'",
                "rename one of the two fields",
            )
        wire_names[wire] = name
        yield from _check_field(spec, field, field_path, allow_entity_lists)


def _known_types(spec: Spec) -> list[str]:
    return [*SCALAR_TYPES, *spec.enums, *spec.entities]


def _check_field(
    spec: Spec, field: FieldSpec, path: SpecPath, allow_entity_lists: bool
) -> Iterator[Diagnostic]:
    type_path = (*path, "type")
    if field.type not in _known_types(spec):
        yield Diagnostic(
            "unknown-type",
            type_path,
            f"unknown type '{field.type}'",
            did_you_mean(field.type, _known_types(spec))[2:]
            or f"use a scalar ({', '.join(SCALAR_TYPES)}), an enum or an entity",
        )
        return
    if field.list and field.type in spec.entities and not allow_entity_lists:
        yield Diagnostic(
            "unsupported-type",
            type_path,
            f"a field cannot hold a list of entities ('[{field.type}]')",
            f"reference this entity from {field.type} instead",
        )
    base = (
        "enum"
        if field.type in spec.enums
        else ("entity" if field.type in spec.entities else field.type)
    )
    yield from _check_constraints(field, path, base)
    if field.default is not None and not _matches(field.default, base, spec, field):
        yield Diagnostic(
            "bad-default",
            (*path, "default"),
            f"default {field.default!r} is not a valid '{field.type}'",
            "give a default of the field's type or remove it",
        )


def _check_constraints(field: FieldSpec, path: SpecPath, base: str) -> Iterator[Diagnostic]:
    numeric = (("min", field.min), ("max", field.max))
    lengths = (("min_length", field.min_length), ("max_length", field.max_length))
    for key, value in numeric:
        if value is not None and base not in NUMERIC:
            yield Diagnostic(
                "bad-constraint",
                (*path, key),
                f"'{key}' applies to numbers, not to '{base}'",
                f"remove '{key}' or use min_length/max_length",
            )
    for key, value in lengths:
        if value is None:
            continue
        if base not in TEXTUAL and not field.list:
            yield Diagnostic(
                "bad-constraint",
                (*path, key),
                f"'{key}' applies to text and lists, not to '{base}'",
                f"remove '{key}'" + (" or use min/max" if base in NUMERIC else ""),
            )
        elif value < 0:
            yield Diagnostic(
                "bad-constraint", (*path, key), f"'{key}' is negative ({value})", "use 0 or more"
            )
    if field.min is not None and field.max is not None and field.min > field.max:
        yield Diagnostic(
            "bad-range",
            (*path, "min"),
            f"min ({_num(field.min)}) is greater than max ({_num(field.max)})",
            "swap them or correct one bound",
        )
    if (
        field.min_length is not None
        and field.max_length is not None
        and field.min_length > field.max_length
    ):
        yield Diagnostic(
            "bad-range",
            (*path, "min_length"),
            f"min_length ({field.min_length}) is greater than max_length ({field.max_length})",
            "swap them or correct one bound",
        )
    if field.pattern is not None:
        if base not in TEXTUAL:
            yield Diagnostic(
                "bad-constraint",
                (*path, "pattern"),
                f"'pattern' applies to text, not to '{base}'",
                "remove 'pattern'",
            )
        else:
            try:
                re.compile(field.pattern)
            except (re.error, OverflowError) as error:
                yield Diagnostic(
                    "bad-pattern",
                    (*path, "pattern"),
                    f"pattern is not a valid regular expression ({error})",
                    "fix the regular expression",
                )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _matches(value: Any, base: str, spec: Spec, field: FieldSpec) -> bool:
    if field.list:
        return isinstance(value, list) and all(
            _matches(v, base, spec, field.model_copy(update={"list": False})) for v in value
        )
    if base == "enum":
        return value in spec.enums[field.type].values
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base in ("float", "decimal"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _check_scopes(spec: Spec, scopes: list[str], path: SpecPath) -> Iterator[Diagnostic]:
    declared = list(spec.auth.bearer.scopes) if spec.auth else []
    for index, scope in enumerate(scopes):
        if not spec.auth:
            yield Diagnostic(
                "scope-without-auth",
                (*path, index),
                f"scope '{scope}' is required but the spec has no auth",
                "add `auth: {bearer: {scopes: [...]}}` or remove the scope",
            )
        elif scope not in declared:
            yield Diagnostic(
                "unknown-scope",
                (*path, index),
                f"unknown scope '{scope}'",
                f"declare it under auth.bearer.scopes{did_you_mean(scope, declared)}",
            )


def _crud_operations(spec: Spec) -> Iterator[tuple[str, int, str]]:
    """(entity, index, kind) of every CRUD operation; a badly named entity is reported, not
    routed."""
    for entity, spec_entity in spec.entities.items():
        if PASCAL_CASE.match(entity):
            for index, kind in enumerate(spec_entity.operations):
                yield entity, index, kind


def _crud_names(spec: Spec) -> dict[str, str]:
    return {
        crud_operation_name(kind, Name(entity)).snake: entity
        for entity, _, kind in _crud_operations(spec)
    }


def _check_operations(spec: Spec) -> Iterator[Diagnostic]:
    crud = _crud_names(spec)
    errors = [*BUILTIN_ERRORS, *spec.errors]
    for name, op in spec.operations.items():
        path: SpecPath = ("operations", name)
        yield from _check_snake(name, path, "operation")
        if name in crud:
            yield Diagnostic(
                "duplicate-name",
                path,
                f"operation '{name}' clashes with the CRUD operation of {crud[name]}",
                "rename the operation or drop the CRUD one",
            )
        yield from _check_fields(spec, op.input, (*path, "input"), allow_entity_lists=False)
        if op.http is not None:
            yield from _check_http(op.http, list(op.input), (*path, "http"))
        if op.output is not None:
            output = op.output.strip()
            inner = (
                output[1:-1].strip() if output.startswith("[") and output.endswith("]") else output
            )
            if inner not in spec.entities:
                yield Diagnostic(
                    "unknown-type",
                    (*path, "output"),
                    f"output '{op.output}' is not an entity",
                    "name an entity, `[Entity]`, or leave the output out"
                    f"{did_you_mean(inner, list(spec.entities))}",
                )
            if op.status == 204:
                yield Diagnostic(
                    "bad-status",
                    (*path, "status"),
                    "status 204 sends no body, but the operation has an output",
                    "use 200 or 201, or remove the output",
                )
        for index, code in enumerate(op.errors):
            if code not in errors:
                yield Diagnostic(
                    "unknown-error",
                    (*path, "errors", index),
                    f"unknown error '{code}'",
                    f"declare it under `errors:`{did_you_mean(code, errors)}",
                )
        if op.idempotent and op.kind != "command":
            yield Diagnostic(
                "bad-idempotent",
                (*path, "idempotent"),
                "only a command can take an idempotency key",
                "remove `idempotent` or make the operation a command",
            )
        if op.public and op.scopes:
            yield Diagnostic(
                "public-with-scopes",
                (*path, "public"),
                "a public operation cannot require scopes",
                "remove `public` or the scopes",
            )
        yield from _check_scopes(spec, op.scopes, (*path, "scopes"))


def _check_http(http: str, inputs: list[str], path: SpecPath) -> Iterator[Diagnostic]:
    match = ROUTE.match(http.strip())
    if not match:
        yield Diagnostic(
            "bad-route",
            path,
            f"route '{http}' is not `METHOD /path`",
            "write it like `POST /appointments`",
        )
        return
    if match["method"] not in HTTP_METHODS:
        yield Diagnostic(
            "bad-route",
            path,
            f"unknown HTTP method '{match['method']}'",
            f"use one of {', '.join(HTTP_METHODS)}{did_you_mean(match['method'], HTTP_METHODS)}",
        )
    segments = [s for s in match["path"].split("/") if s]
    for segment in segments:
        if not PATH_SEGMENT.match(segment):
            yield Diagnostic(
                "bad-route",
                path,
                f"path segment '{segment}' is not valid",
                "use lower-case kebab-case nouns and `{param}` placeholders",
            )
    if match["path"].startswith("/v") and segments and segments[0][1:].isdigit():
        yield Diagnostic(
            "bad-route",
            path,
            "the route repeats the version prefix",
            "write the route without `/v1`: apigen serves it under the version",
        )
    for param in PATH_PARAM.findall(match["path"]):
        if param not in inputs:
            yield Diagnostic(
                "unknown-path-param",
                path,
                f"path parameter '{{{param}}}' is not an input field",
                f"add `{param}` to the operation's input{did_you_mean(param, inputs)}",
            )


def _check_routes(spec: Spec) -> Iterator[Diagnostic]:
    """Two operations must never answer the same method and path."""
    taken: dict[str, str] = {}
    if spec.events:
        for method, route in (
            ("GET", WEBHOOKS_PATH),
            ("POST", WEBHOOKS_PATH),
            ("DELETE", WEBHOOKS_PATH + "/{id}"),
        ):
            taken[route_shape(method, route)] = "the webhook subscriptions (the spec has events)"
    for entity, index, kind in _crud_operations(spec):
        method, route = crud_route(kind, Name(entity))
        shape = route_shape(method, route)
        if shape in taken:
            yield Diagnostic(
                "route-clash",
                ("entities", entity, "operations", index),
                f"route '{method} {route}' of the '{kind}' operation is already served by "
                f"{taken[shape]}",
                "rename the entity or drop the operation",
            )
        taken.setdefault(shape, f"the '{kind}' operation of {entity}")
    for name, op in spec.operations.items():
        if not SNAKE_CASE.match(name) or (op.http is not None and not ROUTE.match(op.http.strip())):
            continue
        method, route = custom_route(Name(name), op.kind, op.http)
        shape = route_shape(method, route)
        if shape in taken:
            yield Diagnostic(
                "route-clash",
                ("operations", name, "http" if op.http else "kind"),
                f"route '{method} {route}' is already served by {taken[shape]}",
                "give this operation another `http:` route",
            )
        else:
            taken[shape] = f"operation '{name}'"


def _check_events(spec: Spec) -> Iterator[Diagnostic]:
    for name, event in spec.events.items():
        path: SpecPath = ("events", name)
        if not EVENT_NAME.match(name):
            yield Diagnostic(
                "bad-name",
                path,
                f"event '{name}' is not `noun.past_tense_verb`",
                "name it like `appointment.status_changed`",
            )
        yield from _check_fields(spec, event.payload, (*path, "payload"), allow_entity_lists=False)
        key = event.payload.get(event.key)
        if key is None:
            yield Diagnostic(
                "unknown-key-field",
                (*path, "key"),
                f"event key '{event.key}' is not in the payload",
                f"name a payload field{did_you_mean(event.key, list(event.payload))}",
            )
        elif key.list or key.type in spec.entities:
            yield Diagnostic(
                "bad-key-field",
                (*path, "key"),
                f"event key '{event.key}' must be a single scalar or enum",
                "key the event on an id or another single value",
            )


def _check_errors(spec: Spec) -> Iterator[Diagnostic]:
    for code, error in spec.errors.items():
        path: SpecPath = ("errors", code)
        yield from _check_snake(code, path, "error code")
        if code in BUILTIN_ERRORS:
            yield Diagnostic(
                "duplicate-name",
                path,
                f"'{code}' is a built-in error",
                "use it without declaring it, or choose another code",
            )
        if not 400 <= error.status <= 599:
            yield Diagnostic(
                "bad-status",
                (*path, "status"),
                f"error status {error.status} is not a 4xx or 5xx status",
                "use a status from 400 to 599",
            )
