"""The reference booking service served by its one command, `python -m booking`, and driven
through REST, GraphQL and gRPC with the generated clients: one flow, three styles, the same
validation, errors and auth.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from .conftest import ROOT
from .render_helpers import free_port, seed_booking

SRC = ROOT / "examples" / "booking" / "src"
SECRET = "styles-test-secret-that-is-long-enough"
DAY = date(2031, 3, 3)
ADMIN = ("admin", "appointments:read", "appointments:write")
PATIENT = ("appointments:read", "appointments:write")
STYLES = ("rest", "graphql", "grpc")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """`python -m booking` on free ports of 127.0.0.1, stopped with Ctrl-C at the end."""
    http_port, grpc_port = free_port(), free_port()
    database = tmp_path_factory.mktemp("booking") / "booking.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "BOOKING_DATABASE_URL": f"sqlite:///{database}",
        "BOOKING_JWT_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "booking", "--port", str(http_port)]
    process = subprocess.Popen(
        [*command, "--grpc-port", str(grpc_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{url}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "python -m booking did not start"
            time.sleep(0.1)
        yield SimpleNamespace(url=url, grpc=f"127.0.0.1:{grpc_port}", process=process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def connect(
    booking: SimpleNamespace, server: SimpleNamespace, style: str, scopes: tuple[str, ...] | None
) -> Any:
    token = booking.auth.issue_token("user", scopes, SECRET) if scopes is not None else None
    if style == "rest":
        return booking.rest.BookingClient(server.url, token=token)
    if style == "graphql":
        return booking.graphql_client.BookingGraphQLClient(server.url, token)
    return booking.grpc_client.BookingGrpcClient(server.grpc, token)


def seed(booking: SimpleNamespace, server: SimpleNamespace, slots: int) -> SimpleNamespace:
    start = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC)
    return seed_booking(connect(booking, server, "rest", ADMIN), start, slots)


@pytest.mark.parametrize("style", STYLES)
def test_the_booking_flow(booking: SimpleNamespace, server: SimpleNamespace, style: str) -> None:
    world = seed(booking, server, slots=2)
    api = connect(booking, server, style, PATIENT)
    errors = booking.errors

    open_slots = api.available_slots(provider_id=world.provider.id, date=DAY)
    assert [s.id for s in open_slots] == [s.id for s in world.slots]
    first = api.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)
    assert first.status.value == "confirmed" and first.confirmation_number.startswith("BK-")
    assert api.get_appointment(id=first.id) == first
    second = api.book_appointment(slot_id=world.slots[1].id, patient_id=world.patient.id)

    page = api.list_appointments(patient_id=world.patient.id, limit=1)
    assert [a.id for a in page.items] == [first.id] and page.next_cursor
    rest = api.list_appointments(patient_id=world.patient.id, limit=1, cursor=page.next_cursor)
    assert [a.id for a in rest.items] == [second.id] and rest.next_cursor is None

    with pytest.raises(errors.SlotUnavailable):
        api.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)
    with pytest.raises(errors.ValidationFailed) as invalid:
        api.book_appointment(slot_id="", patient_id=world.patient.id)
    assert invalid.value.errors, "a validation error names the invalid fields"
    with pytest.raises(errors.Unauthenticated):
        connect(booking, server, style, None).get_appointment(id=first.id)
    with pytest.raises(errors.PermissionDenied):
        connect(booking, server, style, ("appointments:read",)).cancel_appointment(
            appointment_id=first.id
        )
    cancelled = api.cancel_appointment(appointment_id=first.id)
    assert cancelled.status.value == "cancelled"
    with pytest.raises(errors.NotFound):
        api.get_appointment(id="no-such-appointment")


def test_twenty_concurrent_bookings_across_styles_make_one_appointment(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    world = seed(booking, server, slots=1)
    clients = [connect(booking, server, style, PATIENT) for style in STYLES]

    def attempt(index: int) -> Callable[[], Any]:
        api = clients[index % len(clients)]
        return lambda: api.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)

    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except booking.errors.ApiError as error:
            return error

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(outcome, [attempt(i) for i in range(20)]))
    booked = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, booking.errors.SlotUnavailable)]
    assert (len(booked), len(refused)) == (1, 19), results
    mine = clients[0].list_appointments(patient_id=world.patient.id, limit=100)
    assert [a.id for a in mine.items] == [booked[0].id]
