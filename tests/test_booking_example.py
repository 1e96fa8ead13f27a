"""The reference booking service (examples/booking): real logic on SQLite, served for real.

A uvicorn server on 127.0.0.1 runs the generated app around the user-owned `Booking`
service; the generated clients drive it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from .render_helpers import seed_booking, serving

SECRET = "booking-example-secret-of-32-bytes-or-more"
DAY = date(2030, 5, 17)
ADMIN = ("admin", "appointments:read", "appointments:write")
PATIENT = ("appointments:read", "appointments:write")


@pytest.fixture
def server(booking: SimpleNamespace, tmp_path: Path) -> Iterator[SimpleNamespace]:
    service = booking.service.Booking(f"sqlite:///{tmp_path / 'booking.db'}")
    with serving(booking.app.create_app(service, secret=SECRET)) as url:
        yield SimpleNamespace(url=url, service=service)


def client(booking: SimpleNamespace, url: str, scopes: tuple[str, ...] | None) -> Any:
    token = booking.auth.issue_token("user", scopes, SECRET) if scopes is not None else None
    return booking.rest.BookingClient(url, token=token)


def seed(booking: SimpleNamespace, url: str, slots: int = 3) -> SimpleNamespace:
    start = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    return seed_booking(client(booking, url, ADMIN), start, slots)


def test_booking_flow_over_rest(booking: SimpleNamespace, server: SimpleNamespace) -> None:
    world = seed(booking, server.url)
    api = client(booking, server.url, PATIENT)
    open_slots = api.available_slots(provider_id=world.provider.id, date=DAY)
    assert [s.id for s in open_slots] == [s.id for s in world.slots]

    first = api.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)
    assert first.status.value == "confirmed"
    assert first.confirmation_number.startswith("BK-") and len(first.confirmation_number) == 9
    assert first.provider_id == world.provider.id
    assert api.get_appointment(id=first.id) == first
    second = api.book_appointment(slot_id=world.slots[1].id, patient_id=world.patient.id)
    assert [s.id for s in api.available_slots(provider_id=world.provider.id, date=DAY)] == [
        world.slots[2].id
    ]

    page = api.list_appointments(patient_id=world.patient.id, limit=1)
    assert [a.id for a in page.items] == [first.id] and page.next_cursor
    rest = api.list_appointments(patient_id=world.patient.id, limit=1, cursor=page.next_cursor)
    assert [a.id for a in rest.items] == [second.id] and rest.next_cursor is None

    with pytest.raises(booking.errors.SlotUnavailable):
        api.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)

    cancelled = api.cancel_appointment(appointment_id=first.id, reason="feeling better")
    assert cancelled.status.value == "cancelled" and cancelled.reason == "feeling better"
    assert world.slots[0].id in {
        s.id for s in api.available_slots(provider_id=world.provider.id, date=DAY)
    }
    with pytest.raises(booking.errors.AppointmentNotCancellable):
        api.cancel_appointment(appointment_id=first.id)
    with pytest.raises(booking.errors.NotFound):
        api.get_appointment(id="nope")


def test_bad_input_and_missing_token(booking: SimpleNamespace, server: SimpleNamespace) -> None:
    world = seed(booking, server.url, slots=1)
    api = client(booking, server.url, PATIENT)
    with pytest.raises(booking.errors.ValidationFailed) as bad:
        api.book_appointment(slot_id="", patient_id=world.patient.id)
    assert [e.path for e in bad.value.errors] == ["body.slot_id"]
    with pytest.raises(booking.errors.Unauthenticated):
        client(booking, server.url, None).list_appointments()
    with pytest.raises(booking.errors.PermissionDenied):
        client(booking, server.url, ("appointments:read",)).book_appointment(
            slot_id=world.slots[0].id, patient_id=world.patient.id
        )


def test_twenty_concurrent_bookings_of_one_slot_make_one_appointment(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    world = seed(booking, server.url, slots=1)
    token = booking.auth.issue_token("user", PATIENT, SECRET)

    async def race() -> list[Any]:
        async with booking.rest.AsyncBookingClient(server.url, token=token) as api:
            attempts = [
                api.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)
                for _ in range(20)
            ]
            return await asyncio.gather(*attempts, return_exceptions=True)

    results = asyncio.run(race())
    booked = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, booking.errors.SlotUnavailable)]
    assert (len(booked), len(refused)) == (1, 19), results
    listed = client(booking, server.url, PATIENT).list_appointments(limit=100)
    assert [a.id for a in listed.items] == [booked[0].id]
