"""Serving speed of the generated booking service: one appointment looked up over each style.

A server process runs, on one event loop around one SQLite-backed `Booking` service: the
generated ASGI app (REST and GraphQL), a hand-written minimal FastAPI app doing the same
lookup through the same service object (bearer check included), and the generated gRPC
server. This process is the load generator: a fixed number of concurrent keep-alive
connections, a warm-up, then a bounded run per case; it prints requests/s and p50/p99.
Usage: python benchmarks/serve.py [--seconds 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "booking" / "src"))

SECRET = "benchmark-secret-of-at-least-32-bytes"
SCOPES = ["admin", "appointments:read", "appointments:write"]
WARM_UP_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the server process -----------------------------------------------------------------------


def minimal_app(service: Any) -> Any:
    """The hand-written baseline: one FastAPI route into the same service."""
    from booking._generated.auth import authenticate, bearer_token, require
    from booking._generated.models import Appointment

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/v1/appointments/{id}", response_model=Appointment)
    async def get_appointment(id: str, authorization: Annotated[str, Header()]) -> Any:
        principal = require(
            authenticate(bearer_token(authorization), SECRET), ["appointments:read"]
        )
        return await service.get_appointment(principal=principal, id=id)

    return app


def serve(database: str, ports: dict[str, int], ready: Any) -> None:
    """Run every server on one loop until the process is terminated."""
    import uvicorn
    from booking._generated.app import create_app
    from booking._generated.grpc_server import start_grpc_server
    from booking.service import Booking

    async def main() -> None:
        service = Booking(database)
        servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
                )
            )
            for app, port in (
                (create_app(service, secret=SECRET), ports["generated"]),
                (minimal_app(service), ports["minimal"]),
            )
        ]
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        grpc_server = await start_grpc_server(service, ports["grpc"], secret=SECRET)
        while not all(server.started for server in servers):
            await asyncio.sleep(0.01)
        ready.set()
        await asyncio.gather(*tasks)
        await grpc_server.stop(grace=None)

    asyncio.run(main())


# -- the load generator -----------------------------------------------------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection sending one fixed request, read to its body's end."""

    def __init__(self, port: int, request: bytes) -> None:
        self.port = port
        self.request = request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __call__(self) -> None:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected response: {head.splitlines()[0]!r}")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await self.reader.readexactly(length)


def http_request(
    method: str, path: str, port: int, token: str, body: bytes = b""
) -> Callable[[], HttpConnection]:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n"
        + ("Content-Type: application/json\r\n" if body else "")
        + "\r\n"
    )
    return lambda: HttpConnection(port, head.encode() + body)


async def measure(calls: Sequence[Callable[[], Awaitable[None]]], seconds: float) -> list[float]:
    """Latencies (s) of requests completed in `seconds`, one loop of requests per caller."""
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def loop(call: Callable[[], Awaitable[None]]) -> None:
        while (start := time.perf_counter()) < end:
            await call()
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(loop(call) for call in calls))
    return latencies


async def run_case(
    calls: Sequence[Callable[[], Awaitable[None]]], seconds: float
) -> dict[str, float]:
    await measure(calls, WARM_UP_SECONDS)
    started = time.perf_counter()
    latencies = await measure(calls, seconds)
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / elapsed, "p50": cuts[49] * 1000, "p99": cuts[98] * 1000}


def grpc_calls(port: int, token: str, id: str, concurrency: int) -> tuple[Any, list[Any]]:
    """A channel and `concurrency` callers of GetAppointment, several streams on one connection."""
    import grpc
    from booking._generated.proto import booking_pb2 as pb
    from booking._generated.proto import booking_pb2_grpc as pb_grpc

    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = pb_grpc.BookingServiceStub(channel)  # type: ignore[no-untyped-call]
    request = pb.GetAppointmentRequest(id=id)
    metadata = (("authorization", f"Bearer {token}"),)

    async def call() -> None:
        await stub.GetAppointment(request, metadata=metadata)

    return channel, [call] * concurrency


def seed(url: str, token: str) -> str:
    """One provider, slot, patient and appointment; the appointment's id."""
    from booking._generated.clients.rest import BookingClient

    with BookingClient(url, token=token) as client:
        provider = client.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
        slot = client.create_slot(
            provider_id=provider.id,
            starts_at=datetime(2030, 5, 17, 9, tzinfo=UTC),
            duration_minutes=30,
        )
        patient = client.create_patient(name="Ada Lovelace", email="ada@example.com")
        booked = client.book_appointment(slot_id=slot.id, patient_id=patient.id)
        return str(booked.id)


async def benchmark(ports: dict[str, int], seconds: float, concurrency: int) -> None:
    from booking._generated.auth import issue_token

    token = issue_token("bench", SCOPES, SECRET)
    id = await asyncio.to_thread(seed, f"http://127.0.0.1:{ports['generated']}", token)
    query = json.dumps(
        {
            "query": "query($id: ID!) { appointment(id: $id) { id slotId patientId providerId"
            " status reason confirmationNumber createdAt } }",
            "variables": {"id": id},
        }
    ).encode()
    path = f"/v1/appointments/{id}"
    http_cases = {
        "REST, generated": http_request("GET", path, ports["generated"], token),
        "REST, hand-written FastAPI": http_request("GET", path, ports["minimal"], token),
        "GraphQL appointment(id)": http_request(
            "POST", "/v1/graphql", ports["generated"], token, query
        ),
    }
    results = {}
    for name, connection in http_cases.items():
        connections = [connection() for _ in range(concurrency)]
        results[name] = await run_case(connections, seconds)
        for c in connections:
            if c.writer is not None:
                c.writer.close()
    channel, calls = grpc_calls(ports["grpc"], token, id, concurrency)
    async with channel:
        results["gRPC GetAppointment"] = await run_case(calls, seconds)
    print_table(results, seconds, concurrency)


def print_table(results: dict[str, dict[str, float]], seconds: float, concurrency: int) -> None:
    print(f"GET one appointment: {concurrency} concurrent callers, {seconds:g} s per case")
    print(f"{'case':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        print(f"{name:<28} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f}")
    rest = results["REST, generated"]["rps"]
    ratio = rest / results["REST, hand-written FastAPI"]["rps"]
    grpc_ratio = results["gRPC GetAppointment"]["rps"] / rest
    print(f"generated REST / hand-written: {ratio:.2f} (target >= 0.87)")
    print(f"gRPC / generated REST:         {grpc_ratio:.2f} (target >= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    ports = {name: free_port() for name in ("generated", "minimal", "grpc")}
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'booking.db'}"
        server = context.Process(target=serve, args=(database, ports, ready), daemon=True)
        server.start()
        try:
            if not ready.wait(timeout=30):
                raise RuntimeError("the servers did not start")
            asyncio.run(benchmark(ports, args.seconds, args.concurrency))
        finally:
            server.terminate()
            server.join(timeout=10)


if __name__ == "__main__":
    main()
