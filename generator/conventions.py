"""The fixed conventions of apigen: CRUD names and routes, built-in errors, status mappings.

These are rules, not state: the spec checker applies them to find clashes before anything is
built, and the IR applies the same functions to bind every operation, so the two never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .names import Name

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTE = re.compile(r"^(?P<method>[A-Z]+)\s+(?P<path>/\S*)$")
PATH_SEGMENT = re.compile(r"^([a-z0-9][a-z0-9\-]*|\{[a-z][a-z0-9_]*\})$")
PATH_PARAM = re.compile(r"\{([a-z][a-z0-9_]*)\}")

IDEMPOTENCY_KEY = "idempotency_key"
WEBHOOKS_PATH = "/webhooks"  # the REST resource of webhook subscriptions, when there are events
WEBHOOKS_MANAGE_SCOPE = "webhooks:manage"  # required to manage them, if the spec declares it
PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600}  # of a spec's `rate_limit.per`
PAGE_DEFAULT_LIMIT = 20
PAGE_MAX_LIMIT = 100


TRANSPORT_ERRORS = {
    "path": (404, "`not_found`: No such resource, or no route for the path"),
    "body": (415, "`bad_request`: The request body is not `application/json`"),
    "public": (401, "`unauthenticated`: A bearer token, when sent, must be valid"),
}
"""What the HTTP layer answers before the service is called, by what the operation has: path
parameters (a path that names nothing), a body (one that is not JSON), or public access under
bearer auth (a token sent, but not valid)."""


@dataclass(frozen=True)
class ErrorRule:
    """A built-in error of the catalogue, present in every service."""

    code: str
    status: int
    grpc: str
    message: str


BUILTIN_ERRORS = {
    e.code: e
    for e in (
        ErrorRule("bad_request", 400, "INVALID_ARGUMENT", "The request is malformed"),
        ErrorRule("unauthenticated", 401, "UNAUTHENTICATED", "A valid bearer token is required"),
        ErrorRule(
            "permission_denied", 403, "PERMISSION_DENIED", "The token lacks a required scope"
        ),
        ErrorRule("not_found", 404, "NOT_FOUND", "The resource does not exist"),
        ErrorRule("validation_failed", 422, "INVALID_ARGUMENT", "The input is not valid"),
        ErrorRule("rate_limited", 429, "RESOURCE_EXHAUSTED", "Too many requests; retry later"),
        ErrorRule("internal", 500, "INTERNAL", "The server failed to handle the request"),
    )
}

GRPC_FOR_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def grpc_status_for(http_status: int) -> str:
    """The gRPC status code that means the same as an HTTP status."""
    if http_status in GRPC_FOR_STATUS:
        return GRPC_FOR_STATUS[http_status]
    return "FAILED_PRECONDITION" if http_status < 500 else "INTERNAL"


def crud_operation_name(kind: str, entity: Name) -> Name:
    """`list` of Appointment -> list_appointments; `get` -> get_appointment."""
    return Name(kind) + (entity.plural() if kind == "list" else entity)


def collection_path(entity: Name) -> str:
    return f"/{entity.plural().kebab}"


def crud_route(kind: str, entity: Name) -> tuple[str, str]:
    """The REST method and path of a CRUD operation."""
    collection = collection_path(entity)
    item = f"{collection}/{{id}}"
    return {
        "list": ("GET", collection),
        "get": ("GET", item),
        "create": ("POST", collection),
        "update": ("PATCH", item),
        "delete": ("DELETE", item),
    }[kind]


def custom_route(name: Name, kind: str, http: str | None) -> tuple[str, str]:
    """The REST method and path of a custom operation: its `http:` override, or derived."""
    if http:
        match = ROUTE.match(http.strip())
        if match:
            return match["method"], match["path"].rstrip("/") or "/"
    return ("POST" if kind == "command" else "GET"), f"/{name.kebab}"


def route_shape(method: str, path: str) -> str:
    """A route with its parameter names erased, to find two that would match the same request."""
    return f"{method} {PATH_PARAM.sub('{}', path)}"
