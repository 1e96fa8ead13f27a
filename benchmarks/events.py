"""Publish-to-receive latency of the booking example's events over SSE and WebSocket.

One server process (uvicorn, the generated app, the in-process bus) and 100 or 1,000
concurrent subscribers through the generated clients, spread over 4 client processes. Each round cancels
one appointment over REST; the service publishes `appointment.status_changed` with
`changed_at` set just before publishing, and every subscriber records when the event reached
it. Prints p50/p99/max over every (event, subscriber) pair. Target: p99 < 100 ms at 1,000.
Usage: python benchmarks/events.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "booking" / "src"))

from booking._generated.auth import issue_token  # noqa: E402
from booking._generated.clients.rest import AsyncBookingClient  # noqa: E402
from booking._generated.clients.sse import BookingSSEClient  # noqa: E402
from booking._generated.clients.ws import BookingWebSocketClient  # noqa: E402

SECRET = "benchmark-secret-of-32-bytes-or-more!"
EVENT = "appointment.status_changed"
SIZES = (100, 1000)
CLIENT_PROCESSES = 4
"""The subscribers are spread over these, so the clients' own work does not hide the server's."""

_SERVE = """
import sys, uvicorn
sys.path.insert(0, sys.argv[3])
from booking._generated.app import create_app
from booking.service import Booking
app = create_app(Booking(f"sqlite:///{sys.argv[2]}"), secret=sys.argv[4])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(database: Path) -> Any:
    port = _free_port()
    src = str(ROOT / "examples" / "booking" / "src")
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(port), str(database), src, SECRET],
        preexec_fn=_raise_file_limit,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


async def appointments(api: AsyncBookingClient, count: int) -> list[str]:
    provider = await api.create_provider(name="Dr. Bench", specialty="cardiology")
    patient = await api.create_patient(name="Ada Lovelace", email="ada@example.com")
    start = datetime(2031, 1, 1, tzinfo=UTC)
    ids = []
    for i in range(count):
        slot = await api.create_slot(
            provider_id=provider.id, starts_at=start + timedelta(hours=i), duration_minutes=30
        )
        ids.append((await api.book_appointment(slot_id=slot.id, patient_id=patient.id)).id)
    return ids


async def listen(
    url: str, count: int, rounds: int, opener: str, ready: Any, done: Any
) -> list[float]:
    """One client process: `count` subscribers, the latency of each event at each."""
    token = issue_token("bench", ["appointments:read"], SECRET)
    open_all = OPENERS[opener](url, count)
    latencies: list[float] = []
    async with open_all(token) as subscriptions:

        async def receive(events: Any) -> None:
            for _ in range(rounds):
                event = await anext(events)
                sent = datetime.fromisoformat(event.data["changed_at"]).timestamp()
                latencies.append(time.time() - sent)

        listeners = asyncio.gather(*(receive(s) for s in subscriptions))
        ready.release()
        await asyncio.wait_for(listeners, 120)
    done.release()
    return latencies


def _client(args: tuple[str, int, int, str, Any, Any]) -> list[float]:
    _raise_file_limit()
    return asyncio.run(listen(*args))


def measure(url: str, subscribers: int, rounds: int, opener: str) -> list[float]:
    """Latencies of `rounds` events at `subscribers` spread over `CLIENT_PROCESSES` processes."""
    token = issue_token("bench", ["admin", "appointments:write"], SECRET)

    async def publish(ids: list[str]) -> None:
        async with AsyncBookingClient(url, token=token, timeout=30) as api:
            for id in ids:
                await api.cancel_appointment(appointment_id=id)
                await asyncio.sleep(0.05)

    async def book() -> list[str]:
        async with AsyncBookingClient(url, token=token, timeout=30) as api:
            return await appointments(api, rounds)

    ids = asyncio.run(book())
    manager = multiprocessing.Manager()
    ready, done = manager.Semaphore(0), manager.Semaphore(0)
    share = subscribers // CLIENT_PROCESSES
    with multiprocessing.Pool(CLIENT_PROCESSES) as pool:
        jobs = pool.map_async(
            _client, [(url, share, rounds, opener, ready, done)] * CLIENT_PROCESSES
        )
        for _ in range(CLIENT_PROCESSES):
            ready.acquire()
        asyncio.run(publish(ids))
        latencies = [x for part in jobs.get(timeout=180) for x in part]
    assert len(latencies) == subscribers * rounds
    return latencies


def sse_subscribers(url: str, count: int) -> Callable[[str], Any]:
    @contextlib.asynccontextmanager
    async def open_all(token: str) -> AsyncIterator[list[Any]]:
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(BookingSSEClient(url, token=token))
            yield [await stack.enter_async_context(client.subscribe(EVENT)) for _ in range(count)]

    return open_all


def ws_subscribers(url: str, count: int) -> Callable[[str], Any]:
    @contextlib.asynccontextmanager
    async def open_all(token: str) -> AsyncIterator[list[Any]]:
        async with contextlib.AsyncExitStack() as stack:
            subscriptions = []
            for _ in range(count):  # one connection per subscriber, as browsers would
                client = await stack.enter_async_context(BookingWebSocketClient(url, token=token))
                subscriptions.append(await stack.enter_async_context(client.subscribe(EVENT)))
            yield subscriptions

    return open_all


OPENERS: dict[str, Callable[[str, int], Any]] = {
    "sse": sse_subscribers,
    "websocket": ws_subscribers,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    _raise_file_limit()
    print(f"{'transport':<10}{'subscribers':>12}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name in OPENERS:
        for size in SIZES:
            with tempfile.TemporaryDirectory() as tmp, server(Path(tmp) / "b.db") as url:
                samples = measure(url, size, rounds, name)
            q = statistics.quantiles(samples, n=100)
            print(
                f"{name:<10}{size:>12}{q[49] * 1000:>10.1f}{q[98] * 1000:>10.1f}"
                f"{max(samples) * 1000:>10.1f}"
            )


if __name__ == "__main__":
    main()
