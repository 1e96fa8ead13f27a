"""Webhooks of the booking example: subscriptions over REST, the durable outbox, the signed
delivery worker and the generated receiver, with real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from standardwebhooks import Webhook

from .render_helpers import free_port, serving

SECRET = "booking-example-secret-of-32-bytes-or-more"
ADMIN = ("admin", "appointments:read", "appointments:write")
EVENT = "appointment.status_changed"


def serve(app: Any, port: int | None = None) -> contextlib.AbstractContextManager[str]:
    """Run an ASGI app with its lifespan (the webhook dispatcher) on 127.0.0.1."""
    return serving(app, port, lifespan=True)


class Receiver:
    """A generated receiver app that records the events it processed."""

    def __init__(self, booking: SimpleNamespace, secret: str) -> None:
        self.events: list[Any] = []
        self.app = FastAPI()

        async def handle(event: Any) -> None:
            self.events.append(event)

        self.app.include_router(booking.receiver.webhook_receiver_router(secret, handle))


def status_change(booking: SimpleNamespace, appointment_id: str) -> Any:
    return booking.models.AppointmentStatusChanged(
        appointment_id=appointment_id,
        patient_id="p-1",
        old_status="confirmed",
        new_status="cancelled",
        changed_at=datetime(2030, 5, 17, 9, tzinfo=UTC),
    )


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def dispatching(booking: SimpleNamespace, store: Any, **options: Any) -> AsyncIterator[Any]:
    options = {"base_delay": 0.05, "max_delay": 0.2, "timeout": 2.0, **options}
    dispatcher = booking.webhooks.WebhookDispatcher(store, **options)
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


def token(
    booking: SimpleNamespace, scopes: tuple[str, ...], subject: str = "ops"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {booking.auth.issue_token(subject, scopes, SECRET)}"}


def service_app(booking: SimpleNamespace, database: Path, bus: Any = None) -> FastAPI:
    """The booking app on one database, its dispatcher retrying fast (a test's lifespan)."""
    url = f"sqlite:///{database}"
    store = booking.webhooks.WebhookStore(url)
    dispatcher = booking.webhooks.WebhookDispatcher(store, bus=bus, base_delay=0.05, max_delay=0.2)
    service = booking.service.Booking(url, bus=bus)
    app = booking.app.create_app(service, secret=SECRET, bus=bus, webhooks=store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await dispatcher.start()
        yield
        await dispatcher.stop()

    app.router.lifespan_context = lifespan
    return app


# -- subscriptions --------------------------------------------------------------------------


def test_subscriptions_over_rest(booking: SimpleNamespace, tmp_path: Path) -> None:
    app = service_app(booking, tmp_path / "booking.db")
    admin = token(booking, ADMIN)
    body = {"url": "http://127.0.0.1:9/hooks", "events": [EVENT]}
    with serve(app) as url:
        created = httpx.post(f"{url}/v1/webhooks", json=body, headers=admin)
        assert created.status_code == 201, created.text
        subscription = created.json()
        assert subscription["secret"].startswith("whsec_")
        assert subscription["events"] == [EVENT]

        listed = httpx.get(f"{url}/v1/webhooks", headers=admin).json()["items"]
        assert [s["id"] for s in listed] == [subscription["id"]]
        assert "secret" not in listed[0]  # shown once, on creation
        other = token(booking, ADMIN, subject="someone-else")
        assert httpx.get(f"{url}/v1/webhooks", headers=other).json()["items"] == []

        unknown = httpx.post(
            f"{url}/v1/webhooks", json={**body, "events": ["no.such"]}, headers=admin
        )
        assert unknown.status_code == 422
        assert unknown.headers["content-type"] == "application/problem+json"
        assert "unknown event no.such" in unknown.json()["errors"][0]["message"]
        bad_url = httpx.post(f"{url}/v1/webhooks", json={**body, "url": "ftp://x"}, headers=admin)
        assert bad_url.status_code == 422
        assert httpx.post(f"{url}/v1/webhooks", json=body).status_code == 401
        writer = token(booking, ("appointments:write",))
        denied = httpx.post(f"{url}/v1/webhooks", json=body, headers=writer)
        assert denied.status_code == 403
        assert denied.json()["code"] == "permission_denied"

        path = f"{url}/v1/webhooks/{subscription['id']}"
        assert httpx.delete(path, headers=other).status_code == 404
        assert httpx.delete(path, headers=admin).status_code == 204
        assert httpx.delete(path, headers=admin).status_code == 404
        assert httpx.get(f"{url}/v1/webhooks", headers=admin).json()["items"] == []


# -- delivery -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_receiver_down_then_up_gets_every_event_once_in_order(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    store = booking.webhooks.WebhookStore(f"sqlite:///{tmp_path / 'booking.db'}")
    port = free_port()
    subscription = store.add_subscription("ops", f"http://127.0.0.1:{port}/webhooks", [EVENT])
    receiver = Receiver(booking, subscription.secret)
    async with dispatching(booking, store) as dispatcher:
        for i in range(3):
            assert dispatcher.enqueue(EVENT, status_change(booking, f"a-{i}")) == 1
        # The receiver is down: the first message is retried, the others wait behind it.
        await eventually(lambda: _attempts(store) >= 2)
        with serve(receiver.app, port):
            await eventually(lambda: len(receiver.events) == 3)
            await asyncio.sleep(0.3)  # nothing more arrives
    assert [e.data.appointment_id for e in receiver.events] == ["a-0", "a-1", "a-2"]
    assert all(
        isinstance(e, booking.models.AppointmentStatusChangedWebhook) for e in receiver.events
    )
    assert store.counts() == {"pending": 0, "delivered": 3, "failed": 0}


@pytest.mark.asyncio
async def test_pending_deliveries_survive_a_restart(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'booking.db'}"
    store = booking.webhooks.WebhookStore(database)
    port = free_port()
    subscription = store.add_subscription("ops", f"http://127.0.0.1:{port}/webhooks", [EVENT])
    async with dispatching(booking, store) as dispatcher:
        dispatcher.enqueue(EVENT, status_change(booking, "a-0"))
        dispatcher.enqueue(EVENT, status_change(booking, "a-1"))
        await eventually(lambda: _attempts(store) >= 1)
    store.close()

    # A new process: a new store and dispatcher on the same database file.
    restarted = booking.webhooks.WebhookStore(database)
    assert restarted.counts()["pending"] == 2
    receiver = Receiver(booking, subscription.secret)
    with serve(receiver.app, port):
        async with dispatching(booking, restarted):
            await eventually(lambda: restarted.counts()["delivered"] == 2)
    assert [e.data.appointment_id for e in receiver.events] == ["a-0", "a-1"]
    assert restarted.counts() == {"pending": 0, "delivered": 2, "failed": 0}


@pytest.mark.asyncio
async def test_retries_stop_at_the_cap(booking: SimpleNamespace, tmp_path: Path) -> None:
    store = booking.webhooks.WebhookStore(f"sqlite:///{tmp_path / 'booking.db'}")
    refusing = FastAPI()
    calls: list[str] = []

    @refusing.post("/webhooks")
    async def refuse(request: Request) -> None:
        calls.append(request.headers["webhook-id"])
        raise RuntimeError("receiver bug")

    with serve(refusing) as url:
        store.add_subscription("ops", f"{url}/webhooks", [EVENT])
        async with dispatching(booking, store, max_attempts=3) as dispatcher:
            dispatcher.enqueue(EVENT, status_change(booking, "a-0"))
            dispatcher.enqueue(EVENT, status_change(booking, "a-1"))
            await eventually(lambda: store.counts()["failed"] == 2)
    # Three attempts each, the same webhook-id on every retry of a message.
    assert len(calls) == 6 and len(set(calls)) == 2


@pytest.mark.asyncio
async def test_deleting_a_subscription_stops_its_deliveries(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    store = booking.webhooks.WebhookStore(f"sqlite:///{tmp_path / 'booking.db'}")
    kept_port, dropped_port = free_port(), free_port()
    kept = store.add_subscription("ops", f"http://127.0.0.1:{kept_port}/webhooks", [EVENT])
    dropped = store.add_subscription("ops", f"http://127.0.0.1:{dropped_port}/webhooks", [EVENT])
    kept_receiver, dropped_receiver = (
        Receiver(booking, kept.secret),
        Receiver(booking, dropped.secret),
    )
    async with dispatching(booking, store) as dispatcher:
        dispatcher.enqueue(EVENT, status_change(booking, "a-0"))  # pending: both are down
        assert store.delete_subscription("ops", dropped.id)
        assert dispatcher.enqueue(EVENT, status_change(booking, "a-1")) == 1
        with serve(kept_receiver.app, kept_port), serve(dropped_receiver.app, dropped_port):
            await eventually(lambda: len(kept_receiver.events) == 2)
            await asyncio.sleep(0.3)
    assert dropped_receiver.events == []
    assert store.counts() == {"pending": 0, "delivered": 2, "failed": 0}


class Recorder:
    """A bare receiver app recording the `webhook-id` and payload of every POST, duplicates
    included (the generated receiver would hide them)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []
        self.app = FastAPI()

        @self.app.post("/webhooks")
        async def record(request: Request) -> None:
            body = await request.json()
            self.calls.append(
                (request.headers["webhook-id"], body["data"]["appointment_id"], time.time())
            )


@pytest.mark.asyncio
async def test_replicas_on_one_database_send_each_event_once_in_order(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'booking.db'}"
    bus = booking.events.InProcessEventBus()  # as a Redis bus: every replica sees every event
    stores = [booking.webhooks.WebhookStore(database) for _ in range(3)]
    recorder = Recorder()
    with serve(recorder.app) as url:
        stores[0].add_subscription("ops", f"{url}/webhooks", [EVENT])
        async with contextlib.AsyncExitStack() as replicas:
            for store in stores:
                await replicas.enter_async_context(dispatching(booking, store, bus=bus))
            for i in range(20):
                change = status_change(booking, f"a-{i}")
                await bus.publish(EVENT, f"a-{i}", change.model_dump(mode="json"))
            await eventually(lambda: stores[0].counts()["delivered"] == 20)
            await asyncio.sleep(0.3)  # nothing more arrives
    assert [appointment for _, appointment, _ in recorder.calls] == [f"a-{i}" for i in range(20)]
    assert len({webhook_id for webhook_id, _, _ in recorder.calls}) == 20
    assert stores[0].counts() == {"pending": 0, "delivered": 20, "failed": 0}


@pytest.mark.asyncio
async def test_a_dead_replicas_claim_runs_out_and_another_sends_the_message(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'booking.db'}"
    dead, alive = (booking.webhooks.WebhookStore(database) for _ in range(2))
    recorder = Recorder()
    with serve(recorder.app) as url:
        dead.add_subscription("ops", f"{url}/webhooks", [EVENT])
        booking.webhooks.WebhookDispatcher(dead).enqueue(EVENT, status_change(booking, "a-0"))
        lease_ends = time.time() + 0.5
        # A replica claimed the message, then died before sending it.
        claimed, _ = dead.claim(0.5, room=10)
        assert len(claimed) == 1
        taken, waiting = alive.claim(10, room=10)
        assert taken == [] and [d.id for d in waiting] == [claimed[0].id]  # held: not due
        async with dispatching(booking, alive):
            await eventually(lambda: alive.counts()["delivered"] == 1)
    ((_, appointment, sent_at),) = recorder.calls
    assert appointment == "a-0" and sent_at >= lease_ends


def test_a_cancellation_reaches_a_verifying_receiver_through_the_bus(
    booking: SimpleNamespace, tmp_path: Path
) -> None:
    bus = booking.events.InProcessEventBus()
    app = service_app(booking, tmp_path / "booking.db", bus)
    with serve(app) as url:
        admin = booking.rest.BookingClient(
            url, token=booking.auth.issue_token("ops", ADMIN, SECRET)
        )
        provider = admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
        slot = admin.create_slot(
            provider_id=provider.id,
            starts_at=datetime(2030, 5, 17, 9, tzinfo=UTC),
            duration_minutes=30,
        )
        patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")
        appointment = admin.book_appointment(slot_id=slot.id, patient_id=patient.id)

        port = free_port()
        hook = {"url": f"http://127.0.0.1:{port}/webhooks", "events": [EVENT]}
        created = httpx.post(f"{url}/v1/webhooks", json=hook, headers=token(booking, ADMIN))
        receiver = Receiver(booking, created.json()["secret"])
        with serve(receiver.app, port):
            admin.cancel_appointment(appointment_id=appointment.id)
            asyncio.run(eventually(lambda: len(receiver.events) == 1))
    event = receiver.events[0]
    assert event.type == EVENT
    assert event.data.appointment_id == appointment.id
    assert (event.data.old_status.value, event.data.new_status.value) == ("confirmed", "cancelled")


def _attempts(store: Any) -> int:
    with store._transaction() as db:
        return int(db.execute("SELECT SUM(attempts) FROM webhook_deliveries").fetchone()[0] or 0)


# -- the receiver ---------------------------------------------------------------------------


def signed(
    body: str, secret: str, message_id: str = "msg_1", at: datetime | None = None
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
    }


def test_the_receiver_rejects_forged_replayed_and_stale_deliveries(
    booking: SimpleNamespace,
) -> None:
    secret = booking.webhooks.new_secret()
    receiver = Receiver(booking, secret)
    body = booking.webhooks.envelope(EVENT, status_change(booking, "a-0"))
    event = booking.receiver.verify(signed(body, secret), body.encode(), secret)
    assert event.data.appointment_id == "a-0"

    with serve(receiver.app) as url:
        hooks = f"{url}/webhooks"

        def post(content: str, headers: dict[str, str]) -> httpx.Response:
            return httpx.post(hooks, content=content.encode(), headers=headers)

        def rejected(response: httpx.Response, status: int, text: str) -> None:
            assert response.status_code == status, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert text in response.json()["detail"]

        headers = signed(body, secret)
        assert post(body, headers).status_code == 204
        tampered = body.replace("a-0", "a-9")
        rejected(post(tampered, signed(body, secret, "msg_2")), 401, "forged or altered")
        other_secret = booking.webhooks.new_secret()
        rejected(post(body, signed(body, other_secret, "msg_3")), 401, "another secret")
        rejected(post(body, headers), 400, "replayed delivery")
        old = datetime.now(UTC) - timedelta(minutes=10)
        rejected(post(body, signed(body, secret, "msg_4", old)), 400, "stale delivery")
        rejected(post(body, {"content-type": "application/json"}), 400, "`webhook-id`")
        not_an_event = '{"type": "appointment.status_changed"}'
        invalid = post(not_an_event, signed(not_an_event, secret, "msg_5"))
        assert invalid.status_code == 422
        assert {e["path"] for e in invalid.json()["errors"]} == {"body.timestamp", "body.data"}
        # A sender's retry (same id, new timestamp) of a processed message: 2xx, not processed again.
        retry = signed(body, secret, at=datetime.now(UTC) + timedelta(seconds=2))
        assert post(body, retry).status_code == 204
    assert [e.data.appointment_id for e in receiver.events] == ["a-0"]
