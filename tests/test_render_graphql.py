"""The generated GraphQL adapter and client, end to end: a real uvicorn server on 127.0.0.1, the
in-memory implementation of the REST tests, and the generated GraphQL client."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from apigen.render.graphql_context import GRAPHQL_CONTRACT

from .render_helpers import rendered_booking, serving
from .test_render_rest import memory_service

SECRET = "test-secret-" + "x" * 32
ADMIN = ("admin", "appointments:read", "appointments:write")
PATIENT = ("appointments:read", "appointments:write")
DAY = date(2030, 1, 7)
GENERATED = "src/booking/_generated"
MAX_DEPTH = 5
MAX_COST = 2000


@pytest.fixture(scope="module")
def booking(project: Path) -> Iterator[SimpleNamespace]:
    with rendered_booking(
        project, "app", "auth", "errors", "models", "graphql", "service", "clients.graphql"
    ) as modules:
        yield modules


class ProviderLookups:
    """Counts the service's `get_provider` calls, and how many ran at once."""

    def __init__(self, service: Any) -> None:
        self.ids: list[str] = []
        self.running = 0
        self.most_at_once = 0
        original = service.get_provider

        async def get_provider(*, principal: Any, id: str) -> Any:
            self.ids.append(id)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            try:
                await asyncio.sleep(0.02)
                return await original(principal=principal, id=id)
            finally:
                self.running -= 1

        service.get_provider = get_provider

    def reset(self) -> None:
        self.ids.clear()
        self.most_at_once = 0


@pytest.fixture(scope="module")
def server(booking: SimpleNamespace) -> Iterator[SimpleNamespace]:
    service = memory_service(booking)
    lookups = ProviderLookups(service)
    app = booking.app.create_app(service, secret=SECRET)
    # Serve GraphQL with the test's tighter limits in place of the app's defaults.
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", "") != "/v1/graphql"]
    graphql_app = booking.graphql.create_graphql_app(
        service, secret=SECRET, max_depth=MAX_DEPTH, max_cost=MAX_COST
    )
    app.add_route("/v1/graphql", graphql_app, methods=["GET", "POST"])
    with serving(app) as url:
        yield SimpleNamespace(url=url, service=service, lookups=lookups)


def client(
    booking: SimpleNamespace, url: str, scopes: tuple[str, ...] | None, subject: str = "u1"
) -> Any:
    token = booking.auth.issue_token(subject, scopes, SECRET) if scopes is not None else None
    return booking.client_graphql.BookingGraphQLClient(url, token)


@pytest.fixture(scope="module")
def world(booking: SimpleNamespace, server: SimpleNamespace) -> SimpleNamespace:
    """Two providers with three slots each on DAY and one patient, made over GraphQL."""
    admin = client(booking, server.url, ADMIN, "admin")
    starts = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    providers, slots = [], {}
    for name in ("Dr. Grace Hopper", "Dr. Barbara Liskov"):
        provider = admin.create_provider(name=name, specialty="cardiology")
        providers.append(provider)
        slots[provider.id] = [
            admin.create_slot(
                provider_id=provider.id, starts_at=starts + timedelta(hours=i), duration_minutes=30
            )
            for i in range(3)
        ]
    patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")
    return SimpleNamespace(admin=admin, providers=providers, slots=slots, patient=patient)


def post(server: SimpleNamespace, booking: SimpleNamespace, query: str, **variables: Any) -> Any:
    token = booking.auth.issue_token("u1", PATIENT, SECRET)
    response = httpx.post(
        f"{server.url}/v1/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()


# -- the booking flow -------------------------------------------------------------------------


def test_booking_flow(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    api = client(booking, server.url, PATIENT, "patient-1")
    provider = world.providers[0]
    open_slots = api.available_slots(provider_id=provider.id, date=DAY)
    assert [s.id for s in open_slots] == [s.id for s in world.slots[provider.id]]
    assert all(isinstance(s, booking.models.Slot) for s in open_slots)
    assert open_slots[0].starts_at == datetime(2030, 1, 7, 9, tzinfo=UTC)

    first = api.book_appointment(
        slot_id=open_slots[0].id, patient_id=world.patient.id, reason="check-up"
    )
    assert isinstance(first, booking.models.Appointment)
    assert first.status == booking.models.AppointmentStatus.confirmed
    assert first.provider_id == provider.id and first.reason == "check-up"
    assert api.get_appointment(id=first.id) == first
    second = api.book_appointment(slot_id=open_slots[1].id, patient_id=world.patient.id)

    remaining = api.available_slots(provider_id=provider.id, date=DAY)
    assert [s.id for s in remaining] == [open_slots[2].id]

    page1 = api.list_appointments(patient_id=world.patient.id, limit=1)
    assert isinstance(page1, booking.models.AppointmentPage)
    assert [a.id for a in page1.items] == [first.id]
    assert page1.next_cursor is not None
    page2 = api.list_appointments(patient_id=world.patient.id, limit=1, cursor=page1.next_cursor)
    assert [a.id for a in page2.items] == [second.id]
    assert page2.next_cursor is None
    confirmed = api.list_appointments(
        status=booking.models.AppointmentStatus.confirmed, patient_id=world.patient.id
    )
    assert [a.id for a in confirmed.items] == [first.id, second.id]

    with pytest.raises(booking.errors.SlotUnavailable) as taken:
        api.book_appointment(slot_id=open_slots[0].id, patient_id=world.patient.id)
    assert taken.value.code == "slot_unavailable"
    assert str(taken.value.detail).startswith("slot ")

    cancelled = api.cancel_appointment(appointment_id=second.id, reason="moved")
    assert cancelled.status == booking.models.AppointmentStatus.cancelled
    with pytest.raises(booking.errors.AppointmentNotCancellable):
        api.cancel_appointment(appointment_id=second.id)
    with pytest.raises(booking.errors.NotFound):
        api.get_appointment(id="apt_missing")


def test_idempotency_key_returns_the_first_result(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    admin = client(booking, server.url, ADMIN, "admin")
    first = admin.create_patient(name="Alan Turing", email="alan@example.com", idempotency_key="k1")
    again = admin.create_patient(name="Alan Turing", email="alan@example.com", idempotency_key="k1")
    assert again == first
    with pytest.raises(booking.errors.ValidationFailed):
        admin.create_patient(name="Someone Else", email="else@example.com", idempotency_key="k1")


def test_errors_carry_the_catalogue_code(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    slot = world.slots[world.providers[1].id][2]
    mutation = (
        "mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }"
    )
    variables = {"input": {"slotId": slot.id, "patientId": world.patient.id}}
    assert "errors" not in post(server, booking, mutation, **variables)
    again = post(server, booking, mutation, **variables)
    [error] = again["errors"]
    assert error["extensions"]["code"] == "SLOT_UNAVAILABLE"
    assert error["message"] == f"slot {slot.id} is taken"
    assert error["path"] == ["bookAppointment"]
    assert again["data"] is None


# -- bad input and auth -----------------------------------------------------------------------


def test_bad_input_lists_each_field(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    admin = client(booking, server.url, ADMIN)
    with pytest.raises(booking.errors.ValidationFailed) as failed:
        admin.create_slot(
            provider_id="", starts_at=datetime(2030, 1, 1, tzinfo=UTC), duration_minutes=1
        )
    assert {e.path for e in failed.value.errors} == {"input.providerId", "input.durationMinutes"}
    with pytest.raises(booking.errors.ValidationFailed) as limit:
        admin.list_appointments(limit=1000)
    assert [e.path for e in limit.value.errors] == ["first"]
    with pytest.raises(booking.errors.ValidationFailed) as naive:
        admin.create_slot(
            provider_id=world.providers[0].id, starts_at=datetime(2030, 1, 1), duration_minutes=30
        )
    assert [e.path for e in naive.value.errors] == ["input.startsAt"]
    with pytest.raises(booking.errors.ValidationFailed):
        admin.execute(
            'query($d: Date!) { availableSlots(providerId: "x", date: $d) { id } }',
            {"d": "not a date"},
        )


def test_no_token_is_unauthenticated(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    anonymous = client(booking, server.url, None)
    with pytest.raises(booking.errors.Unauthenticated):
        anonymous.list_appointments()
    with pytest.raises(booking.errors.Unauthenticated):
        booking.client_graphql.BookingGraphQLClient(server.url, "not-a-jwt").list_providers()
    reader = client(booking, server.url, ("appointments:read",))
    with pytest.raises(booking.errors.PermissionDenied):
        reader.book_appointment(slot_id="slt_1", patient_id=world.patient.id)


# -- relay connections, loaders, limits -------------------------------------------------------


def test_every_edge_cursor_continues_after_its_item(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    query = """query($after: String) { slots(first: 3, after: $after) {
        edges { cursor node { id } } nodes { id } pageInfo { hasNextPage endCursor } } }"""
    every = [s.id for slots in world.slots.values() for s in slots]
    first = post(server, booking, query)["data"]["slots"]
    assert [e["node"]["id"] for e in first["edges"]] == every[:3]
    assert [n["id"] for n in first["nodes"]] == every[:3]
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": first["edges"][-1]["cursor"]}
    inside = post(server, booking, query, after=first["edges"][0]["cursor"])["data"]["slots"]
    assert [n["id"] for n in inside["nodes"]] == every[1:4]
    last = post(server, booking, query, after=first["pageInfo"]["endCursor"])["data"]["slots"]
    assert [n["id"] for n in last["nodes"]] == every[3:6]
    assert last["pageInfo"]["hasNextPage"] is False
    bad = post(server, booking, query, after="!!")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


def test_references_cost_one_batched_lookup_round(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    api = client(booking, server.url, PATIENT, "batcher")
    for provider in world.providers:
        for slot in api.available_slots(provider_id=provider.id, date=DAY):
            api.book_appointment(slot_id=slot.id, patient_id=world.patient.id)
    appointments = api.list_appointments(limit=100).items
    assert len(appointments) >= 5
    assert {a.provider_id for a in appointments} == {p.id for p in world.providers}

    server.lookups.reset()
    data = post(
        server,
        booking,
        "{ appointments(first: 100) { edges { node { providerId provider { id name } } } } }",
    )
    assert "errors" not in data
    nodes = [e["node"] for e in data["data"]["appointments"]["edges"]]
    assert len(nodes) == len(appointments)
    names = {p.id: p.name for p in world.providers}
    assert all(
        n["provider"] == {"id": n["providerId"], "name": names[n["providerId"]]} for n in nodes
    )
    # One call per distinct provider, all in one round.
    assert sorted(server.lookups.ids) == sorted(names)
    assert server.lookups.most_at_once == len(names)


def test_too_deep_a_query_is_rejected(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    server.lookups.reset()
    deep = "{ appointments { edges { node { slot { provider { name } } } } } }"
    [error] = post(server, booking, deep)["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"] == f"the operation is 6 levels deep; the limit is {MAX_DEPTH}"
    fragment = """query Deep { appointments { ...E } }
        fragment E on AppointmentConnection { edges { node { slot { provider { id } } } } }"""
    [error] = post(server, booking, fragment)["errors"]
    assert error["message"] == f"operation 'Deep' is 6 levels deep; the limit is {MAX_DEPTH}"
    assert server.lookups.ids == []
    shallow = "{ appointments { edges { node { provider { name } } } } }"
    assert "errors" not in post(server, booking, shallow)


def test_too_costly_a_query_is_rejected(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    query = """query($n: Int) { appointments(first: $n) { nodes {
        id slotId patientId providerId status reason confirmationNumber createdAt
        slot { id providerId startsAt durationMinutes available }
        patient { id name email phone }
        provider { id name specialty } } } }"""
    # 1 + n * (1 + 8 + 6 + 5 + 4): 1201 for 50 items, 2401 for 100.
    assert "errors" not in post(server, booking, query, n=50)
    [error] = post(server, booking, query, n=100)["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"] == f"the operation costs 2401; the limit is {MAX_COST}"


# -- the generated code -----------------------------------------------------------------------


def test_generated_graphql_code_passes_ruff(project: Path) -> None:
    files = [project / GENERATED / "graphql.py", project / GENERATED / "clients" / "graphql.py"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E,F,W,I,B,UP,SIM,RUF",
            "--ignore",
            "E501",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_adapter_serves_the_emitted_sdl(plan: dict[str, str]) -> None:
    assert plan[f"{GENERATED}/schema.graphql"] == plan[GRAPHQL_CONTRACT]
