"""Breaking-change detection: two specs compared through their IRs by a registry of named rules.

Both specs are resolved to the IR, the new one against its own lock or, when it has none, the
old spec's lock, so proto numbers are the ones `apigen generate` would write. Each rule (after
buf's `FIELD_NO_DELETE`, `ENUM_VALUE_NO_DELETE`...) has an id, a severity, a one-line purpose
and a check yielding changes; `diff_specs` runs them all and places each finding in the spec:
removals at their line in the old spec, everything else in the new one.

Fields are compared where clients meet them: an entity's fields are output (and input too
when it has a create or update operation), an operation's input is input, an event's payload
is output. So one spec edit can be breaking as input and safe as output, two findings.
Fields, operations and events are matched by name: renaming is a removal plus an addition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from .conventions import route_shape
from .diagnostics import SpecError, SpecPath, render_path
from .ir import Api, Field, Message, Operation
from .lock import Lock, LockedNumbers
from .resolve import resolve
from .spec.checks import check_spec
from .spec.loader import SourceMap, parse_spec, parse_yaml
from .spec.model import Spec

Severity = Literal["breaking", "dangerous", "safe"]
Style = Literal["rest", "graphql", "grpc", "events"]
Styles = tuple[Style, ...]

SEVERITIES: tuple[Severity, ...] = ("breaking", "dangerous", "safe")
ALL: Styles = ("rest", "graphql", "grpc", "events")
REQUEST: Styles = ("rest", "graphql", "grpc")
# An event reaches GraphQL subscriptions, gRPC Watch streams and `events`: WebSocket, SSE, webhooks.
EVENT: Styles = ("graphql", "grpc", "events")

# Errors an operation gets from its input, method and auth, which other rules already report.
_DERIVED_ERRORS = frozenset(
    {"bad_request", "validation_failed", "unauthenticated", "permission_denied", "rate_limited"}
)


@dataclass(frozen=True)
class SpecText:
    """One side of a diff: the spec's text, the name it is reported under, and its lock."""

    text: str
    file: str
    lock: Lock | None = None


@dataclass(frozen=True)
class Change:
    """What a rule found: where (`at` when the text has it elsewhere), why, and for whom."""

    path: SpecPath
    reason: str
    styles: Styles
    removed: bool = False
    at: SpecPath | None = None


@dataclass(frozen=True)
class Finding:
    """One classified change, located in the new spec (in the old one for removals)."""

    rule: str
    severity: Severity
    styles: Styles
    path: str
    reason: str
    file: str
    line: int
    column: int

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "styles": list(self.styles),
            "path": self.path,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }


# -- the two sides, indexed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """A message whose fields clients send (`inputs`) or receive (`outputs`)."""

    path: SpecPath
    styles: Styles
    fields: dict[str, Field]
    inputs: dict[str, Field]
    outputs: dict[str, Field]
    accepts: bool  # clients send it (an operation's input, an entity with create or update)
    creates: bool  # a non-optional input field without default must be sent

    def required(self, field: Field) -> bool:
        return self.creates and not field.optional and field.default is None

    def field_path(self, name: str) -> SpecPath:
        return (*self.path, name)


class Side:
    """One spec's IR and source positions, indexed by the names rules match on."""

    def __init__(self, api: Api, source: SourceMap) -> None:
        self.api = api
        self.source = source
        self.entities = {e.name.raw: e for e in api.entities}
        self.enums = {e.name.raw: e for e in api.enums}
        self.events = {e.type: e for e in api.events}
        self.errors = {e.code: e for e in api.errors}
        self.operations = {op.name.snake: op for op in api.operations}
        self.kinds = {
            e.name.raw: {op.kind for op in api.operations if op.entity == e.name.raw}
            for e in api.entities
        }
        self.holders = {h.path: h for h in self._holders()}

    def _holders(self) -> Iterator[Holder]:
        for entity in self.api.entities:
            kinds = self.kinds[entity.name.raw]
            fields = _by_name(entity.message)
            writable = {n: f for n, f in fields.items() if n != "id" and not f.read_only}
            accepts = bool(kinds & {"create", "update"})
            yield Holder(
                ("entities", entity.name.raw, "fields"),
                REQUEST,
                fields,
                writable if accepts else {},
                fields,
                accepts,
                "create" in kinds,
            )
        for op in self.api.operations:
            if op.entity is None:
                fields = _by_name(op.input)
                yield Holder((*op_path(op), "input"), REQUEST, fields, fields, {}, True, True)
        for event in self.api.events:
            fields = _by_name(event.message)
            yield Holder(("events", event.type, "payload"), EVENT, fields, {}, fields, False, False)

    def messages(self) -> Iterator[tuple[Message, SpecPath]]:
        """Every proto message with the spec path its fields are reported under."""
        for entity in self.api.entities:
            yield entity.message, ("entities", entity.name.raw, "fields")
        for op in self.api.operations:
            yield op.input, op_path(op) + (() if op.entity else ("input",))
        for event in self.api.events:
            yield event.message, ("events", event.type, "payload")

    def op_at(self, op: Operation) -> SpecPath:
        """Where a CRUD operation is written: its index in the entity's operation list."""
        if op.entity is None:
            return op_path(op)
        entity = self.entities[op.entity]
        return ("entities", op.entity, "operations", entity.operations.index(op.name.snake))


def op_path(op: Operation) -> SpecPath:
    """`operations.book_appointment`, or `entities.Slot.operations.list` for CRUD."""
    if op.entity is None:
        return ("operations", op.name.snake)
    return ("entities", op.entity, "operations", op.kind)


def _by_name(message: Message) -> dict[str, Field]:
    return {f.name.raw: f for f in message.fields}


# -- the registry -------------------------------------------------------------------------------

Check = Callable[[Side, Side], Iterable[Change]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    purpose: str
    check: Check


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: Severity, purpose: str) -> Callable[[Check], Check]:
    """Register a check under its id."""

    def register(check: Check) -> Check:
        RULES[rule_id] = Rule(rule_id, severity, purpose, check)
        return check

    return register


def _added(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [name for name in new if name not in old]


def _shared(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [name for name in new if name in old]


def _type_text(field: Field) -> str:
    return f"[{field.type.name}]" if field.type.is_list else field.type.name


# -- definitions: entities, enums, events, errors, operations -----------------------------------


@rule("ENTITY_NO_DELETE", "breaking", "An entity is not removed.")
def _entity_deleted(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(new.entities, old.entities):
        yield Change(
            ("entities", name),
            f"entity {name} was removed with its operations",
            REQUEST,
            removed=True,
        )


@rule("ENTITY_ADDED", "safe", "A new entity (with its operations) is added.")
def _entity_added(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(old.entities, new.entities):
        yield Change(("entities", name), f"new entity {name}", REQUEST)


@rule("ENUM_NO_DELETE", "breaking", "An enum is not removed.")
def _enum_deleted(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(new.enums, old.enums):
        yield Change(("enums", name), f"enum {name} was removed", ALL, removed=True)


@rule("ENUM_ADDED", "safe", "A new enum is added.")
def _enum_added(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(old.enums, new.enums):
        yield Change(("enums", name), f"new enum {name}", ALL)


@rule("ENUM_VALUE_NO_DELETE", "breaking", "An enum value is not removed.")
def _enum_value_deleted(old: Side, new: Side) -> Iterator[Change]:
    for name in _shared(old.enums, new.enums):
        before, after = old.enums[name].values, {v.value for v in new.enums[name].values}
        for index, value in enumerate(before):
            if value.value not in after:
                yield Change(
                    ("enums", name, value.value),
                    f"clients that send or store '{value.value}' are rejected",
                    ALL,
                    removed=True,
                    at=("enums", name, "values", index),
                )


@rule("ENUM_VALUE_ADDED", "dangerous", "A new enum value reaches clients that do not know it.")
def _enum_value_added(old: Side, new: Side) -> Iterator[Change]:
    for name in _shared(old.enums, new.enums):
        before = {v.value for v in old.enums[name].values}
        for index, value in enumerate(new.enums[name].values):
            if value.value not in before:
                yield Change(
                    ("enums", name, value.value),
                    f"clients with an exhaustive match on {name} meet '{value.value}'",
                    ALL,
                    at=("enums", name, "values", index),
                )


@rule("EVENT_NO_DELETE", "breaking", "An event is not removed.")
def _event_deleted(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(new.events, old.events):
        yield Change(("events", name), f"subscribers of {name} get nothing", EVENT, removed=True)


@rule("EVENT_ADDED", "safe", "A new event is added.")
def _event_added(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(old.events, new.events):
        yield Change(("events", name), f"new event {name}", EVENT)


@rule("EVENT_SAME_KEY", "breaking", "An event keeps the key subscribers filter on.")
def _event_key(old: Side, new: Side) -> Iterator[Change]:
    for name in _shared(old.events, new.events):
        before, after = old.events[name].key.name.raw, new.events[name].key.name.raw
        if before != after:
            yield Change(
                ("events", name, "key"),
                f"key {before} -> {after}: subscriptions filtered on {before} stop matching",
                EVENT,
            )


@rule("ERROR_NO_DELETE", "breaking", "An error is not removed from the catalogue.")
def _error_deleted(old: Side, new: Side) -> Iterator[Change]:
    for code in _added(new.errors, old.errors):
        yield Change(
            ("errors", code),
            f"client code that catches {code} no longer compiles or matches",
            ALL,
            removed=True,
        )


@rule("ERROR_ADDED", "safe", "A new error is added to the catalogue.")
def _error_added(old: Side, new: Side) -> Iterator[Change]:
    for code in _added(old.errors, new.errors):
        yield Change(("errors", code), f"new error {code}", ALL)


@rule("ERROR_SAME_STATUS", "breaking", "An error keeps its HTTP and gRPC status.")
def _error_status(old: Side, new: Side) -> Iterator[Change]:
    for code in _shared(old.errors, new.errors):
        before, after = old.errors[code], new.errors[code]
        if (before.status, before.grpc_status) != (after.status, after.grpc_status):
            yield Change(
                ("errors", code, "status"),
                f"{before.status} {before.grpc_status} -> {after.status} {after.grpc_status}:"
                " clients matching on the status miss it",
                ALL,
            )


@rule("OPERATION_NO_DELETE", "breaking", "An operation is not removed.")
def _operation_deleted(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(new.operations, old.operations):
        op = old.operations[name]
        if op.entity is None or op.entity in new.entities:
            yield Change(
                op_path(op),
                f"{op.http.method} {op.http.path}, GraphQL {op.graphql.field}"
                f" and RPC {op.rpc.name} are gone",
                REQUEST,
                removed=True,
                at=old.op_at(op),
            )


@rule("OPERATION_ADDED", "safe", "A new operation is added.")
def _operation_added(old: Side, new: Side) -> Iterator[Change]:
    for name in _added(old.operations, new.operations):
        op = new.operations[name]
        if op.entity is None or op.entity in old.entities:
            yield Change(
                op_path(op),
                f"new operation {op.http.method} {op.http.path}",
                REQUEST,
                at=new.op_at(op),
            )


def _operation_pairs(old: Side, new: Side) -> Iterator[tuple[Operation, Operation, SpecPath]]:
    for name in _shared(old.operations, new.operations):
        yield old.operations[name], new.operations[name], op_path(new.operations[name])


@rule("OPERATION_SAME_OUTPUT", "breaking", "An operation keeps what it returns.")
def _operation_output(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        if before.output != after.output:
            yield Change(
                (*path, "output"),
                f"returns {_output_text(after)} instead of {_output_text(before)}",
                REQUEST,
            )


def _output_text(op: Operation) -> str:
    kind, entity = op.output.kind, op.output.entity
    return {"entity": str(entity), "list": f"[{entity}]", "page": f"a page of {entity}"}.get(
        kind, "nothing"
    )


@rule("HTTP_SAME_ROUTE", "breaking", "An operation keeps its REST method and route.")
def _http_route(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        # relative to /v<major>: a major bump is VERSION_MAJOR_CHANGED
        routes = [
            route_shape(op.http.method, op.http.path.removeprefix(side.api.base_path))
            for op, side in ((before, old), (after, new))
        ]
        if routes[0] != routes[1]:
            yield Change(
                (*path, "http"),
                f"{before.http.method} {before.http.path} -> {after.http.method} {after.http.path}",
                ("rest",),
            )


@rule("HTTP_STATUS_CHANGED", "dangerous", "An operation's REST success status changes.")
def _http_status(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        if before.http.success_status != after.http.success_status:
            yield Change(
                (*path, "status"),
                f"success status {before.http.success_status} -> {after.http.success_status}",
                ("rest",),
            )


@rule("GRAPHQL_SAME_FIELD", "breaking", "An operation keeps its GraphQL root and field name.")
def _graphql_field(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        was, now = before.graphql, after.graphql
        if (was.root, was.field) != (now.root, now.field):
            yield Change(path, f"{was.root}.{was.field} -> {now.root}.{now.field}", ("graphql",))


@rule("RPC_SAME_NAME", "breaking", "An operation keeps its RPC and message names.")
def _rpc_name(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        was, now = before.rpc, after.rpc
        if (was.name, was.request, was.response) != (now.name, now.request, now.response):
            yield Change(path, f"RPC {was.name} -> {now.name}", ("grpc",))


@rule("OPERATION_NO_SCOPE_ADD", "breaking", "An operation requires no new scope.")
def _scope_added(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        for scope in after.scopes:
            if scope not in before.scopes:
                yield Change(
                    (*path, "scopes"),
                    f"tokens without '{scope}' are now refused (403)",
                    REQUEST,
                )


@rule("OPERATION_STAYS_PUBLIC", "breaking", "A public operation does not start asking for a token.")
def _public_removed(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        if before.public and not after.public:
            yield Change((*path, "public"), "calls without a token are now refused (401)", REQUEST)


@rule("OPERATION_ERROR_ADDED", "dangerous", "An operation can fail in a new way.")
def _operation_error_added(old: Side, new: Side) -> Iterator[Change]:
    for before, after, path in _operation_pairs(old, new):
        for code in after.errors:
            if code not in before.errors and code not in _DERIVED_ERRORS:
                yield Change(
                    (*path, "errors"),
                    f"may now fail with {code} ({new.errors[code].status}),"
                    " which clients may not handle",
                    REQUEST,
                )


@rule("FILTER_NO_DELETE", "breaking", "A list filter is not removed nor changes kind.")
def _filter_deleted(old: Side, new: Side) -> Iterator[Change]:
    for name in _shared(old.entities, new.entities):
        after = {f.field.name.raw: f.kind for f in new.entities[name].filters}
        for item in old.entities[name].filters:
            field, kind = item.field.name.raw, item.kind
            if after.get(field) != kind:
                now = f"now a {after[field]} filter" if field in after else "removed"
                yield Change(
                    ("entities", name, "filters", field),
                    f"{kind} filter {now}: lists filtered on it fail",
                    REQUEST,
                    removed=field not in after,
                )


@rule("FILTER_ADDED", "safe", "A new list filter is added.")
def _filter_added(old: Side, new: Side) -> Iterator[Change]:
    for name in _shared(old.entities, new.entities):
        before = {f.field.name.raw for f in old.entities[name].filters}
        for item in new.entities[name].filters:
            if item.field.name.raw not in before:
                yield Change(
                    ("entities", name, "filters", item.field.name.raw),
                    f"new {item.kind} filter",
                    REQUEST,
                )


@rule("VERSION_MAJOR_CHANGED", "dangerous", "A new major version moves every route and package.")
def _version_major(old: Side, new: Side) -> Iterator[Change]:
    if old.api.major != new.api.major:
        yield Change(
            ("version",),
            f"{old.api.base_path} -> {new.api.base_path} and {old.api.proto_package} ->"
            f" {new.api.proto_package}: clients of v{old.api.major} need it served until they move",
            ALL,
        )


@rule("RATE_LIMIT_NOT_TIGHTENED", "dangerous", "Callers may make as many calls as before.")
def _rate_limit_tightened(old: Side, new: Side) -> Iterator[Change]:
    before, after = old.api.rate_limit, new.api.rate_limit
    if after is None:
        return
    if (
        before is None
        or after.requests < before.requests
        or after.requests / after.seconds < before.requests / before.seconds
    ):
        was = f"{before.requests} per {before.seconds} s" if before else "no limit"
        yield Change(
            ("rate_limit",),
            f"{was} -> {after.requests} per {after.seconds} s: busy callers start getting"
            " rate_limited",
            REQUEST,
        )


# -- fields ---------------------------------------------------------------------------------------


def _holder_pairs(old: Side, new: Side) -> Iterator[tuple[Holder, Holder]]:
    for path, holder in new.holders.items():
        if path in old.holders:
            yield old.holders[path], holder


def _field_pairs(old: Side, new: Side) -> Iterator[tuple[Holder, Field, Field]]:
    for before, after in _holder_pairs(old, new):
        for name in _shared(before.fields, after.fields):
            yield after, before.fields[name], after.fields[name]


def _role_pairs(
    old: Side, new: Side, role: Literal["inputs", "outputs"]
) -> Iterator[tuple[Holder, Holder, Field, Field]]:
    """Fields clients send (or receive) on both sides."""
    for before, after in _holder_pairs(old, new):
        was, now = getattr(before, role), getattr(after, role)
        for name in _shared(was, now):
            yield before, after, was[name], now[name]


@rule("FIELD_NO_DELETE", "breaking", "A field is not removed (renaming is removing).")
def _field_deleted(old: Side, new: Side) -> Iterator[Change]:
    for before, after in _holder_pairs(old, new):
        for name in _added(after.fields, before.fields):
            yield Change(
                before.field_path(name),
                f"clients that send or read {name} break",
                before.styles,
                removed=True,
            )


@rule("INPUT_FIELD_NO_REQUIRED_ADD", "breaking", "No required field is added to an input.")
def _input_required_added(old: Side, new: Side) -> Iterator[Change]:
    for before, after in _holder_pairs(old, new):
        if before.accepts and after.accepts:
            for name in _added(before.inputs, after.inputs):
                if before.creates and after.required(after.inputs[name]):
                    yield Change(
                        after.field_path(name),
                        f"requests without {name} are now rejected (422)",
                        after.styles,
                    )


@rule("INPUT_FIELD_OPTIONAL_ADDED", "safe", "An optional field is added to an input.")
def _input_optional_added(old: Side, new: Side) -> Iterator[Change]:
    for before, after in _holder_pairs(old, new):
        if before.accepts and after.accepts:
            for name in _added(before.inputs, after.inputs):
                if not before.creates or not after.required(after.inputs[name]):
                    yield Change(after.field_path(name), f"clients may send {name}", after.styles)


@rule("INPUT_FIELD_STAYS_WRITABLE", "breaking", "A field clients send is not made read-only.")
def _input_field_deleted(old: Side, new: Side) -> Iterator[Change]:
    for before, after in _holder_pairs(old, new):
        for name in _added(after.inputs, before.inputs):
            if name in after.fields and after.accepts:
                yield Change(
                    after.field_path(name),
                    f"{name} is read-only now: requests that send it are rejected",
                    after.styles,
                )


@rule("OUTPUT_FIELD_ADDED", "safe", "A field is added to what clients receive.")
def _output_added(old: Side, new: Side) -> Iterator[Change]:
    for before, after in _holder_pairs(old, new):
        for name in _added(before.outputs, after.outputs):
            yield Change(after.field_path(name), f"clients receive {name}", after.styles)


@rule("FIELD_SAME_TYPE", "breaking", "A field keeps its type.")
def _field_type(old: Side, new: Side) -> Iterator[Change]:
    for holder, before, after in _field_pairs(old, new):
        if (before.type.kind, before.type.name) != (after.type.kind, after.type.name):
            yield Change(
                holder.field_path(after.name.raw),
                f"type {before.type.name} -> {after.type.name}",
                holder.styles,
            )


@rule("FIELD_SAME_CARDINALITY", "breaking", "A field stays a list, or stays a single value.")
def _field_cardinality(old: Side, new: Side) -> Iterator[Change]:
    for holder, before, after in _field_pairs(old, new):
        if before.type.is_list != after.type.is_list:
            yield Change(
                holder.field_path(after.name.raw),
                f"{_type_text(before)} -> {_type_text(after)}",
                holder.styles,
            )


@rule("DEFAULT_CHANGED", "dangerous", "A field's default changes what omitting it means.")
def _default_changed(old: Side, new: Side) -> Iterator[Change]:
    for holder, before, after in _field_pairs(old, new):
        if before.default != after.default:
            yield Change(
                (*holder.field_path(after.name.raw), "default"),
                f"default {before.default!r} -> {after.default!r}",
                holder.styles,
            )


@rule("INPUT_FIELD_STAYS_OPTIONAL", "breaking", "An optional input field does not become required.")
def _input_now_required(old: Side, new: Side) -> Iterator[Change]:
    for before, after, was, now in _role_pairs(old, new, "inputs"):
        if before.creates and not before.required(was) and after.required(now):
            yield Change(
                after.field_path(now.name.raw),
                f"requests without {now.name.raw} are now rejected (422)",
                after.styles,
            )


@rule("INPUT_FIELD_NOW_OPTIONAL", "safe", "A required input field becomes optional.")
def _input_now_optional(old: Side, new: Side) -> Iterator[Change]:
    for before, after, was, now in _role_pairs(old, new, "inputs"):
        if after.creates and before.required(was) and not after.required(now):
            yield Change(
                after.field_path(now.name.raw),
                f"clients may leave out {now.name.raw}",
                after.styles,
            )


@rule(
    "OUTPUT_FIELD_STAYS_REQUIRED", "breaking", "A field clients receive does not become optional."
)
def _output_now_optional(old: Side, new: Side) -> Iterator[Change]:
    for _, after, was, now in _role_pairs(old, new, "outputs"):
        if not was.optional and now.optional:
            yield Change(
                after.field_path(now.name.raw),
                f"{now.name.raw} may now be null or absent in responses",
                after.styles,
            )


@rule("OUTPUT_FIELD_NOW_REQUIRED", "safe", "A field clients receive is always present.")
def _output_now_required(old: Side, new: Side) -> Iterator[Change]:
    for _, after, was, now in _role_pairs(old, new, "outputs"):
        if was.optional and not now.optional:
            yield Change(
                after.field_path(now.name.raw), f"{now.name.raw} is always present", after.styles
            )


# -- constraints ----------------------------------------------------------------------------------

Direction = Literal["tightened", "loosened", "changed"]
# spec key, IR attribute, and whether a larger value is tighter
_BOUNDS = (
    ("min", "minimum", True),
    ("max", "maximum", False),
    ("min_length", "min_length", True),
    ("max_length", "max_length", False),
)


def _constraint_changes(before: Field, after: Field) -> Iterator[tuple[str, str, Direction]]:
    """Each constraint that changed: its spec key, what happened, and which way."""
    for key, attribute, larger_is_tighter in _BOUNDS:
        was = getattr(before.constraints, attribute)
        now = getattr(after.constraints, attribute)
        if was == now:
            continue
        tighter = was is None or (now is not None and (now > was) == larger_is_tighter)
        yield key, f"{key} {was} -> {now}", "tightened" if tighter else "loosened"
    was_pattern, now_pattern = before.constraints.pattern, after.constraints.pattern
    if was_pattern != now_pattern:
        direction: Direction = (
            "tightened" if was_pattern is None else "loosened" if now_pattern is None else "changed"
        )
        yield "pattern", f"pattern {was_pattern!r} -> {now_pattern!r}", direction


def _constraint_rule(
    role: Literal["inputs", "outputs"], directions: tuple[Direction, ...], consequence: str
) -> Check:
    def check(old: Side, new: Side) -> Iterator[Change]:
        for _, after, was, now in _role_pairs(old, new, role):
            for key, text, direction in _constraint_changes(was, now):
                if direction in directions:
                    yield Change(
                        (*after.field_path(now.name.raw), key),
                        f"{text}: {consequence}",
                        after.styles,
                    )

    return check


rule("INPUT_CONSTRAINT_NO_TIGHTEN", "breaking", "An input constraint is not tightened.")(
    _constraint_rule("inputs", ("tightened", "changed"), "requests valid before are rejected")
)
rule("INPUT_CONSTRAINT_LOOSENED", "safe", "An input constraint accepts more.")(
    _constraint_rule("inputs", ("loosened",), "more requests are accepted")
)
rule("OUTPUT_CONSTRAINT_LOOSENED", "dangerous", "Clients may receive values they never saw.")(
    _constraint_rule(
        "outputs", ("loosened", "changed"), "clients that validate responses may reject them"
    )
)
rule("OUTPUT_CONSTRAINT_TIGHTENED", "safe", "Clients receive a narrower range of values.")(
    _constraint_rule("outputs", ("tightened",), "responses stay within what clients accept")
)


# -- proto numbers ----------------------------------------------------------------------------------


def _number_pairs(old: Side, new: Side) -> Iterator[tuple[SpecPath, str, int, LockedNumbers]]:
    """Each field and enum value of the new IR with the old lock entry of its message or enum."""
    for message, prefix in new.messages():
        previous = old.api.lock.messages.get(message.name.pascal)
        if previous is not None:
            for field in message.fields:
                yield (*prefix, field.name.raw), field.proto_name, field.number, previous
    for name, enum in new.enums.items():
        entry = old.api.lock.enums.get(name)
        if entry is not None:
            for value in enum.values:
                yield ("enums", name, value.value), value.value, value.number, entry


@rule("PROTO_SAME_NUMBER", "breaking", "A proto field or enum value keeps its number.")
def _proto_number_changed(old: Side, new: Side) -> Iterator[Change]:
    for path, name, number, previous in _number_pairs(old, new):
        was = previous.live.get(name, previous.reserved.get(name))
        if was is not None and was != number:
            yield Change(
                path,
                f"{name} = {was} -> {number}: old clients decode it as another field",
                ("grpc",),
            )


@rule("PROTO_NUMBER_NO_REUSE", "breaking", "A new proto field takes no number used before.")
def _proto_number_reused(old: Side, new: Side) -> Iterator[Change]:
    for path, name, number, previous in _number_pairs(old, new):
        owners = {n: owner for owner, n in (*previous.live.items(), *previous.reserved.items())}
        if name not in previous.live and name not in previous.reserved and number in owners:
            yield Change(
                path,
                f"{name} = {number} was {owners[number]}'s number: old clients misread it"
                " (is the lock committed?)",
                ("grpc",),
            )


# -- running the rules ----------------------------------------------------------------------------


def parse_with_source(spec: SpecText) -> tuple[Spec, SourceMap]:
    """The checked spec and its positions, from one YAML parse; SpecError when it is wrong."""
    data, source, duplicates = parse_yaml(spec.text, spec.file)
    try:
        model: Spec | None = Spec.model_validate(data)
    except ValidationError:
        model = None
    if model is None or duplicates or next(check_spec(model), None):
        return parse_spec(spec.text, spec.file), source  # raises, with every problem located
    return model, source


def diff_specs(old: SpecText, new: SpecText) -> list[Finding]:
    """Every finding of every rule, most severe first; SpecError when either spec is wrong."""
    sides: list[tuple[Spec, SourceMap]] = []
    problems = []
    for spec in (old, new):
        try:
            sides.append(parse_with_source(spec))
        except SpecError as error:
            problems += error.diagnostics
    if problems:
        raise SpecError(problems)
    (old_spec, old_source), (new_spec, new_source) = sides
    old_api = resolve(old_spec, old.lock)
    new_api = resolve(new_spec, new.lock or old_api.lock)
    return compare(Side(old_api, old_source), Side(new_api, new_source))


def compare(old: Side, new: Side) -> list[Finding]:
    """Run every rule of the registry on two indexed sides."""
    findings = [
        _finding(rule, change, old if change.removed else new)
        for rule in RULES.values()
        for change in rule.check(old, new)
    ]
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.path, f.rule))


def _finding(rule: Rule, change: Change, side: Side) -> Finding:
    line, column = _position(side.source, change.at or change.path)
    return Finding(
        rule.id,
        rule.severity,
        change.styles,
        render_path(change.path),
        change.reason,
        side.source.file,
        line,
        column,
    )


def _position(source: SourceMap, path: SpecPath) -> tuple[int, int]:
    """The key (or list item) at `path`, or at the nearest enclosing path the text has."""
    for depth in range(len(path), -1, -1):
        head = path[:depth]
        # `Status: [a, b]` is written without the `values` key
        for candidate in (head, tuple(p for p in head if p != "values")):
            position = source.keys.get(candidate) or source.values.get(candidate)
            if position:
                return position
    return 1, 1
