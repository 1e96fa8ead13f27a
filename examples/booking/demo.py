"""The booking demo: one process, one event loop, one booking through every style.

Starts the booking service on 127.0.0.1 as `python -m booking` would (REST, GraphQL,
WebSocket and SSE on one port, gRPC on another, one event bus), plus a webhook receiver, then
books a slot over REST, reads it over GraphQL, cancels it over gRPC, and shows the
cancellation arrive over WebSocket, SSE, a GraphQL subscription, a gRPC stream and a verified
webhook. Run `make demo` from the repository root (or `python examples/booking/demo.py`). It
uses a throw-away database and free ports, and stops everything at the end.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from booking._generated.app import create_app
from booking._generated.auth import issue_token
from booking._generated.clients.graphql import AsyncBookingGraphQLClient
from booking._generated.clients.grpc import BookingGrpcClient
from booking._generated.clients.rest import AsyncBookingClient
from booking._generated.clients.sse import BookingSSEClient
from booking._generated.clients.webhook_receiver import webhook_receiver_router
from booking._generated.clients.ws import BookingWebSocketClient
from booking._generated.errors import ApiError
from booking._generated.events import InProcessEventBus
from booking._generated.grpc_server import start_grpc_server
from booking._generated.webhooks import WebhookStore
from booking.service import Booking

SECRET = "demo-secret-that-is-long-enough-for-hs256"
DAY = date(2030, 5, 17)
SCOPES = ["appointments:read", "appointments:write"]
EVENT = "appointment.status_changed"
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def show(style: str, what: str, result: str) -> None:
    print(f"{style:<9} {what:<34} -> {result}")


async def start(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{Path(tmp) / 'booking.db'}"
        bus = InProcessEventBus()
        service = Booking(database, bus=bus)
        app = create_app(service, secret=SECRET, bus=bus, webhooks=WebhookStore(database))
        http_port, grpc_port, hook_port = free_port(), free_port(), free_port()
        grpc_server = await start_grpc_server(service, grpc_port, secret=SECRET, bus=bus)
        http = await start(app, http_port)
        received: asyncio.Queue[Any] = asyncio.Queue()
        receiver = FastAPI()
        hooks = await start(receiver, hook_port)
        url = f"http://127.0.0.1:{http_port}"
        print(f"REST, GraphQL, WebSocket and SSE on {url}/v1; gRPC on 127.0.0.1:{grpc_port}\n")
        try:
            await follow_one_booking(url, f"127.0.0.1:{grpc_port}", receiver, hook_port, received)
        finally:
            for server in (hooks, http):
                server.should_exit = True
            await asyncio.sleep(0.2)
            await grpc_server.stop(grace=1)


async def within(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, WAIT)


async def follow_one_booking(
    url: str, grpc_target: str, receiver: FastAPI, hook_port: int, received: asyncio.Queue[Any]
) -> None:
    admin_token = issue_token("admin", ["admin", "appointments:read"], SECRET)
    async with AsyncBookingClient(url, token=admin_token) as admin:
        provider = await admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
        start_at = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
        for hour in range(3):
            await admin.create_slot(
                provider_id=provider.id,
                starts_at=start_at + timedelta(hours=hour),
                duration_minutes=30,
            )
        patient = await admin.create_patient(name="Ada Lovelace", email="ada@example.com")
    token = issue_token(patient.id, SCOPES, SECRET)

    async with AsyncExitStack() as stack:
        rest = await stack.enter_async_context(AsyncBookingClient(url, token=token))
        slots = await rest.available_slots(provider_id=provider.id, date=DAY)
        show("REST", "GET /v1/available-slots", f"{len(slots)} open slots on {DAY}")
        booked = await rest.book_appointment(slot_id=slots[0].id, patient_id=patient.id)
        show("REST", "POST /v1/appointments", f"201 {booked.confirmation_number} ({booked.status})")

        # Subscribers to this appointment's status, in every event style.
        ws = await stack.enter_async_context(BookingWebSocketClient(url, token=token))
        over_ws = await stack.enter_async_context(ws.subscribe(EVENT, key=booked.id))
        sse = await stack.enter_async_context(BookingSSEClient(url, token=token))
        over_sse = await stack.enter_async_context(sse.subscribe(EVENT, key=booked.id))
        graphql = await stack.enter_async_context(AsyncBookingGraphQLClient(url, token))
        over_graphql = await stack.enter_async_context(
            await graphql.subscribe_appointment_status_changed(appointment_id=booked.id)
        )
        grpc = stack.enter_context(BookingGrpcClient(grpc_target, token))
        # The gRPC client is synchronous: off the loop that serves it, it waits for the stream.
        over_grpc = await asyncio.to_thread(
            lambda: stack.enter_context(
                grpc.watch_appointment_status_changed(appointment_id=booked.id)
            )
        )
        hook = {"url": f"http://127.0.0.1:{hook_port}/webhooks", "events": [EVENT]}
        async with httpx.AsyncClient() as client:
            created = await client.post(
                f"{url}/v1/webhooks", json=hook, headers={"Authorization": f"Bearer {token}"}
            )
        receiver.include_router(webhook_receiver_router(created.json()["secret"], received.put))
        show("Webhooks", "POST /v1/webhooks", f"{created.status_code} secret shown once")

        seen = await graphql.get_appointment(id=booked.id)
        show("GraphQL", "query appointment(id)", f"{seen.confirmation_number} ({seen.status})")
        try:
            await graphql.book_appointment(slot_id=slots[0].id, patient_id=patient.id)
        except ApiError as error:
            show("GraphQL", "mutation bookAppointment (again)", error.code.upper())

        def cancel_over_grpc() -> str:
            page = grpc.list_appointments(patient_id=patient.id, limit=10)
            show("gRPC", "ListAppointments", str([a.confirmation_number for a in page.items]))
            return grpc.cancel_appointment(appointment_id=booked.id, reason="demo").status

        status = await asyncio.to_thread(cancel_over_grpc)
        show("gRPC", "CancelAppointment", str(status))

        print(f"\nthe cancellation, as each subscriber received `{EVENT}`:")
        ws_event = await within(anext(aiter(over_ws)))
        show("WS", "/v1/ws", describe(ws_event.payload()))
        sse_event = await within(anext(aiter(over_sse)))
        show("SSE", f"/v1/events (id {sse_event.id})", describe(sse_event.payload()))
        show("GraphQL", "subscription", describe(await within(anext(aiter(over_graphql)))))
        streamed = await within(asyncio.to_thread(next, over_grpc))
        show("gRPC", "WatchAppointmentStatusChanged", describe(streamed))
        delivery = await within(received.get())
        show("Webhooks", "signed POST, verified", describe(delivery.data))


def describe(payload: Any) -> str:
    return f"{payload.old_status} -> {payload.new_status}"


if __name__ == "__main__":
    asyncio.run(main())
