"""Events of the booking example over GraphQL subscriptions and gRPC streams: real servers on
127.0.0.1 (uvicorn and grpc.aio on one event loop, one in-process bus), generated clients.

A cancellation in the `Booking` service reaches GraphQL (graphql-transport-ws on `/v1/graphql`)
and gRPC (`WatchAppointmentStatusChanged`) subscribers with the payload WebSocket and SSE
subscribers get; the GraphQL endpoint keeps the protocol's close codes; a cancelled gRPC stream
leaves no subscriber behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
import websockets
from fastapi import FastAPI

from .render_helpers import free_port, serving
from .test_events_realtime import EVENT, READER, WAIT, book, cancel, nothing_more, receive

SECRET = "booking-events-secret-of-32-bytes-or-more"
PROTOCOL = "graphql-transport-ws"
SUBSCRIBE = {
    "query": "subscription($id: ID) { appointmentStatusChanged(appointmentId: $id) "
    "{ appointmentId oldStatus newStatus changedAt } }",
}


def token(booking: SimpleNamespace, scopes: tuple[str, ...] = READER) -> str:
    return str(booking.auth.issue_token("user", scopes, SECRET))


@contextlib.contextmanager
def served(
    booking: SimpleNamespace, tmp_path: Path, *, lifespan: bool = False, **graphql: Any
) -> Iterator[SimpleNamespace]:
    """The app and the gRPC server of one `Booking`, on one loop in a thread, one bus.

    `lifespan` runs the app's lifespan (its webhook dispatcher); `graphql` options serve a bare
    GraphQL app (`create_graphql_app`) instead of the app."""
    import uvicorn

    bus = booking.events.InProcessEventBus()
    service = booking.service.Booking(f"sqlite:///{tmp_path / 'booking.db'}", bus=bus)
    if graphql:
        app = booking.graphql.create_graphql_app(service, secret=SECRET, bus=bus, **graphql)
    else:
        hooks = booking.webhooks.WebhookStore(f"sqlite:///{tmp_path / 'webhooks.db'}")
        app = booking.app.create_app(service, secret=SECRET, bus=bus, webhooks=hooks)
    port, grpc_port = free_port(), free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on" if lifespan else "off"
    )
    http = uvicorn.Server(config)

    async def run() -> None:
        server = await booking.grpc_server.start_grpc_server(
            service, grpc_port, secret=SECRET, bus=bus
        )
        try:
            await http.serve()
        finally:
            await server.stop(grace=0.5)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not http.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.01)
        yield SimpleNamespace(
            url=f"http://127.0.0.1:{port}", grpc=f"127.0.0.1:{grpc_port}", bus=bus
        )
    finally:
        http.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(booking: SimpleNamespace, tmp_path: Path) -> Iterator[SimpleNamespace]:
    with served(booking, tmp_path) as running:
        yield running


def subscribers(bus: Any) -> int:
    return len(bus._subscribers)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- one cancellation, every style ---------------------------------------------------------------


def test_one_cancellation_reaches_ws_sse_graphql_and_grpc_with_the_same_payload(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    first, second = book(booking, server.url, 2)

    async def scenario() -> None:
        ws_client = booking.ws_client.BookingWebSocketClient(server.url, token=token(booking))
        sse_client = booking.sse_client.BookingSSEClient(server.url, token=token(booking))
        graphql_client = booking.graphql_client.AsyncBookingGraphQLClient(
            server.url, token=token(booking)
        )
        grpc_client = booking.grpc_client.BookingGrpcClient(server.grpc, token(booking))
        async with (
            ws_client,
            sse_client,
            graphql_client,
            ws_client.subscribe(EVENT, key=first) as over_ws,
            sse_client.subscribe(EVENT, key=first) as over_sse,
            await graphql_client.subscribe_appointment_status_changed(
                appointment_id=first
            ) as over_graphql,
            await graphql_client.subscribe_appointment_status_changed(
                appointment_id=second
            ) as graphql_second,
            await graphql_client.subscribe_appointment_status_changed() as graphql_all,
        ):
            with (
                grpc_client,
                grpc_client.watch_appointment_status_changed(appointment_id=first) as over_grpc,
                grpc_client.watch_appointment_status_changed(appointment_id=second) as grpc_2nd,
            ):
                await cancel(booking, server.url, first)
                [ws_event] = await receive(over_ws)
                [sse_event] = await receive(over_sse)
                [graphql_payload] = await receive(over_graphql)
                [any_payload] = await receive(graphql_all)
                grpc_payload = await asyncio.wait_for(asyncio.to_thread(next, over_grpc), WAIT)
                payload = ws_event.payload()
                assert payload == sse_event.payload() == graphql_payload == grpc_payload
                assert payload == any_payload
                assert type(graphql_payload) is type(payload)
                assert payload.appointment_id == first
                assert (payload.old_status.value, payload.new_status.value) == (
                    "confirmed",
                    "cancelled",
                )
                # Key filtering: the subscribers to the second appointment saw nothing.
                await nothing_more(graphql_second)
                await cancel(booking, server.url, second)
                [later] = await receive(graphql_second)
                assert later.appointment_id == second
                assert (await receive(graphql_all))[0] == later
                later_grpc = await asyncio.wait_for(asyncio.to_thread(next, grpc_2nd), WAIT)
                assert later_grpc == later
                await nothing_more(over_graphql)

    asyncio.run(scenario())
    wait_until(lambda: subscribers(server.bus) == 0)


def test_the_same_cancellation_reaches_a_verifying_webhook_receiver(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    receiver = importlib.import_module("booking._generated.clients.webhook_receiver")
    received: list[Any] = []

    async def handle(event: Any) -> None:
        received.append(event)

    with served(booking, tmp_path, lifespan=True) as server:
        [appointment] = book(booking, server.url, 1)
        subscribe = {"url": "", "events": [EVENT]}
        receiving = FastAPI()
        with serving(receiving) as receiver_url:
            subscribe["url"] = f"{receiver_url}/webhooks"
            created = httpx.post(
                f"{server.url}/v1/webhooks",
                json=subscribe,
                headers={"Authorization": f"Bearer {token(booking)}"},
            )
            assert created.status_code == 201, created.text
            router = receiver.webhook_receiver_router(created.json()["secret"], handle)
            receiving.include_router(router)
            asyncio.run(cancel(booking, server.url, appointment))
            wait_until(lambda: len(received) == 1)
    [event] = received
    assert event.type == EVENT and type(event.data).__name__ == "AppointmentStatusChanged"
    assert event.data.appointment_id == appointment
    assert (event.data.old_status.value, event.data.new_status.value) == ("confirmed", "cancelled")


# -- GraphQL subscriptions ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def socket(url: str, path: str = "/v1/graphql") -> AsyncIterator[Any]:
    uri = url.replace("http", "ws", 1) + path
    async with websockets.connect(uri, subprotocols=[websockets.Subprotocol(PROTOCOL)]) as ws:
        yield ws


async def send(ws: Any, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def message(ws: Any) -> dict[str, Any]:
    received: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    return received


async def closed_with(ws: Any) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


async def initialised(ws: Any, authorization: str | None) -> None:
    payload = {"Authorization": authorization} if authorization else {}
    await send(ws, {"type": "connection_init", "payload": payload})
    assert await message(ws) == {"type": "connection_ack"}


def test_graphql_subscription_over_the_raw_protocol_with_and_without_a_trailing_slash(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    [id] = book(booking, server.url, 1)

    async def scenario() -> None:
        async with socket(server.url, "/v1/graphql/") as ws:
            assert ws.subprotocol == PROTOCOL
            await initialised(ws, f"Bearer {token(booking)}")
            await send(ws, {"id": "a", "type": "subscribe", "payload": SUBSCRIBE})
            await send(ws, {"type": "ping"})
            assert await message(ws) == {"type": "pong"}  # the subscription is live
            await cancel(booking, server.url, id)
            event = await message(ws)
            assert event["type"] == "next" and event["id"] == "a"
            data = event["payload"]["data"]["appointmentStatusChanged"]
            assert data["appointmentId"] == id
            assert (data["oldStatus"], data["newStatus"]) == ("CONFIRMED", "CANCELLED")
            # Complete: the server unsubscribes from the bus.
            await send(ws, {"id": "a", "type": "complete"})
            wait_until(lambda: subscribers(server.bus) == 0)
            # Queries are served on the socket too.
            query = {"query": f"{{ appointment(id: {json.dumps(id)}) {{ status }} }}"}
            await send(ws, {"id": "q", "type": "subscribe", "payload": query})
            result = await message(ws)
            assert result["payload"]["data"] == {"appointment": {"status": "CANCELLED"}}
            assert await message(ws) == {"id": "q", "type": "complete"}
        async with socket(server.url) as ws:  # no trailing slash
            await initialised(ws, f"Bearer {token(booking)}")

    asyncio.run(scenario())


def test_graphql_protocol_close_codes(booking: SimpleNamespace, server: SimpleNamespace) -> None:
    async def scenario() -> None:
        # Subscribe before connection_init: 4401.
        async with socket(server.url) as ws:
            await send(ws, {"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            assert (await closed_with(ws))[0] == 4401
        # A token that is not valid: the connection_init is refused with 4403.
        async with socket(server.url) as ws:
            await send(ws, {"type": "connection_init", "payload": {"Authorization": "Bearer x"}})
            code, reason = await closed_with(ws)
            assert code == 4403 and reason.startswith("Forbidden")
        # A second connection_init: 4429.
        async with socket(server.url) as ws:
            await initialised(ws, None)
            await send(ws, {"type": "connection_init"})
            assert (await closed_with(ws))[0] == 4429
        # A subscriber id already in use: 4409.
        async with socket(server.url) as ws:
            await initialised(ws, f"Bearer {token(booking)}")
            await send(ws, {"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            await send(ws, {"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            assert (await closed_with(ws))[0] == 4409
        # Messages that are not the protocol's: 4400, before or after connection_init.
        bad: list[Any] = [
            "not json",
            [1, 2],
            {"type": "unknown"},
            {"type": "next", "id": "1", "payload": {}},
            {"type": "subscribe", "payload": SUBSCRIBE},
            {"type": "subscribe", "id": "1", "payload": {"query": 42}},
            {"type": "complete"},
            {"type": "connection_init", "payload": "token"},
        ]
        for frame in bad:
            async with socket(server.url) as ws:
                if not (isinstance(frame, dict) and frame["type"] == "connection_init"):
                    await initialised(ws, None)
                await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
                assert (await closed_with(ws))[0] == 4400, frame
        async with socket(server.url) as ws:
            await ws.send(b"\x00binary")
            assert (await closed_with(ws))[0] == 4400
        # No graphql-transport-ws subprotocol offered: 4406.
        uri = server.url.replace("http", "ws", 1) + "/v1/graphql"
        async with websockets.connect(uri) as ws:
            assert (await closed_with(ws))[0] == 4406
        wait_until(lambda: subscribers(server.bus) == 0)

    asyncio.run(scenario())


def test_graphql_connection_init_timeout(booking: SimpleNamespace, tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        async with socket(url, "/") as ws:
            assert (await closed_with(ws))[0] == 4408

    with served(booking, tmp_path, connection_init_timeout=0.2) as running:
        asyncio.run(scenario(running.url))


def test_graphql_subscription_needs_a_token_and_the_scope_and_the_socket_survives(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    async def scenario() -> None:
        async with socket(server.url) as ws:
            await initialised(ws, None)  # anonymous: refused per operation, not per socket
            await send(ws, {"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            refused = await message(ws)
            assert refused["type"] == "error" and refused["id"] == "1"
            assert refused["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            await send(ws, {"type": "ping"})
            assert await message(ws) == {"type": "pong"}
        async with socket(server.url) as ws:
            await initialised(ws, f"Bearer {token(booking, ('admin',))}")
            await send(ws, {"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            refused = await message(ws)
            assert refused["payload"][0]["extensions"]["code"] == "PERMISSION_DENIED"
        client = booking.graphql_client.AsyncBookingGraphQLClient(server.url)
        async with client:
            with pytest.raises(booking.errors.Unauthenticated):
                await client.subscribe_appointment_status_changed()
        bad = booking.graphql_client.AsyncBookingGraphQLClient(server.url, token="not-a-jwt")
        async with bad:
            with pytest.raises(booking.errors.Unauthenticated):
                await bad.subscribe_appointment_status_changed()
        wait_until(lambda: subscribers(server.bus) == 0)

    asyncio.run(scenario())


def test_a_graphql_socket_closed_mid_subscription_leaves_no_subscriber(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    async def scenario() -> None:
        async with socket(server.url) as ws:
            await initialised(ws, f"Bearer {token(booking)}")
            for id in "abc":
                await send(ws, {"id": id, "type": "subscribe", "payload": SUBSCRIBE})
            # Subscribed and completed in one go, maybe before its stream is first read.
            await send(ws, {"id": "d", "type": "subscribe", "payload": SUBSCRIBE})
            await send(ws, {"id": "d", "type": "complete"})
            await send(ws, {"type": "ping"})
            assert await message(ws) == {"type": "pong"}
            assert subscribers(server.bus) >= 3
        wait_until(lambda: subscribers(server.bus) == 0)

    asyncio.run(scenario())


# -- gRPC streams ---------------------------------------------------------------------------------


def test_grpc_watch_cancelled_by_the_client_unsubscribes_on_the_server(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    first, second = book(booking, server.url, 2)
    with booking.grpc_client.BookingGrpcClient(server.grpc, token(booking)) as client:
        watch = client.watch_appointment_status_changed()
        assert subscribers(server.bus) == 1  # subscribed once the call returns
        asyncio.run(cancel(booking, server.url, first))
        assert next(watch).appointment_id == first
        # Cancelled while blocked in another thread: iteration stops, the server unsubscribes.
        seen: list[Any] = []
        reader = threading.Thread(target=lambda: seen.extend(watch))
        reader.start()
        time.sleep(0.1)
        watch.cancel()
        reader.join(WAIT)
        assert not reader.is_alive() and seen == []
        wait_until(lambda: subscribers(server.bus) == 0)
        with client.watch_appointment_status_changed(appointment_id=second) as watch:
            assert subscribers(server.bus) == 1
        wait_until(lambda: subscribers(server.bus) == 0)


def test_grpc_watch_needs_a_token_and_the_scope(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    anonymous = booking.grpc_client.BookingGrpcClient(server.grpc)
    with anonymous, pytest.raises(booking.errors.Unauthenticated):
        next(anonymous.watch_appointment_status_changed())
    admin = booking.grpc_client.BookingGrpcClient(server.grpc, token(booking, ("admin",)))
    with admin, pytest.raises(booking.errors.PermissionDenied):
        next(admin.watch_appointment_status_changed())
    # The raw status code, for any gRPC client.
    with grpc.insecure_channel(server.grpc) as channel:
        pb = importlib.import_module("booking._generated.proto.booking_pb2")
        call = channel.unary_stream(
            "/booking.v1.BookingService/WatchAppointmentStatusChanged",
            request_serializer=pb.WatchAppointmentStatusChangedRequest.SerializeToString,
            response_deserializer=pb.WatchAppointmentStatusChangedResponse.FromString,
        )(pb.WatchAppointmentStatusChangedRequest())
        with pytest.raises(grpc.RpcError) as raised:
            next(call)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert subscribers(server.bus) == 0
