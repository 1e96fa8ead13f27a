"""The booking demo: one process, one event loop, every style of one service.

Starts REST and GraphQL (uvicorn) and gRPC (grpc.aio) on 127.0.0.1 around the SQLite
`Booking` service, then follows one booking through each style. Run `make demo` from the
repository root (or `python examples/booking/demo.py`). It uses a throw-away database and
free ports, and stops both servers at the end.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from booking._generated.app import create_app
from booking._generated.auth import issue_token
from booking._generated.clients.graphql import AsyncBookingGraphQLClient
from booking._generated.clients.grpc import BookingGrpcClient
from booking._generated.clients.rest import AsyncBookingClient
from booking._generated.errors import ApiError
from booking._generated.grpc_server import start_grpc_server
from booking._generated.webhooks import WebhookStore
from booking.service import Booking

SECRET = "demo-secret-that-is-long-enough-for-hs256"
DAY = date(2030, 5, 17)
SCOPES = ["appointments:read", "appointments:write"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{Path(tmp) / 'booking.db'}"
        service = Booking(database)
        http_port, grpc_port = free_port(), free_port()
        config = uvicorn.Config(
            create_app(service, secret=SECRET, webhooks=WebhookStore(database)),
            host="127.0.0.1",
            port=http_port,
            log_level="warning",
        )
        http = uvicorn.Server(config)
        serving = asyncio.create_task(http.serve())
        grpc_server = await start_grpc_server(service, grpc_port, secret=SECRET)
        while not http.started:
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{http_port}"
        print(f"REST and GraphQL on {url}/v1, gRPC on 127.0.0.1:{grpc_port}")
        try:
            await follow_one_booking(url, f"127.0.0.1:{grpc_port}")
        finally:
            http.should_exit = True
            await serving
            await grpc_server.stop(grace=1)


async def follow_one_booking(url: str, grpc_target: str) -> None:
    admin_token = issue_token("admin", ["admin", "appointments:read"], SECRET)
    async with AsyncBookingClient(url, token=admin_token) as admin:
        provider = await admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
        start = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
        for hour in range(3):
            await admin.create_slot(
                provider_id=provider.id,
                starts_at=start + timedelta(hours=hour),
                duration_minutes=30,
            )
        patient = await admin.create_patient(name="Ada Lovelace", email="ada@example.com")

    token = issue_token(patient.id, SCOPES, SECRET)
    async with AsyncBookingClient(url, token=token) as rest:
        slots = await rest.available_slots(provider_id=provider.id, date=DAY)
        print(f"REST     available_slots     -> {len(slots)} open slots on {DAY}")
        booked = await rest.book_appointment(slot_id=slots[0].id, patient_id=patient.id)
        print(f"REST     book_appointment    -> {booked.confirmation_number} ({booked.status})")

    async with AsyncBookingGraphQLClient(url, token) as graphql:
        seen = await graphql.get_appointment(id=booked.id)
        print(f"GraphQL  appointment(id)     -> {seen.confirmation_number} ({seen.status})")
        try:
            await graphql.book_appointment(slot_id=slots[0].id, patient_id=patient.id)
        except ApiError as error:
            print(f"GraphQL  bookAppointment     -> {error.code.upper()} (the slot is taken)")

    def over_grpc() -> None:
        with BookingGrpcClient(grpc_target, token) as grpc:
            page = grpc.list_appointments(patient_id=patient.id, limit=10)
            print(f"gRPC     ListAppointments    -> {[a.confirmation_number for a in page.items]}")
            cancelled = grpc.cancel_appointment(appointment_id=booked.id, reason="demo")
            print(f"gRPC     CancelAppointment   -> {cancelled.status}")

    # The gRPC client is synchronous: run it off the loop that serves it.
    await asyncio.to_thread(over_grpc)


if __name__ == "__main__":
    asyncio.run(main())
