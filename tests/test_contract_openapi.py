"""The OpenAPI contract: valid by openapi-spec-validator, and saying what the service does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from apigen.contracts.openapi import emit_openapi

from .conftest import SPECS, api_of

ROOT = Path(__file__).resolve().parent.parent


def document(spec_name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(emit_openapi(api_of(ROOT / "specs" / spec_name)))
    return result


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_spec_gives_a_valid_openapi_31_document(spec: Path) -> None:
    doc = json.loads(emit_openapi(api_of(spec)))
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    for path, item in doc["paths"].items():
        assert path.startswith("/v"), path
        for method, operation in item.items():
            # Redocly's recommended rules: an id, a description, a 4xx per operation.
            assert operation["operationId"] and operation["description"], (path, method)
            assert any(code.startswith("4") for code in operation["responses"]), (path, method)


def test_status_codes_follow_the_table() -> None:
    paths = document("booking.yaml")["paths"]
    assert set(paths["/v1/patients"]["post"]["responses"]) == {
        "201",
        "400",
        "401",
        "403",
        "415",
        "422",
        "429",
    }
    assert "404" in paths["/v1/patients/{id}"]["get"]["responses"]
    book = paths["/v1/appointments"]["post"]
    assert set(book["responses"]) == {
        *("201", "400", "401", "403", "404", "409", "415", "422", "429")
    }
    assert "slot_unavailable" in book["responses"]["409"]["description"]
    problem = book["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    blog = document("blog.yaml")["paths"]
    assert set(blog["/v2/posts/{id}"]["delete"]["responses"]) == {"204", "404", "422", "429"}
    assert "content" not in blog["/v2/posts/{id}"]["delete"]["responses"]["204"]


def test_idempotency_key_header_on_creating_commands_only() -> None:
    paths = document("booking.yaml")["paths"]

    def headers(operation: dict[str, Any]) -> list[str]:
        return [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]

    assert headers(paths["/v1/appointments"]["post"]) == ["Idempotency-Key"]
    assert headers(paths["/v1/patients"]["post"]) == ["Idempotency-Key"]
    assert headers(paths["/v1/appointments/{appointment_id}/cancellation"]["post"]) == []
    body = document("booking.yaml")["components"]["schemas"]["BookAppointmentBody"]
    assert "idempotency_key" not in body["properties"]
    assert body["additionalProperties"] is False
    assert body["required"] == ["slot_id", "patient_id"]


def test_security_scopes_per_operation() -> None:
    doc = document("booking.yaml")
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    book = doc["paths"]["/v1/appointments"]["post"]
    assert book["security"] == [{"bearerAuth": ["appointments:write"]}]
    inventory = document("inventory.yaml")["paths"]
    assert inventory["/v0/health"]["get"]["security"] == []
    assert "security" not in document("blog.yaml")["paths"]["/v2/posts"]["get"]


def test_pagination_and_filters() -> None:
    doc = document("booking.yaml")
    listing = doc["paths"]["/v1/appointments"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert list(params) == ["limit", "cursor", "patient_id", "provider_id", "status"]
    assert params["limit"]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert params["status"]["schema"] == {"$ref": "#/components/schemas/AppointmentStatus"}
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/AppointmentPage"}
    envelope = doc["components"]["schemas"]["AppointmentPage"]
    assert envelope["required"] == ["items", "next_cursor"]
    slots = {p["name"] for p in doc["paths"]["/v1/slots"]["get"]["parameters"]}
    assert {"starts_at_from", "starts_at_to", "provider_id"} <= slots


def test_constraints_travel_into_schemas() -> None:
    schemas = document("booking.yaml")["components"]["schemas"]
    assert schemas["Slot"]["properties"]["duration_minutes"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 5,
        "maximum": 480,
        "examples": [30],
    }
    assert schemas["Patient"]["properties"]["email"]["format"] == "email"
    phone = schemas["Patient"]["properties"]["phone"]
    assert phone["type"] == ["string", "null"] and phone["pattern"].startswith("^")
    assert schemas["Appointment"]["properties"]["confirmation_number"]["readOnly"] is True
    assert schemas["Appointment"]["properties"]["slot_id"]["type"] == "string"
    assert schemas["Slot"]["description"].startswith("A period")
    inventory = document("inventory.yaml")["components"]["schemas"]
    assert inventory["Product"]["properties"]["unit_price"]["format"] == "decimal"
    blog = document("blog.yaml")["components"]["schemas"]
    assert blog["Post"]["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 10,
    }


def test_webhooks_for_every_event() -> None:
    doc = document("booking.yaml")
    hook = doc["webhooks"]["appointment.status_changed"]["post"]
    headers = [p["name"] for p in hook["parameters"]]
    assert headers == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    envelope = doc["components"]["schemas"]["AppointmentStatusChangedWebhook"]
    assert envelope["properties"]["type"] == {"const": "appointment.status_changed"}
    assert set(document("blog.yaml")["webhooks"]) == {"post.published", "comment.added"}


def test_problem_schema_lists_the_catalogue() -> None:
    problem = document("booking.yaml")["components"]["schemas"]["Problem"]
    codes = problem["properties"]["code"]["enum"]
    assert "slot_unavailable" in codes and "validation_failed" in codes
    assert problem["required"] == ["type", "title", "status", "code"]
