"""The generated REST service and client, end to end: a real uvicorn server on 127.0.0.1,
an in-memory implementation of the generated interface, and the generated sync client."""

from __future__ import annotations

import importlib
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import httpx
import pytest

from .render_helpers import ROOT, importable, render_spec, rendered_booking, serving, write

SPEC = ROOT / "specs" / "booking.yaml"
SECRET = "test-secret-" + "x" * 32
ADMIN = ("admin", "appointments:read", "appointments:write")
PATIENT = ("appointments:read", "appointments:write")
DAY = date(2030, 1, 7)


@pytest.fixture(scope="module")
def booking(project: Path) -> Iterator[SimpleNamespace]:
    """The generated modules, imported from the rendered project."""
    with rendered_booking(
        project, "app", "auth", "errors", "models", "rest", "service", "clients.rest"
    ) as modules:
        yield modules


def memory_service(g: SimpleNamespace) -> Any:
    """A small in-memory implementation of the generated `BookingService`."""
    m: ModuleType = g.models
    errors: ModuleType = g.errors

    def page(items: list[Any], limit: int, cursor: str | None) -> dict[str, Any]:
        start = 0
        if cursor is not None:
            if not cursor.isdigit():
                raise errors.ValidationFailed(
                    "bad cursor", errors=[errors.FieldError("query.cursor", "not a cursor")]
                )
            start = int(cursor)
        chunk = items[start : start + limit]
        more = start + limit < len(items)
        return {"items": chunk, "next_cursor": str(start + limit) if more else None}

    class MemoryBooking:
        def __init__(self) -> None:
            self.ids = itertools.count(1)
            self.patients: dict[str, Any] = {}
            self.providers: dict[str, Any] = {}
            self.slots: dict[str, Any] = {}
            self.appointments: dict[str, Any] = {}
            self.calls: list[str] = []

        def new_id(self, prefix: str) -> str:
            return f"{prefix}_{next(self.ids)}"

        def find(self, store: dict[str, Any], id: str) -> Any:
            if id not in store:
                raise errors.NotFound(f"no such id {id}")
            return store[id]

        async def list_patients(
            self, *, principal: Any, limit: int = 20, cursor: str | None = None
        ) -> Any:
            return m.PatientPage(**page(list(self.patients.values()), limit, cursor))

        async def get_patient(self, *, principal: Any, id: str) -> Any:
            return self.find(self.patients, id)

        async def create_patient(self, *, principal: Any, body: Any) -> Any:
            patient = m.Patient(id=self.new_id("pat"), **body.model_dump())
            self.patients[patient.id] = patient
            return patient

        async def list_providers(
            self, *, principal: Any, limit: int = 20, cursor: str | None = None
        ) -> Any:
            return m.ProviderPage(**page(list(self.providers.values()), limit, cursor))

        async def get_provider(self, *, principal: Any, id: str) -> Any:
            return self.find(self.providers, id)

        async def create_provider(self, *, principal: Any, body: Any) -> Any:
            provider = m.Provider(id=self.new_id("prv"), **body.model_dump())
            self.providers[provider.id] = provider
            return provider

        async def list_slots(
            self,
            *,
            principal: Any,
            limit: int = 20,
            cursor: str | None = None,
            provider_id: str | None = None,
            starts_at_from: datetime | None = None,
            starts_at_to: datetime | None = None,
        ) -> Any:
            slots = [
                s
                for s in self.slots.values()
                if (provider_id is None or s.provider_id == provider_id)
                and (starts_at_from is None or s.starts_at >= starts_at_from)
                and (starts_at_to is None or s.starts_at < starts_at_to)
            ]
            return m.SlotPage(**page(slots, limit, cursor))

        async def get_slot(self, *, principal: Any, id: str) -> Any:
            return self.find(self.slots, id)

        async def create_slot(self, *, principal: Any, body: Any) -> Any:
            self.find(self.providers, body.provider_id)
            slot = m.Slot(id=self.new_id("slt"), available=True, **body.model_dump())
            self.slots[slot.id] = slot
            return slot

        async def list_appointments(
            self,
            *,
            principal: Any,
            limit: int = 20,
            cursor: str | None = None,
            patient_id: str | None = None,
            provider_id: str | None = None,
            status: Any = None,
        ) -> Any:
            items = [
                a
                for a in self.appointments.values()
                if (patient_id is None or a.patient_id == patient_id)
                and (provider_id is None or a.provider_id == provider_id)
                and (status is None or a.status == status)
            ]
            return m.AppointmentPage(**page(items, limit, cursor))

        async def get_appointment(self, *, principal: Any, id: str) -> Any:
            return self.find(self.appointments, id)

        async def available_slots(self, *, principal: Any, provider_id: str, date: date) -> Any:
            return [
                s
                for s in self.slots.values()
                if s.provider_id == provider_id and s.available and s.starts_at.date() == date
            ]

        async def book_appointment(self, *, principal: Any, body: Any) -> Any:
            self.calls.append("book_appointment")
            slot = self.find(self.slots, body.slot_id)
            self.find(self.patients, body.patient_id)
            if not slot.available:
                raise errors.SlotUnavailable(f"slot {slot.id} is taken")
            self.slots[slot.id] = slot.model_copy(update={"available": False})
            number = next(self.ids)
            appointment = m.Appointment(
                id=f"apt_{number}",
                slot_id=slot.id,
                patient_id=body.patient_id,
                provider_id=slot.provider_id,
                status=m.AppointmentStatus.confirmed,
                reason=body.reason,
                confirmation_number=f"BK-{number:06d}",
                created_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
            self.appointments[appointment.id] = appointment
            return appointment

        async def cancel_appointment(
            self, *, principal: Any, appointment_id: str, body: Any
        ) -> Any:
            appointment = self.find(self.appointments, appointment_id)
            if appointment.status != m.AppointmentStatus.confirmed:
                raise errors.AppointmentNotCancellable()
            cancelled = appointment.model_copy(update={"status": m.AppointmentStatus.cancelled})
            self.appointments[appointment_id] = cancelled
            slot = self.slots[appointment.slot_id]
            self.slots[slot.id] = slot.model_copy(update={"available": True})
            return cancelled

    return MemoryBooking()


@pytest.fixture(scope="module")
def server(booking: SimpleNamespace) -> Iterator[SimpleNamespace]:
    service = memory_service(booking)
    app = booking.app.create_app(service, secret=SECRET)
    with serving(app) as url:
        yield SimpleNamespace(url=url, service=service)


def client(
    booking: SimpleNamespace, url: str, scopes: tuple[str, ...] | None, subject: str = "u1"
) -> Any:
    token = booking.auth.issue_token(subject, scopes, SECRET) if scopes is not None else None
    return booking.client_rest.BookingClient(url, token=token)


@pytest.fixture(scope="module")
def world(booking: SimpleNamespace, server: SimpleNamespace) -> SimpleNamespace:
    """A provider with three slots on DAY and one patient, made through the API."""
    admin = client(booking, server.url, ADMIN, "admin")
    provider = admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
    starts = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    slots = [
        admin.create_slot(
            provider_id=provider.id, starts_at=starts + timedelta(hours=i), duration_minutes=30
        )
        for i in range(3)
    ]
    patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")
    return SimpleNamespace(admin=admin, provider=provider, slots=slots, patient=patient)


# -- the booking flow -------------------------------------------------------------------------


def test_booking_flow(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    api = client(booking, server.url, PATIENT)
    open_slots = api.available_slots(provider_id=world.provider.id, date=DAY)
    assert [s.id for s in open_slots] == [s.id for s in world.slots]
    assert all(isinstance(s, booking.models.Slot) for s in open_slots)

    first = api.book_appointment(
        slot_id=open_slots[0].id, patient_id=world.patient.id, reason="check-up"
    )
    assert isinstance(first, booking.models.Appointment)
    assert first.status == booking.models.AppointmentStatus.confirmed
    assert api.get_appointment(id=first.id) == first
    second = api.book_appointment(slot_id=open_slots[1].id, patient_id=world.patient.id)

    remaining = api.available_slots(provider_id=world.provider.id, date=DAY)
    assert [s.id for s in remaining] == [world.slots[2].id]

    page1 = api.list_appointments(patient_id=world.patient.id, limit=1)
    assert [a.id for a in page1.items] == [first.id]
    assert page1.next_cursor is not None
    page2 = api.list_appointments(patient_id=world.patient.id, limit=1, cursor=page1.next_cursor)
    assert [a.id for a in page2.items] == [second.id]
    assert page2.next_cursor is None

    with pytest.raises(booking.errors.SlotUnavailable) as taken:
        api.book_appointment(slot_id=open_slots[0].id, patient_id=world.patient.id)
    assert taken.value.status == 409 and taken.value.code == "slot_unavailable"

    cancelled = api.cancel_appointment(appointment_id=second.id, reason="moved")
    assert cancelled.status == booking.models.AppointmentStatus.cancelled
    with pytest.raises(booking.errors.AppointmentNotCancellable):
        api.cancel_appointment(appointment_id=second.id)
    with pytest.raises(booking.errors.NotFound):
        api.get_appointment(id="apt_missing")


def test_slot_unavailable_is_a_problem_document(
    server: SimpleNamespace, booking: SimpleNamespace, world: SimpleNamespace
) -> None:
    token = booking.auth.issue_token("u2", PATIENT, SECRET)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"slot_id": world.slots[2].id, "patient_id": world.patient.id}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        assert http.post("/v1/appointments", json=body).status_code == 201
        again = http.post("/v1/appointments", json=body)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        problem = again.json()
        assert problem["code"] == "slot_unavailable"
        assert problem["status"] == 409
        assert problem["title"] == "Slot is no longer available"
        assert problem["type"].endswith("slot_unavailable")


# -- errors -----------------------------------------------------------------------------------


def test_bad_input_lists_each_field(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    admin = client(booking, server.url, ADMIN)
    with pytest.raises(booking.errors.ValidationFailed) as failed:
        admin.create_slot(
            provider_id="", starts_at=datetime(2030, 1, 1, tzinfo=UTC), duration_minutes=1
        )
    assert failed.value.status == 422
    paths = {e.path for e in failed.value.errors}
    assert paths == {"body.provider_id", "body.duration_minutes"}
    with pytest.raises(booking.errors.ValidationFailed) as limit:
        admin.list_appointments(limit=1000)
    assert [e.path for e in limit.value.errors] == ["query.limit"]


def test_requests_are_strict(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    token = booking.auth.issue_token("admin", ADMIN, SECRET)
    good = {
        "provider_id": world.provider.id,
        "starts_at": "2030-02-01T09:00:00Z",
        "duration_minutes": 30,
    }
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        coerced = http.post("/v1/slots", json={**good, "duration_minutes": "30"})
        assert coerced.status_code == 422
        assert [e["path"] for e in coerced.json()["errors"]] == ["body.duration_minutes"]
        unknown = http.post("/v1/slots", json={**good, "colour": "red"})
        assert unknown.status_code == 422
        assert [e["path"] for e in unknown.json()["errors"]] == ["body.colour"]
        assert http.post("/v1/slots", json=good).status_code == 201


def test_malformed_json_is_a_400_problem(booking: SimpleNamespace, server: SimpleNamespace) -> None:
    token = booking.auth.issue_token("u1", PATIENT, SECRET)
    response = httpx.post(
        f"{server.url}/v1/appointments",
        content=b'{"slot_id": ',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "bad_request"


def test_no_token_is_unauthenticated(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    anonymous = client(booking, server.url, None)
    with pytest.raises(booking.errors.Unauthenticated) as missing:
        anonymous.list_appointments()
    assert missing.value.status == 401
    forged = booking.client_rest.BookingClient(
        server.url, token=booking.auth.issue_token("u1", ADMIN, "another-secret-" + "y" * 32)
    )
    with pytest.raises(booking.errors.Unauthenticated):
        forged.get_slot(id=world.slots[0].id)
    response = httpx.get(f"{server.url}/v1/appointments")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthenticated"


def test_wrong_scope_is_permission_denied(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    reader = client(booking, server.url, ("appointments:read",))
    with pytest.raises(booking.errors.PermissionDenied) as denied:
        reader.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)
    assert denied.value.status == 403
    with pytest.raises(booking.errors.PermissionDenied):
        client(booking, server.url, PATIENT).create_patient(name="Eve", email="eve@example.com")


def test_unknown_route_is_a_problem(server: SimpleNamespace) -> None:
    response = httpx.get(f"{server.url}/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# -- idempotency ------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    admin = client(booking, server.url, ADMIN, "idem")
    starts = datetime(2030, 3, 1, 9, tzinfo=UTC)
    slot = admin.create_slot(provider_id=world.provider.id, starts_at=starts, duration_minutes=30)
    api = client(booking, server.url, PATIENT, "idem")
    calls = len(server.service.calls)
    first = api.book_appointment(
        slot_id=slot.id, patient_id=world.patient.id, idempotency_key="k-1"
    )
    again = api.book_appointment(
        slot_id=slot.id, patient_id=world.patient.id, idempotency_key="k-1"
    )
    assert again == first
    assert len(server.service.calls) == calls + 1
    with pytest.raises(booking.errors.ValidationFailed) as reused:
        api.book_appointment(
            slot_id=slot.id, patient_id=world.patient.id, reason="other", idempotency_key="k-1"
        )
    assert [e.path for e in reused.value.errors] == ["header.Idempotency-Key"]
    # Without a key, the same request is a second booking.
    with pytest.raises(booking.errors.SlotUnavailable):
        api.book_appointment(slot_id=slot.id, patient_id=world.patient.id)


# -- the contract and the generated code ------------------------------------------------------


def test_openapi_json_is_the_emitted_contract(
    server: SimpleNamespace, plan: dict[str, str]
) -> None:
    response = httpx.get(f"{server.url}/openapi.json")
    assert response.status_code == 200
    assert response.text == plan["contracts/openapi.json"]


def test_every_answered_status_is_declared(plan: dict[str, str], booking: SimpleNamespace) -> None:
    document = json.loads(plan["contracts/openapi.json"])
    webhooks = importlib.import_module("booking._generated.webhooks")
    routers = [
        booking.rest.rest_router(object(), secret=SECRET),
        webhooks.webhook_router(webhooks.WebhookStore("sqlite:///:memory:"), secret=SECRET),
    ]
    routes = {(r.path, m.lower()): r for rt in routers for r in rt.routes for m in r.methods}
    assert len(routes) == sum(len(methods) for methods in document["paths"].values())
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            route = routes[(path, method)]
            assert str(route.status_code) in operation["responses"]
            assert route.operation_id == operation["operationId"]


def test_generated_code_passes_ruff_and_mypy(project: Path) -> None:
    src = project / "src"
    config = str(ROOT / "pyproject.toml")
    bin_dir = Path(sys.executable).parent
    ruff = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--config", config, "booking"],
        cwd=src,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    mypy = subprocess.run(
        [str(bin_dir / "mypy"), "--config-file", config, "--no-incremental", "-p", "booking"],
        cwd=src,
        capture_output=True,
        text=True,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


def test_rendering_is_deterministic(plan: dict[str, str]) -> None:
    assert render_spec(SPEC) == plan
    for path, text in plan.items():
        if path.endswith(".py") and path != "src/booking/service.py":  # that one is the user's
            assert text.startswith("# Generated by apigen from booking 1.0.0. Do not edit.\n"), path
            assert "datamodel-codegen" not in text, path


@pytest.mark.parametrize("spec", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_spec_renders_a_clean_importable_package(spec: Path, tmp_path: Path) -> None:
    plan = render_spec(spec)
    package = next(p.split("/")[1] for p in plan if p.startswith("src/"))
    write(plan, tmp_path)
    bin_dir = Path(sys.executable).parent
    ruff = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--config", str(ROOT / "pyproject.toml"), package],
        cwd=tmp_path / "src",
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    with importable(tmp_path / "src", package):
        app = importlib.import_module(f"{package}._generated.app")
        importlib.import_module(f"{package}._generated.clients.rest")
        assert app.create_app(object(), secret=SECRET).title
