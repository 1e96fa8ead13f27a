"""The GraphQL contract: the SDL of an API, a pure function of the IR.

Entities become object types (a reference appears as its id and as the resolved object), list
operations Relay connections, custom commands mutations with one input type, events
subscriptions keyed on the event's key. Constraints and error codes, which SDL cannot express,
travel in descriptions.
"""

from __future__ import annotations

import json
from typing import Any

from ..conventions import IDEMPOTENCY_KEY
from ..ir import Api, Entity, Enum, Event, Field, Message, Operation, TypeRef

SCALARS = {
    "id": "ID",
    "string": "String",
    "email": "String",
    "url": "String",
    "uuid": "String",
    "bytes": "String",
    "int": "Int",
    "float": "Float",
    "bool": "Boolean",
    "datetime": "DateTime",
    "date": "Date",
    "decimal": "Decimal",
}

# Custom scalars in the order they are emitted: spec kind, GraphQL name, description, spec URL.
CUSTOM_SCALARS = (
    (
        "datetime",
        "DateTime",
        "A date and time with offset, RFC 3339 (`2024-05-01T09:30:00Z`).",
        "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    ),
    (
        "date",
        "Date",
        "A calendar date, RFC 3339 `full-date` (`2024-05-01`).",
        "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    ),
    ("decimal", "Decimal", "An exact decimal number, sent as a string (`12.50`).", None),
)

FORMATS = {
    "email": "An email address.",
    "url": "A URL.",
    "uuid": "A UUID.",
    "bytes": "Base64-encoded bytes.",
}

Arg = tuple[str, str, str]  # name, type (with its default), description


def emit_graphql(api: Api) -> str:
    """The GraphQL SDL of `api`, ending in one newline."""
    page_entities = [
        api.entity(op.output.entity)
        for op in api.operations
        if op.output.kind == "page" and op.output.entity
    ]
    mutations = [op for op in api.operations if op.graphql.root == "Mutation"]
    blocks = [
        _schema(api, bool(mutations)),
        _root("Query", [_op_field(api, op) for op in api.operations if op.graphql.root == "Query"]),
        _root("Mutation", [_op_field(api, op) for op in mutations]),
        _root("Subscription", [_event_field(api, event) for event in api.events]),
        *(_object(api, entity.message, entity.name.pascal) for entity in api.entities),
        *(_object(api, event.message, event.message.name.pascal) for event in api.events),
        *(_connection(entity) for entity in dict.fromkeys(page_entities)),
        _page_info() if page_entities else "",
        *(_input(api, op) for op in api.operations if op.graphql.input_type),
        *(_enum(enum) for enum in api.enums),
        *_scalars(api),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


def _schema(api: Api, has_mutations: bool) -> str:
    intro = f"{api.title} (version {api.version})"
    lines = [intro, "", api.description] if api.description else [intro]
    if api.auth:
        lines += [
            "",
            "Authenticate with the `Authorization: Bearer <token>` header; over WebSocket, "
            "send it in the `connection_init` payload.",
        ]
    lines += ["", "Errors are reported in `errors[].extensions.code`, one of:"]
    lines += [f"- `{error.graphql_code}`: {error.message}" for error in api.errors]
    roots = [("query", True), ("mutation", has_mutations), ("subscription", bool(api.events))]
    body = [f"  {root}: {root.capitalize()}" for root, present in roots if present]
    return "\n".join([*_description("\n".join(lines), ""), "schema {", *body, "}"])


def _root(name: str, fields: list[list[str]]) -> str:
    if not fields:
        return ""
    return "\n".join([f"type {name} {{", *(line for field in fields for line in field), "}"])


def _op_field(api: Api, op: Operation) -> list[str]:
    """An operation's field on Query or Mutation, with its arguments."""
    binding = op.graphql
    fields = [f for f in op.input.fields if f.name.snake != IDEMPOTENCY_KEY]
    if binding.input_type:
        by_id = [f for f in fields if op.kind == "update" and f.name.snake == "id"]
        args = [*(_arg(api, f) for f in by_id), ("input", f"{binding.input_type}!", "")]
    else:
        args = [_arg(api, f) for f in fields]
    if op.idempotent:
        args.append(_arg(api, op.input.field(IDEMPOTENCY_KEY)))
    if op.public or not api.auth:
        access = "Public: no token needed."
    elif op.scopes:
        access = "Scopes: " + ", ".join(f"`{scope}`" for scope in op.scopes) + "."
    else:
        access = "Requires a token."
    codes = ", ".join(f"`{api.error(code).graphql_code}`" for code in op.errors)
    notes = [op.description, access, f"Errors: {codes}." if codes else ""]
    return _field(binding.field, args, binding.result_type, "\n\n".join(filter(None, notes)))


def _event_field(api: Api, event: Event) -> list[str]:
    key = event.key
    arg = (
        key.graphql_name,
        graphql_type(api, key.type, optional=True),
        f"Only events with this `{key.graphql_name}`; all events when omitted.",
    )
    notes = " ".join(filter(None, [event.description, f"Delivers each `{event.type}` event."]))
    return _field(event.graphql_field, [arg], f"{event.message.name.pascal}!", notes)


def _object(api: Api, message: Message, name: str) -> str:
    """An object type; each entity reference appears as its id and as the resolved object."""
    lines = [*_description(message.description, ""), f"type {name} {{"]
    for f in message.fields:
        lines += _field(f.graphql_name, [], graphql_type(api, f.type, f.optional), _field_notes(f))
        if f.type.is_ref:
            resolved = graphql_type(api, f.type, f.optional, as_id=False)
            lines += _field(f.name.camel, [], resolved, f"Resolved from `{f.graphql_name}`.")
    return "\n".join([*lines, "}"])


def _connection(entity: Entity) -> str:
    name = entity.name.pascal
    items = " ".join(entity.plural.parts)
    return "\n".join(
        [
            f'"""A page of {items}."""',
            f"type {name}Connection {{",
            '  """The items of this page with their cursors."""',
            f"  edges: [{name}Edge!]!",
            '  """The items of this page."""',
            f"  nodes: [{name}!]!",
            '  """Where this page ends."""',
            "  pageInfo: PageInfo!",
            "}",
            "",
            f'"""One of the {items} of a page, with its cursor."""',
            f"type {name}Edge {{",
            '  """Pass as `after` to continue after this item."""',
            "  cursor: String!",
            f"  node: {name}!",
            "}",
        ]
    )


def _page_info() -> str:
    return "\n".join(
        [
            '"""Where a page ends, and whether more follow."""',
            "type PageInfo {",
            '  """Whether another page follows this one."""',
            "  hasNextPage: Boolean!",
            '  """Cursor of the last item; pass it as `after` for the next page. Null when empty."""',
            "  endCursor: String",
            "}",
        ]
    )


def _input(api: Api, op: Operation) -> str:
    """The input type of a mutation: its input fields but the idempotency key (and an update's id)."""
    skip = {IDEMPOTENCY_KEY, "id"} if op.kind == "update" else {IDEMPOTENCY_KEY}
    lines = [f'"""Input of `{op.graphql.field}`."""', f"input {op.graphql.input_type} {{"]
    for f in op.input.fields:
        if f.name.snake not in skip:
            # An update sets only what it is given: a default would overwrite the stored value.
            name, type_, notes = _arg(api, f, with_default=op.kind != "update")
            lines += _field(name, [], type_, notes)
    return "\n".join([*lines, "}"])


def _enum(enum: Enum) -> str:
    values = [f"  {value.graphql_name}" for value in enum.values]
    lines = [*_description(enum.description, ""), f"enum {enum.name.pascal} {{", *values, "}"]
    return "\n".join(lines)


def _scalars(api: Api) -> list[str]:
    """The custom scalars the API uses."""
    messages = [
        *(e.message for e in api.entities),
        *(op.input for op in api.operations),
        *(ev.message for ev in api.events),
    ]
    used = {f.type.name for m in messages for f in m.fields if f.type.kind == "scalar"}
    return [
        "\n".join(
            [
                f'"""{description}"""',
                f'scalar {name} @specifiedBy(url: "{url}")' if url else f"scalar {name}",
            ]
        )
        for kind, name, description, url in CUSTOM_SCALARS
        if kind in used
    ]


def _arg(api: Api, f: Field, with_default: bool = True) -> Arg:
    """An argument or input field: references by id, the default and constraints documented."""
    type_ = graphql_type(api, f.type, f.optional)
    if with_default and f.default is not None:
        type_ += f" = {_literal(api, f.type, f.default)}"
    return f.graphql_name, type_, _field_notes(f)


def _field(name: str, args: list[Arg], type_: str, description: str) -> list[str]:
    """A field definition at two spaces, its arguments inline unless they have descriptions."""
    lines = _description(description, "  ")
    if not args:
        return [*lines, f"  {name}: {type_}"]
    if not any(notes for _, _, notes in args):
        inline = ", ".join(f"{arg}: {arg_type}" for arg, arg_type, _ in args)
        return [*lines, f"  {name}({inline}): {type_}"]
    lines.append(f"  {name}(")
    for arg, arg_type, notes in args:
        lines += [*_description(notes, "    "), f"    {arg}: {arg_type}"]
    return [*lines, f"  ): {type_}"]


def graphql_type(api: Api, ref: TypeRef, optional: bool, as_id: bool = True) -> str:
    """The GraphQL type of a field: lists are `[T!]`, non-null unless optional."""
    if ref.kind == "scalar" or (ref.is_ref and as_id):
        base = SCALARS["id" if ref.is_ref else ref.name]
    elif ref.is_ref:
        base = api.entity(ref.name).name.pascal
    else:
        base = api.enum(ref.name).name.pascal
    if ref.is_list:
        base = f"[{base}!]"
    return base if optional else f"{base}!"


def _literal(api: Api, ref: TypeRef, value: Any) -> str:
    """A default value as a GraphQL literal."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(api, ref, item) for item in value) + "]"
    if ref.kind == "enum":
        return next(v.graphql_name for v in api.enum(ref.name).values if v.value == value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _field_notes(f: Field) -> str:
    """A field's description with what SDL cannot say: format, constraints, read-only."""
    c = f.constraints
    unit = "items" if f.type.is_list else "characters"
    notes = [f.description]
    if f.type.kind == "scalar":
        notes.append(FORMATS.get(f.type.name, ""))
    if c.minimum is not None and c.maximum is not None:
        notes.append(f"Between {c.minimum} and {c.maximum}.")
    elif c.minimum is not None:
        notes.append(f"At least {c.minimum}.")
    elif c.maximum is not None:
        notes.append(f"At most {c.maximum}.")
    if c.min_length is not None and c.max_length is not None:
        notes.append(f"{c.min_length} to {c.max_length} {unit}.")
    elif c.min_length is not None:
        notes.append(f"At least {c.min_length} {unit}.")
    elif c.max_length is not None:
        notes.append(f"At most {c.max_length} {unit}.")
    if c.pattern is not None:
        notes.append(f"Matches `{c.pattern}`.")
    if f.read_only:
        notes.append("Read-only: set by the server.")
    return " ".join(note for note in notes if note)


def _description(text: str, indent: str) -> list[str]:
    """A block-string description at `indent`, one line when it fits on one."""
    text = text.strip().replace('"""', '\\"""')
    if not text:
        return []
    if "\n" not in text and not text.endswith(('"', "\\")):
        return [f'{indent}"""{text}"""']
    body = [f"{indent}{line}" if line else "" for line in text.split("\n")]
    return [f'{indent}"""', *body, f'{indent}"""']
