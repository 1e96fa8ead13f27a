"""Webhook deliveries per second: the booking example's dispatcher to a local receiver.

The receiver is the generated one (it verifies every signature and deduplicates by
`webhook-id`), served by uvicorn on 127.0.0.1 in its own process; the dispatcher runs on
this process's event loop over a SQLite outbox in a temporary folder. Each case enqueues a fixed
number of events, then times from the dispatcher's start until every delivery is recorded
as delivered (bounded by a timeout). With one subscription deliveries go out one at a time,
in order; with several they go out concurrently, one at a time per subscription.
Usage: python benchmarks/webhooks.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "booking" / "src"))

from booking._generated.clients.webhook_receiver import webhook_receiver_router  # noqa: E402
from booking._generated.models import AppointmentStatus, AppointmentStatusChanged  # noqa: E402
from booking._generated.webhooks import WebhookDispatcher, WebhookStore  # noqa: E402

EVENT = "appointment.status_changed"
CASES = [(1, 1000), (10, 200), (50, 40)]  # (subscriptions, events): 1,000-2,000 deliveries
TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def receiver(port: int, secrets: list[str]) -> None:
    """Serve one verifying route per secret, `/webhooks/<n>`, until killed."""

    async def handle(event: object) -> None:
        pass

    app = FastAPI()
    for n, secret in enumerate(secrets):
        app.include_router(webhook_receiver_router(secret, handle, path=f"/webhooks/{n}"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


@contextlib.contextmanager
def receiving(port: int, secrets: list[str]) -> Iterator[None]:
    """The receiver in its own process, as a real one would be."""
    command = [sys.executable, __file__, "--receiver", str(port)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)
    assert process.stdin is not None
    process.stdin.write(json.dumps(secrets))
    process.stdin.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


async def measure(folder: Path, subscriptions: int, events: int) -> tuple[int, float]:
    """(deliveries, seconds) for `events` events to `subscriptions` subscriptions."""
    store = WebhookStore(f"sqlite:///{folder / f'bench-{subscriptions}.db'}")
    port = free_port()
    secrets = [
        store.add_subscription("bench", f"http://127.0.0.1:{port}/webhooks/{n}", [EVENT]).secret
        for n in range(subscriptions)
    ]
    dispatcher = WebhookDispatcher(store)
    for i in range(events):
        payload = AppointmentStatusChanged(
            appointment_id=f"a-{i}",
            patient_id="p-1",
            old_status=AppointmentStatus.confirmed,
            new_status=AppointmentStatus.cancelled,
            changed_at=datetime.now(UTC),
        )
        dispatcher.enqueue(EVENT, payload)
    total = subscriptions * events
    with receiving(port, secrets):
        start = time.perf_counter()
        await dispatcher.start()
        try:
            while store.counts()["delivered"] < total:
                if time.perf_counter() - start > TIMEOUT:
                    raise RuntimeError(f"timed out: {store.counts()}")
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - start
        finally:
            await dispatcher.stop()
            store.close()
    return total, elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="apigen-bench-webhooks-") as folder:
        for subscriptions, events in CASES:
            deliveries, seconds = await measure(Path(folder), subscriptions, events)
            print(
                f"webhooks  {subscriptions:>3} subscription(s)  {deliveries:>5} deliveries"
                f"  {seconds:6.2f} s  {deliveries / seconds:8.0f} deliveries/s"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receiver"]:
        receiver(int(sys.argv[2]), json.loads(sys.stdin.read()))
    else:
        asyncio.run(main())
