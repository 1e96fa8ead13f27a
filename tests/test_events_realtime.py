"""Events of the booking example over WebSocket and SSE: real servers, generated clients.

A cancellation in the `Booking` service publishes `appointment.status_changed` on the event
bus; WebSocket (`/v1/ws`) and SSE (`/v1/events`) subscribers, the realtime client, and on the
Redis bus the subscribers of another replica, receive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import websockets

from .render_helpers import free_port, serving

SECRET = "booking-events-secret-of-32-bytes-or-more"
ADMIN = ("admin", "appointments:read", "appointments:write")
READER = ("appointments:read",)
EVENT = "appointment.status_changed"
WAIT = 5.0


def token(booking: SimpleNamespace, scopes: tuple[str, ...] = READER) -> str:
    return str(booking.auth.issue_token("user", scopes, SECRET))


@contextlib.contextmanager
def replica(
    booking: SimpleNamespace, database: Path, bus: Any, wrap: Any = None
) -> Iterator[SimpleNamespace]:
    """A served app around a `Booking` publishing on `bus`."""
    service = booking.service.Booking(f"sqlite:///{database}", bus=bus)
    app = booking.app.create_app(service, secret=SECRET, bus=bus)
    with serving(wrap(app) if wrap else app) as url:
        yield SimpleNamespace(url=url, service=service, bus=bus)


@pytest.fixture
def server(booking: SimpleNamespace, tmp_path: Path) -> Iterator[SimpleNamespace]:
    bus = booking.events.InProcessEventBus(replay=5)
    with replica(booking, tmp_path / "booking.db", bus) as served:
        yield served


def book(booking: SimpleNamespace, url: str, count: int) -> list[str]:
    """`count` confirmed appointments, by id."""
    admin = booking.rest.BookingClient(url, token=token(booking, ADMIN))
    provider = admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
    patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")
    start = datetime(2030, 5, 17, 9, tzinfo=UTC)
    ids = []
    for i in range(count):
        slot = admin.create_slot(
            provider_id=provider.id, starts_at=start + timedelta(hours=i), duration_minutes=30
        )
        ids.append(admin.book_appointment(slot_id=slot.id, patient_id=patient.id).id)
    return ids


async def cancel(booking: SimpleNamespace, url: str, *ids: str) -> None:
    async with booking.rest.AsyncBookingClient(url, token=token(booking, ADMIN)) as api:
        for id in ids:
            await api.cancel_appointment(appointment_id=id)


async def receive(events: Any, count: int = 1) -> list[Any]:
    iterator = aiter(events)
    return [await asyncio.wait_for(anext(iterator), WAIT) for _ in range(count)]


async def nothing_more(events: Any, seconds: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(aiter(events)), seconds)


def ws_url(url: str, query: str = "") -> str:
    return url.replace("http", "ws", 1) + "/v1/ws" + query


# -- one cancellation, every subscriber ---------------------------------------------------------


def test_one_cancellation_reaches_websocket_and_sse_with_the_same_payload(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    first, second = book(booking, server.url, 2)

    async def scenario() -> None:
        ws_client = booking.ws_client.BookingWebSocketClient(server.url, token=token(booking))
        sse_client = booking.sse_client.BookingSSEClient(server.url, token=token(booking))
        async with (
            ws_client,
            sse_client,
            ws_client.subscribe(EVENT, key=first) as ws_first,
            ws_client.subscribe(EVENT, key=second) as ws_second,
            sse_client.subscribe(EVENT, key=first) as sse_first,
        ):
            await cancel(booking, server.url, first)
            [over_ws] = await receive(ws_first)
            [over_sse] = await receive(sse_first)
            assert over_ws == over_sse  # id, event, key and payload
            assert over_ws.event == EVENT and over_ws.key == first
            payload = over_ws.payload()
            assert payload.appointment_id == first
            assert (payload.old_status.value, payload.new_status.value) == (
                "confirmed",
                "cancelled",
            )
            # Key filtering: the subscriber to the second appointment saw nothing.
            await nothing_more(ws_second)
            await cancel(booking, server.url, second)
            [other] = await receive(ws_second)
            assert other.key == second and other.id > over_ws.id
            await nothing_more(ws_first)
            await nothing_more(sse_first)

    asyncio.run(scenario())


def test_booking_publishes_nothing_and_a_failed_cancellation_publishes_nothing(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    async def scenario() -> None:
        async with (
            booking.sse_client.BookingSSEClient(server.url, token=token(booking)) as client,
            client.subscribe(EVENT) as events,
        ):
            [id] = await asyncio.to_thread(book, booking, server.url, 1)
            await nothing_more(events)
            await cancel(booking, server.url, id)
            with pytest.raises(booking.errors.AppointmentNotCancellable):
                await cancel(booking, server.url, id)
            assert [e.key for e in await receive(events)] == [id]
            await nothing_more(events)

    asyncio.run(scenario())


# -- SSE ------------------------------------------------------------------------------------------


def test_sse_resumes_with_last_event_id_and_says_when_it_fell_out_of_the_buffer(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    ids = book(booking, server.url, 12)  # the server's replay buffer holds 5 events

    async def scenario() -> None:
        client = booking.sse_client.BookingSSEClient(server.url, token=token(booking))
        async with client:
            async with client.subscribe(EVENT) as events:
                await cancel(booking, server.url, ids[0])
                [seen] = await receive(events)
            # Disconnected: 5 events, then a reconnection with Last-Event-ID gets exactly those.
            await cancel(booking, server.url, *ids[1:6])
            async with client.subscribe(EVENT, last_event_id=seen.id) as events:
                missed = await receive(events, 5)
                assert [e.key for e in missed] == ids[1:6]
                assert [e.id for e in missed] == sorted(e.id for e in missed)
                await nothing_more(events)
            # 6 more while away: one fell out of the 5-event buffer.
            await cancel(booking, server.url, *ids[6:12])
            async with client.subscribe(EVENT, last_event_id=missed[-1].id) as events:
                reset, *rest = await receive(events, 6)
                assert reset.event == booking.events.RESET
                assert [e.key for e in rest] == ids[7:12]
                assert missed[-1].id < reset.id < rest[0].id

    asyncio.run(scenario())


def test_sse_stream_headers_names_ids_query_token_and_problems(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    [id] = book(booking, server.url, 1)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
            query = {"event": EVENT, "key": id, "access_token": token(booking)}
            async with http.stream("GET", "/v1/events", params=query) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["cache-control"] == "no-cache"
                assert response.headers["x-accel-buffering"] == "no"
                lines = aiter(response.aiter_lines())
                opening = [await anext(lines), await anext(lines)]
                assert opening[0].startswith("id: ") and opening[1].startswith("retry: ")
                await cancel(booking, server.url, id)
                block: list[str] = []
                while (line := await asyncio.wait_for(anext(lines), WAIT)) or not block:
                    if line and not line.startswith(":"):
                        block.append(line)
                fields = dict(line.split(": ", 1) for line in block if ": " in line)
                assert fields["event"] == EVENT
                assert int(fields["id"]) > int(opening[0].removeprefix("id: "))
                assert json.loads(fields["data"])["appointment_id"] == id

            problems = {
                401: {"event": EVENT},
                403: {"event": EVENT, "access_token": token(booking, ("admin",))},
                422: {"event": "appointment.exploded", "access_token": token(booking)},
            }
            for status, params in problems.items():
                response = await http.get("/v1/events", params=params)
                assert response.status_code == status
                assert response.headers["content-type"] == "application/problem+json"
            bad_resume = await http.get(
                "/v1/events",
                params={"event": EVENT, "access_token": token(booking)},
                headers={"Last-Event-ID": "yesterday"},
            )
            assert bad_resume.status_code == 422
            assert bad_resume.json()["errors"][0]["path"] == "header.Last-Event-ID"

    asyncio.run(scenario())


def test_sse_heartbeat_comments(booking: SimpleNamespace) -> None:
    from starlette.applications import Starlette

    bus = booking.events.InProcessEventBus()
    app = Starlette(routes=[booking.sse.sse_route(bus, secret=SECRET, heartbeat=0.1)])
    app.add_middleware(booking.access.AccessTokenMiddleware)

    async def scenario(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
            params = {"event": EVENT, "access_token": token(booking)}
            async with http.stream("GET", "/v1/events", params=params) as response:
                lines = aiter(response.aiter_lines())
                while not (await asyncio.wait_for(anext(lines), WAIT)).startswith(": ping"):
                    pass

    with serving(app) as url:
        asyncio.run(scenario(url))


def test_the_access_token_query_parameter_never_reaches_the_logs(booking: SimpleNamespace) -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    middleware = booking.access.AccessTokenMiddleware(app)
    scope = {"type": "http", "query_string": b"event=a.b&access_token=s3cret&key=k"}
    asyncio.run(middleware(scope, None, None))
    assert scope["query_string"] == b"event=a.b&key=k"  # the scope the server logs
    assert b"s3cret" not in seen["query_string"]


# -- WebSocket ----------------------------------------------------------------------------------


async def frames(connection: Any, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(connection.recv(), WAIT)) for _ in range(count)]


def test_websocket_bad_frames_get_typed_errors_and_other_subscriptions_survive(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    [id] = book(booking, server.url, 1)

    async def scenario() -> None:
        query = f"?access_token={token(booking)}"
        async with websockets.connect(ws_url(server.url, query)) as ws:
            assert await frames(ws, 1) == [{"type": "ready"}]
            await ws.send(json.dumps({"type": "subscribe", "id": "s1", "event": EVENT, "key": id}))
            [ack] = await frames(ws, 1)
            assert ack["type"] == "subscribed" and ack["id"] == "s1"
            bad = [
                ("{not json", ("bad_request", "bad_json", None)),
                ("[1, 2]", ("bad_request", "invalid_frame", None)),
                (b"\x00binary", ("bad_request", "invalid_frame", None)),
                ('{"type": "shout"}', ("bad_request", "unknown_type", None)),
                (
                    '{"type": "subscribe", "id": "s2", "event": "appointment.exploded"}',
                    ("validation_failed", "unknown_event", "s2"),
                ),
                (
                    json.dumps({"type": "subscribe", "id": "s1", "event": EVENT}),
                    ("validation_failed", "duplicate_subscription", "s1"),
                ),
                ('{"type": "subscribe", "event": "x"}', ("bad_request", "invalid_frame", None)),
                (
                    '{"type": "unsubscribe", "id": "s9"}',
                    ("not_found", "unknown_subscription", "s9"),
                ),
            ]
            for frame, (code, reason, frame_id) in bad:
                await ws.send(frame)
                [error] = await frames(ws, 1)
                assert error["type"] == "error" and error["message"], frame
                assert (error["code"], error["reason"], error.get("id")) == (code, reason, frame_id)
            await ws.send('{"type": "ping"}')
            assert await frames(ws, 1) == [{"type": "pong"}]
            await cancel(booking, server.url, id)
            [event] = await frames(ws, 1)
            assert (event["type"], event["subscription"], event["event"]) == ("event", "s1", EVENT)
            assert event["data"]["appointment_id"] == id and event["key"] == id
            await ws.send('{"type": "unsubscribe", "id": "s1"}')
            assert await frames(ws, 1) == [{"type": "unsubscribed", "id": "s1"}]

    asyncio.run(scenario())


def test_websocket_auth_missing_wrong_and_insufficient(
    booking: SimpleNamespace, server: SimpleNamespace
) -> None:
    subscribe = json.dumps({"type": "subscribe", "id": "s1", "event": EVENT})

    async def scenario() -> None:
        # No token: the connection opens, subscribing is refused, the connection survives.
        async with websockets.connect(ws_url(server.url)) as ws:
            assert await frames(ws, 1) == [{"type": "ready"}]
            await ws.send(subscribe)
            [error] = await frames(ws, 1)
            assert (error["code"], error["id"]) == ("unauthenticated", "s1")
            await ws.send('{"type": "ping"}')
            assert await frames(ws, 1) == [{"type": "pong"}]
        # A token without the read scope.
        headers = {"Authorization": f"Bearer {token(booking, ('admin',))}"}
        async with websockets.connect(ws_url(server.url), additional_headers=headers) as ws:
            await frames(ws, 1)
            await ws.send(subscribe)
            [error] = await frames(ws, 1)
            assert (error["code"], error["id"]) == ("permission_denied", "s1")
        # A forged token: an error frame, then close code 4401.
        async with websockets.connect(ws_url(server.url, "?access_token=forged")) as ws:
            [error] = await frames(ws, 1)
            assert error["code"] == "unauthenticated"
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4401
        # The generated client raises the typed errors.
        client = booking.ws_client.BookingWebSocketClient(server.url, token="forged")
        with pytest.raises(booking.errors.Unauthenticated):
            await client.connect()
        client = booking.ws_client.BookingWebSocketClient(server.url, token=None)
        async with client:
            with pytest.raises(booking.errors.Unauthenticated):
                async with client.subscribe(EVENT):
                    pass
            with pytest.raises(booking.errors.ValidationFailed):
                async with client.subscribe("appointment.exploded"):
                    pass
            await client.ping()

    asyncio.run(scenario())


@contextlib.contextmanager
def serving_on(app: Any, port: int) -> Iterator[str]:
    """Like `serving`, on a given port (to restart a server where clients expect it)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_websocket_client_reconnects_and_resubscribes_without_losing_events(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    bus = booking.events.InProcessEventBus()
    service = booking.service.Booking(f"sqlite:///{tmp_path / 'booking.db'}", bus=bus)
    app = booking.app.create_app(service, secret=SECRET, bus=bus)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    async def scenario() -> None:
        client = booking.ws_client.BookingWebSocketClient(url, token=token(booking), backoff=0.05)
        with serving_on(app, port):
            [first, second, third] = await asyncio.to_thread(book, booking, url, 3)
            await client.connect()
            subscription = client.subscribe(EVENT)
            await subscription.__aenter__()
            await cancel(booking, url, first)
            assert [e.key for e in await receive(subscription)] == [first]
        # The server is down: an event published meanwhile waits in the replay buffer.
        await service.cancel_appointment(
            principal=None, appointment_id=second, body=booking.service.CancelAppointmentBody()
        )
        with serving_on(app, port):
            got = await receive(subscription)
            await cancel(booking, url, third)
            got += await receive(subscription)
            assert [e.key for e in got] == [second, third]
            assert client.reconnects >= 1
            await client.close()

    asyncio.run(scenario())


# -- the realtime client --------------------------------------------------------------------------


def refuse_websockets(app: Any) -> Any:
    """A proxy that does not do WebSocket: every upgrade is refused (HTTP 403)."""

    async def proxy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await app(scope, receive, send)

    return proxy


@pytest.mark.parametrize("wrap", [None, refuse_websockets], ids=["websocket", "sse"])
def test_realtime_client_prefers_websocket_and_falls_back_to_sse(
    booking: SimpleNamespace, tmp_path: Path, wrap: Any
) -> None:
    bus = booking.events.InProcessEventBus()
    with replica(booking, tmp_path / "booking.db", bus, wrap) as served:
        [id] = book(booking, served.url, 1)

        async def scenario() -> None:
            client = booking.realtime.BookingRealtimeClient(served.url, token=token(booking))
            async with client, client.subscribe(EVENT, key=id) as events:
                assert client.transport == ("sse" if wrap else "websocket")
                await cancel(booking, served.url, id)
                [event] = await receive(events)
                assert event.payload().new_status.value == "cancelled"

        asyncio.run(scenario())


# -- the bus --------------------------------------------------------------------------------------


def test_a_slow_subscriber_is_dropped_without_blocking_publishers(booking: SimpleNamespace) -> None:
    events = booking.events

    async def scenario() -> None:
        bus = events.InProcessEventBus(subscriber_limit=2)
        slow = await bus.subscribe([EVENT])
        fast = await bus.subscribe([EVENT], limit=0)
        start = bus.position
        for n in range(3):
            await bus.publish(EVENT, f"a{n}", {"n": n})
        assert [e.key for e in [await anext(slow), await anext(slow)]] == ["a0", "a1"]
        with pytest.raises(events.SubscriberOverflow):
            await anext(slow)
        assert [(await anext(fast)).key for _ in range(3)] == ["a0", "a1", "a2"]
        async with await bus.subscribe([EVENT], after=start) as resumed:
            assert [(await anext(resumed)).key for _ in range(3)] == ["a0", "a1", "a2"]
        filtered = await bus.subscribe(None, key="a9")
        await bus.publish("other.event", "a9", {})
        assert (await anext(filtered)).type == "other.event"

    asyncio.run(scenario())


# -- Redis: two replicas ----------------------------------------------------------------------------


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_redis_bus_carries_an_event_from_replica_a_to_subscribers_of_replica_b(
    booking: SimpleNamespace, tmp_path: Path, redis_url: str
) -> None:
    database = tmp_path / "booking.db"
    bus_a = booking.events.event_bus(redis_url)
    bus_b = booking.events.event_bus(redis_url)
    assert isinstance(bus_a, booking.events.RedisEventBus)
    with replica(booking, database, bus_a) as a, replica(booking, database, bus_b) as b:
        first, second = book(booking, a.url, 2)

        async def scenario() -> None:
            ws_client = booking.ws_client.BookingWebSocketClient(b.url, token=token(booking))
            sse_client = booking.sse_client.BookingSSEClient(b.url, token=token(booking))
            async with (
                ws_client,
                sse_client,
                ws_client.subscribe(EVENT, key=first) as over_ws,
                sse_client.subscribe(EVENT) as over_sse,
            ):
                await cancel(booking, a.url, first, second)
                [ws_event] = await receive(over_ws)
                sse_events = await receive(over_sse, 2)
                assert ws_event == sse_events[0] and ws_event.key == first
                assert sse_events[1].key == second and sse_events[1].id == ws_event.id + 1

        asyncio.run(scenario())
