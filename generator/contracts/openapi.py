"""The OpenAPI 3.1 emitter: paths, schemas, RFC 9457 problems, security and webhooks.

`emit_openapi(api)` is a pure function of the IR. Every status the service can answer is
declared, errors are `application/problem+json`, and each event is a Standard Webhooks
`webhooks` entry, so a fuzzing client finds no undocumented response.
"""

from __future__ import annotations

import json
from typing import Any

from ..ir import Api, Event, Field, HttpParam, Message, Operation, Output

JSON = dict[str, Any]

SECURITY_SCHEME = "bearerAuth"
PROBLEM = "Problem"
PROBLEM_MEDIA_TYPE = "application/problem+json"
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"

_SCALARS: dict[str, JSON] = {
    "id": {"type": "string", "minLength": 1},
    "string": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "decimal": {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN},
    "email": {"type": "string", "format": "email"},
    "url": {"type": "string", "format": "uri"},
    "uuid": {"type": "string", "format": "uuid"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
}


def emit_openapi(api: Api) -> str:
    """The OpenAPI 3.1 document of an API, as JSON text."""
    return json.dumps(openapi_document(api), indent=2, ensure_ascii=False) + "\n"


def openapi_document(api: Api) -> JSON:
    document: JSON = {
        "openapi": "3.1.0",
        "info": {
            "title": api.title,
            "version": api.version,
            "description": _info_description(api),
        },
        "servers": [{"url": "http://127.0.0.1:8000", "description": "Local development"}],
        "tags": _tags(api),
        "paths": _paths(api),
        "webhooks": {event.type: _webhook(api, event) for event in api.events},
        "components": {"schemas": _schemas(api)},
    }
    if api.auth:
        document["components"]["securitySchemes"] = {
            SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A JWT whose `scope` claim lists the granted scopes: "
                + ", ".join(f"`{name}`" for name, _ in api.scopes)
                + ".",
            }
        }
    return document


def _info_description(api: Api) -> str:
    lines = [
        api.description,
        "",
        "Errors are RFC 9457 problem documents; their `code` is one of:",
        "",
    ]
    lines += [f"- `{e.code}` ({e.status}): {e.message}" for e in api.errors]
    return "\n".join(lines).strip()


def _tags(api: Api) -> list[JSON]:
    tags = {op.http.tag for op in api.operations}
    described = [
        {"name": e.name.pascal, "description": e.message.description or e.name.pascal}
        for e in api.entities
        if e.name.pascal in tags
    ]
    others = sorted(tags - {t["name"] for t in described})
    webhooks = [{"name": "Webhooks", "description": "Events delivered to subscribers."}]
    return (
        described
        + [{"name": t, "description": f"Operations on {t}."} for t in others]
        + (webhooks if api.events else [])
    )


# -- schemas ----------------------------------------------------------------------------------


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _value_schema(field: Field, nullable: bool) -> JSON:
    """The JSON Schema of a field's value, with its constraints and documentation."""
    ref = field.type
    if ref.kind == "enum":
        item: JSON = _ref(ref.name)
    elif ref.is_ref:
        item = {"type": "string", "minLength": 1, "description": f"Id of the {ref.name}."}
    else:
        item = dict(_SCALARS[ref.name])
    c = field.constraints
    list_bounds = {"minItems": c.min_length, "maxItems": c.max_length}
    bounds = {
        "minimum": c.minimum,
        "maximum": c.maximum,
        "pattern": c.pattern,
        **({} if ref.is_list else {"minLength": c.min_length, "maxLength": c.max_length}),
    }
    item.update({k: v for k, v in bounds.items() if v is not None})
    schema: JSON = item
    if ref.is_list:
        schema = {"type": "array", "items": item}
        schema.update({k: v for k, v in list_bounds.items() if v is not None})
    if nullable:
        schema = _nullable(schema)
    if field.description:
        schema["description"] = field.description
    if field.read_only:
        schema["readOnly"] = True
    if field.default is not None:
        schema["default"] = field.default
    if field.example is not None:
        schema["examples"] = [field.example]
    return schema


def _nullable(schema: JSON) -> JSON:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if "description" in schema and "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _object_schema(
    message: Message, fields: tuple[Field, ...], *, strict: bool, as_input: bool
) -> JSON:
    """An object schema. Optional fields are nullable and not required: the service sends them
    as null, and a model built from the schema defaults them to None, so adding one breaks no
    code. Inputs also leave out fields with a default, and reject unknown properties when
    `strict`."""
    properties = {f.json_name: _value_schema(f, nullable=f.optional) for f in fields}
    required = [
        f.json_name for f in fields if not f.optional and not (as_input and f.default is not None)
    ]
    schema: JSON = {"type": "object"}
    if message.description:
        schema["description"] = message.description
    schema["properties"] = properties
    if required:
        schema["required"] = required
    if strict:
        schema["additionalProperties"] = False
    return schema


def _schemas(api: Api) -> JSON:
    schemas: JSON = {}
    for enum in api.enums:
        schemas[enum.name.pascal] = {
            "type": "string",
            "enum": [v.value for v in enum.values],
            **({"description": enum.description} if enum.description else {}),
        }
    for entity in api.entities:
        message = entity.message
        schemas[entity.name.pascal] = _object_schema(
            message, message.fields, strict=False, as_input=False
        )
    for op in api.operations:
        if op.http.body:
            schema = _object_schema(op.input, _body_fields(op), strict=True, as_input=True)
            schema["description"] = f"The body of `{op.http.operation_id}`."
            schemas[op.http.body] = schema
    for entity_name in _paged_entities(api):
        schemas[f"{entity_name}Page"] = {
            "type": "object",
            "description": f"One page of {entity_name} items, in a stable order.",
            "properties": {
                "items": {"type": "array", "items": _ref(entity_name)},
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` for the next page; null on the last page.",
                },
            },
            "required": ["items", "next_cursor"],
        }
    for event in api.events:
        schemas[event.name.pascal] = _object_schema(
            event.message, event.message.fields, strict=False, as_input=False
        )
        schemas[f"{event.name.pascal}Webhook"] = _webhook_envelope(event)
    if api.events:
        schemas.update(_webhook_subscription_schemas(api))
    schemas[PROBLEM] = _problem_schema(api)
    return schemas


def _webhook_subscription_schemas(api: Api) -> JSON:
    subscription: JSON = {
        "type": "object",
        "description": "A registered webhook endpoint.",
        "properties": {
            "id": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "events": {"type": "array", "items": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time"},
        },
        "required": ["id", "url", "events", "created_at"],
    }
    secret = {"type": "string", "description": "The `whsec_` signing secret, shown only once."}
    return {
        "WebhookSubscriptionInput": {
            "type": "object",
            "description": "Where to deliver which events.",
            "properties": {
                "url": {
                    "type": "string",
                    "format": "uri",
                    "minLength": 1,
                    "maxLength": 2048,
                    "description": "An absolute http or https URL.",
                },
                "events": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "enum": [e.type for e in api.events]},
                },
            },
            "required": ["url", "events"],
            "additionalProperties": False,
        },
        "WebhookSubscription": subscription,
        "CreatedWebhookSubscription": {
            **subscription,
            "description": "A new subscription with its signing secret: store it.",
            "properties": {**subscription["properties"], "secret": secret},
            "required": [*subscription["required"], "secret"],
        },
        "WebhookSubscriptionList": {
            "type": "object",
            "description": "The caller's subscriptions, oldest first.",
            "properties": {"items": {"type": "array", "items": _ref("WebhookSubscription")}},
            "required": ["items"],
        },
    }


def _paged_entities(api: Api) -> list[str]:
    return [
        op.output.entity for op in api.operations if op.output.kind == "page" and op.output.entity
    ]


def _webhook_envelope(event: Event) -> JSON:
    return {
        "type": "object",
        "description": f"The Standard Webhooks envelope of `{event.type}`.",
        "properties": {
            "type": {"const": event.type},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": _ref(event.name.pascal),
        },
        "required": ["type", "timestamp", "data"],
    }


def _problem_schema(api: Api) -> JSON:
    return {
        "type": "object",
        "description": "An RFC 9457 problem document.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": "string", "enum": [e.code for e in api.errors]},
            "errors": {
                "type": "array",
                "description": "For `validation_failed`: each invalid field and why.",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "e.g. `body.slot_id`"},
                        "message": {"type": "string"},
                    },
                    "required": ["path", "message"],
                },
            },
        },
        "required": ["type", "title", "status", "code"],
    }


# -- paths ------------------------------------------------------------------------------------


def _body_fields(op: Operation) -> tuple[Field, ...]:
    in_params = {p.field.json_name for p in op.http.params if p.field}
    return tuple(f for f in op.input.fields if f.json_name not in in_params)


def _paths(api: Api) -> JSON:
    paths: JSON = {}
    for op in api.operations:
        paths.setdefault(op.http.path, {})[op.http.method.lower()] = _operation(api, op)
    if api.events:
        paths.update(_webhook_subscription_paths(api))
    return paths


def _webhook_subscription_paths(api: Api) -> JSON:
    """Registering, listing and deleting webhook subscriptions (REST only)."""
    problem = {PROBLEM_MEDIA_TYPE: {"schema": _ref(PROBLEM)}}

    def answers(success: JSON, *errors: tuple[int, str]) -> JSON:
        errors = (*errors, (429, "`rate_limited`: Too many requests; retry later"))
        if api.auth:
            errors = (
                (401, "`unauthenticated`: A valid bearer token is required"),
                (403, "`permission_denied`: The token lacks a required scope"),
                *errors,
            )
        failures = {str(s): {"description": d, "content": problem} for s, d in sorted(errors)}
        return {**success, **failures}

    def operation(operation_id: str, summary: str, responses: JSON, **extra: Any) -> JSON:
        security = {"security": [{SECURITY_SCHEME: list(api.webhook_scopes)}]} if api.auth else {}
        return {
            "operationId": operation_id,
            "summary": summary,
            "description": summary + ".",
            "tags": ["Webhooks"],
            **extra,
            "responses": responses,
            **security,
        }

    def ok(status: int, schema: str | None, description: str) -> JSON:
        body = {"content": {"application/json": {"schema": _ref(schema)}}} if schema else {}
        return {str(status): {"description": description, **body}}

    invalid = (422, "`validation_failed`: The input is not valid")
    create = operation(
        "createWebhookSubscription",
        "Register a URL for some events; the answer holds its signing secret, shown once",
        answers(
            ok(201, "CreatedWebhookSubscription", "Created."),
            (400, "`bad_request`: The request is malformed"),
            (415, "`bad_request`: The request body is not `application/json`"),
            invalid,
        ),
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": _ref("WebhookSubscriptionInput")}},
        },
    )
    listing = operation(
        "listWebhookSubscriptions",
        "The caller's webhook subscriptions, oldest first, without their secrets",
        answers(ok(200, "WebhookSubscriptionList", "OK.")),
    )
    delete = operation(
        "deleteWebhookSubscription",
        "Remove a webhook subscription; its pending deliveries are dropped",
        answers(
            ok(204, None, "Deleted."),
            (404, "`not_found`: No such subscription of the caller"),
            invalid,
        ),
        parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
    )
    return {
        api.webhooks_path: {"post": create, "get": listing},
        f"{api.webhooks_path}/{{id}}": {"delete": delete},
    }


_RETRY_AFTER: JSON = {
    "Retry-After": {
        "description": "Seconds until the caller's next call is allowed.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def _operation(api: Api, op: Operation) -> JSON:
    operation: JSON = {
        "operationId": op.http.operation_id,
        "summary": op.description.split(".")[0] if op.description else op.name.snake,
        "description": op.description or op.name.snake,
        "tags": [op.http.tag],
    }
    if op.http.params:
        operation["parameters"] = [_parameter(p) for p in op.http.params]
    if op.http.body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.http.body)}},
        }
    errors = {
        status: "; ".join(
            f"`{e.code}`: {e.message}" for e in map(api.error, op.errors) if e.status == status
        )
        for status in op.http.error_statuses
    }
    errors.update({k: v for k, v in op.http.transport_errors if k not in errors})
    operation["responses"] = {
        str(op.http.success_status): _success(op.output, op.http.success_status)
    }
    for status, description in sorted(errors.items()):
        operation["responses"][str(status)] = {
            "description": description,
            **({"headers": _RETRY_AFTER} if status == 429 and api.rate_limit else {}),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref(PROBLEM)}},
        }
    if api.auth:
        operation["security"] = [] if op.public else [{SECURITY_SCHEME: list(op.scopes)}]
    return operation


def _parameter(param: HttpParam) -> JSON:
    assert param.field is not None
    schema = _value_schema(param.field, nullable=False)
    description = schema.pop("description", None)
    for key in ("readOnly", "examples"):
        schema.pop(key, None)
    parameter: JSON = {"name": param.name, "in": param.location, "required": param.required}
    if param.location == "header":
        description = "Repeating a request with the same key returns the first response."
    if description:
        parameter["description"] = description
    parameter["schema"] = schema
    return parameter


def _success(output: Output, status: int) -> JSON:
    if output.kind == "none" or output.entity is None:
        return {"description": "Done; no content."}
    schema = {
        "entity": _ref(output.entity),
        "list": {"type": "array", "items": _ref(output.entity)},
        "page": _ref(f"{output.entity}Page"),
    }[output.kind]
    description = "Created." if status == 201 else "OK."
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _webhook(api: Api, event: Event) -> JSON:
    headers = [
        (
            "webhook-id",
            "Id of the message (`msg_...`), the same on every retry; deduplicate by it.",
        ),
        ("webhook-timestamp", "Seconds since the epoch when this attempt was sent."),
        (
            "webhook-signature",
            "Space-separated `v1,<base64 HMAC-SHA256>` signatures of"
            " `<webhook-id>.<webhook-timestamp>.<body>` by the subscription's `whsec_` secret.",
        ),
    ]
    problem = {PROBLEM_MEDIA_TYPE: {"schema": _ref(PROBLEM)}}
    return {
        "post": {
            "operationId": f"{event.name.camel}Webhook",
            "summary": f"`{event.type}` delivered to a subscriber",
            "description": (event.description or event.type)
            + " Signed per Standard Webhooks and sent at least once, in order per subscription:"
            " any answer but 2xx is retried with exponential backoff, up to a cap of attempts.",
            "tags": ["Webhooks"],
            "parameters": [
                {
                    "name": n,
                    "in": "header",
                    "required": True,
                    "description": d,
                    "schema": {"type": "string"},
                }
                for n, d in headers
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(f"{event.name.pascal}Webhook")}},
            },
            "responses": {
                "204": {"description": "Processed, or a redelivery of a processed `webhook-id`."},
                "400": {
                    "description": "`bad_request`: a missing `webhook-*` header, a stale"
                    " timestamp (more than 5 minutes from now) or a replayed delivery.",
                    "content": problem,
                },
                "401": {
                    "description": "`unauthenticated`: no signature matches (forged, altered,"
                    " or signed with another secret).",
                    "content": problem,
                },
                "422": {
                    "description": "`validation_failed`: the body is not this event.",
                    "content": problem,
                },
            },
        }
    }
