"""Serving speed of the generated booking service: one appointment looked up over each style.

A server process runs, on one event loop around one SQLite-backed `Booking` service: the
generated ASGI app (REST and GraphQL), a hand-written minimal FastAPI app doing the same
lookup through the same service object (bearer check included), and the generated gRPC
server. Beside them, the floor: an empty FastAPI route and an empty grpc.aio method, each
answering a prepared appointment without authenticating or looking anything up, on the same
loop. Their ratio is the most any gRPC handler can gain over REST in this process: work the
two share (auth, lookup, encoding) only brings the ratio closer to 1. Every case keeps the
same number of requests in flight with the same token, warms up, then runs for a bounded
time; it prints requests/s, p50/p99 and the CPU each side used.

The load generator is h2load (Debian's `nghttp2-client`) when it is installed: one C client
for every style (HTTP/1.1 keep-alive connections, one per caller; gRPC as one HTTP/2
connection carrying a stream per caller, as a channel does), cheap enough that the server is
what is measured. Without it, this process generates the load in Python (raw HTTP/1.1 and a
grpc.aio channel): the Python gRPC client costs about as much CPU as the server, so on a
small machine it caps gRPC (see the client CPU column).
Usage: python benchmarks/serve.py [--seconds 5] [--concurrency 16] [--client auto|h2load|python]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
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


APPOINTMENT = {
    "id": "0" * 32,
    "slot_id": "1" * 32,
    "patient_id": "2" * 32,
    "provider_id": "3" * 32,
    "status": "confirmed",
    "reason": None,
    "confirmation_number": "BK-7F3A9C2E",
    "created_at": "2030-05-17T09:00:00Z",
}
"""The prepared answer of the floor cases, shaped like the looked-up appointment."""


def floor_app() -> Any:
    """The REST floor: one FastAPI route answering prepared bytes, no auth, no lookup."""
    from fastapi.responses import Response

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    body = json.dumps(APPOINTMENT).encode()

    @app.get("/v1/appointments/{id}")
    async def get_appointment(id: str) -> Response:
        return Response(body, media_type="application/json")

    return app


async def start_floor_grpc(port: int) -> Any:
    """The gRPC floor: `GetAppointment` answering a prepared message, no auth, no lookup."""
    import grpc
    from booking._generated.grpc_codec import to_message
    from booking._generated.grpc_server import SERVICE_NAME
    from booking._generated.models import Appointment
    from booking._generated.proto import booking_pb2 as pb

    answer = to_message(
        pb.GetAppointmentResponse,
        {"appointment": Appointment.model_validate(APPOINTMENT).model_dump()},
    )

    async def get_appointment(request: Any, context: Any) -> Any:
        return answer

    handler = grpc.unary_unary_rpc_method_handler(
        get_appointment,
        request_deserializer=pb.GetAppointmentRequest.FromString,
        response_serializer=pb.GetAppointmentResponse.SerializeToString,
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE_NAME, {"GetAppointment": handler}),)
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


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
                (floor_app(), ports["floor"]),
            )
        ]
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        grpc_servers = [
            await start_grpc_server(service, ports["grpc"], secret=SECRET),
            await start_floor_grpc(ports["floor_grpc"]),
        ]
        while not all(server.started for server in servers):
            await asyncio.sleep(0.01)
        ready.set()
        await asyncio.gather(*tasks)
        for grpc_server in grpc_servers:
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc; 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and of its finished children (h2load)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def summary(
    latencies: Sequence[float], elapsed: float, cpu: tuple[float, float], wall: float
) -> dict[str, float]:
    """Requests/s and p50/p99 (ms) over `elapsed`; server and client CPU (%) over `wall`."""
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "server_cpu": 100 * cpu[0] / wall,
        "client_cpu": 100 * cpu[1] / wall,
    }


async def run_case(
    calls: Sequence[Callable[[], Awaitable[None]]], seconds: float, server: int
) -> dict[str, float]:
    """A case with the Python load generator: a warm-up, then `seconds` measured."""
    await measure(calls, WARM_UP_SECONDS)
    server_cpu, client_cpu = cpu_seconds(server), own_cpu_seconds()
    started = time.perf_counter()
    latencies = await measure(calls, seconds)
    elapsed = time.perf_counter() - started
    cpu = (cpu_seconds(server) - server_cpu, own_cpu_seconds() - client_cpu)
    return summary(latencies, elapsed, cpu, elapsed)


def h2load_case(
    url: str,
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    server: int,
    *,
    body: bytes | None = None,
    http2: bool = False,
    min_data: int = 0,
) -> dict[str, float]:
    """A case with h2load: `concurrency` requests in flight (HTTP/1.1: one per connection;
    HTTP/2: streams of one connection), a warm-up, then `seconds` measured. Every response
    must be 2xx, and the bodies at least `min_data` bytes each (a gRPC error has none)."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "requests.tsv"
        command = ["h2load", f"--duration={seconds:g}", f"--warm-up-time={WARM_UP_SECONDS:g}"]
        command += [f"--log-file={log}"]
        command += (
            ["--clients=1", f"--max-concurrent-streams={concurrency}"]
            if http2
            else ["--h1", f"--clients={concurrency}", "--max-concurrent-streams=1"]
        )
        for name, value in headers.items():
            command += ["--header", f"{name}: {value}"]
        if body is not None:
            payload = Path(folder) / "body"
            payload.write_bytes(body)
            command += ["--data", str(payload)]
        command.append(url)
        server_cpu, client_cpu = cpu_seconds(server), own_cpu_seconds()
        started = time.perf_counter()
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - started  # the warm-up too: CPU is measured over it
        cpu = (cpu_seconds(server) - server_cpu, own_cpu_seconds() - client_cpu)
        rows = [line.split("\t") for line in log.read_text().splitlines()]
    done = re.search(
        r"requests: .* (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", output
    )
    traffic = re.search(r"traffic: .*\((\d+)\) data", output)
    if done is None or traffic is None or int(done[1]) != int(done[2]) or int(done[1]) == 0:
        raise RuntimeError(f"h2load: not every request succeeded:\n{output}")
    short = int(traffic[1]) < min_data * int(done[1])
    if short or any(not row[1].startswith("2") for row in rows):
        raise RuntimeError(f"h2load: some responses were errors:\n{output}")
    elapsed = seconds  # h2load logs the measured requests only, not the warm-up's
    latencies = [int(row[2]) / 1e6 for row in rows]
    return summary(latencies, elapsed, cpu, wall)


def grpc_calls(port: int, token: str, id: str, concurrency: int) -> tuple[Any, list[Any]]:
    """A channel and `concurrency` callers of GetAppointment, several streams on one connection."""
    import grpc
    from booking._generated.proto import booking_pb2 as pb
    from booking._generated.proto import booking_pb2_grpc as pb_grpc

    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = pb_grpc.BookingServiceStub(channel)  # type: ignore[no-untyped-call]
    request = pb.GetAppointmentRequest(id=id)
    metadata = (("authorization", f"Bearer {token}"),)

    async def call() -> Any:
        return await stub.GetAppointment(request, metadata=metadata)

    return channel, [call] * concurrency


def grpc_frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message (not compressed)."""
    return b"\0" + len(message).to_bytes(4, "big") + message


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


async def benchmark(
    ports: dict[str, int], seconds: float, concurrency: int, client: str, server: int
) -> None:
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
    results: dict[str, dict[str, float]] = {}
    if client == "h2load":
        auth = {"authorization": f"Bearer {token}"}
        http = {
            "REST, generated": (ports["generated"], path, None),
            "REST, hand-written FastAPI": (ports["minimal"], path, None),
            "REST floor (empty route)": (ports["floor"], path, None),
            "GraphQL appointment(id)": (ports["generated"], "/v1/graphql", query),
        }
        for name, (port, target, body) in http.items():
            headers = {**auth, "content-type": "application/json"} if body else auth
            results[name] = await asyncio.to_thread(
                h2load_case,
                f"http://127.0.0.1:{port}{target}",
                headers,
                seconds,
                concurrency,
                server,
                body=body,
            )
        from booking._generated.proto import booking_pb2 as pb

        request = grpc_frame(pb.GetAppointmentRequest(id=id).SerializeToString())
        grpc_headers = {**auth, "content-type": "application/grpc", "te": "trailers"}
        for name, port in (
            ("gRPC GetAppointment", ports["grpc"]),
            ("gRPC floor (empty method)", ports["floor_grpc"]),
        ):
            # One call through the generated stub first: the same request must succeed, and
            # tells the size of its answer (an error answer has no message).
            channel, calls = grpc_calls(port, token, id, 1)
            async with channel:
                answer = await calls[0]()
            results[name] = await asyncio.to_thread(
                h2load_case,
                f"http://127.0.0.1:{port}/booking.v1.BookingService/GetAppointment",
                grpc_headers,
                seconds,
                concurrency,
                server,
                body=request,
                http2=True,
                min_data=len(grpc_frame(answer.SerializeToString())),
            )
    else:
        python_cases = {
            "REST, generated": http_request("GET", path, ports["generated"], token),
            "REST, hand-written FastAPI": http_request("GET", path, ports["minimal"], token),
            "REST floor (empty route)": http_request("GET", path, ports["floor"], token),
            "GraphQL appointment(id)": http_request(
                "POST", "/v1/graphql", ports["generated"], token, query
            ),
        }
        for name, connection in python_cases.items():
            connections = [connection() for _ in range(concurrency)]
            results[name] = await run_case(connections, seconds, server)
            for c in connections:
                if c.writer is not None:
                    c.writer.close()
        for name, port in (
            ("gRPC GetAppointment", ports["grpc"]),
            ("gRPC floor (empty method)", ports["floor_grpc"]),
        ):
            channel, calls = grpc_calls(port, token, id, concurrency)
            async with channel:
                results[name] = await run_case(calls, seconds, server)
    print_table(results, seconds, concurrency, client)


def print_table(
    results: dict[str, dict[str, float]], seconds: float, concurrency: int, client: str
) -> None:
    print(
        f"GET one appointment: {concurrency} requests in flight, {seconds:g} s per case, "
        f"load from {client}, {os.cpu_count()} cores"
    )
    print(
        f"{'case':<30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server CPU':>11} {'client CPU':>11}"
    )
    for name, r in results.items():
        print(
            f"{name:<30} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f}"
            f" {r['server_cpu']:>10.0f}% {r['client_cpu']:>10.0f}%"
        )
    rest = results["REST, generated"]["rps"]
    ratio = rest / results["REST, hand-written FastAPI"]["rps"]
    graphql_ratio = results["GraphQL appointment(id)"]["rps"] / rest
    grpc_ratio = results["gRPC GetAppointment"]["rps"] / rest
    floor_ratio = (
        results["gRPC floor (empty method)"]["rps"] / results["REST floor (empty route)"]["rps"]
    )
    print(f"generated REST / hand-written: {ratio:.2f} (target >= 0.87)")
    print(f"GraphQL / generated REST:      {graphql_ratio:.2f}")
    print(f"gRPC / generated REST:         {grpc_ratio:.2f} (target >= 1.5)")
    print(f"gRPC floor / REST floor:       {floor_ratio:.2f} (the most a handler can reach here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--client", choices=("auto", "h2load", "python"), default="auto")
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "h2load" if shutil.which("h2load") else "python"
        if client == "python":
            print(
                "h2load not found (apt-get install nghttp2-client): load from Python",
                file=sys.stderr,
            )
    ports = {name: free_port() for name in ("generated", "minimal", "floor", "grpc", "floor_grpc")}
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    with tempfile.TemporaryDirectory() as folder:
        database = f"sqlite:///{Path(folder) / 'booking.db'}"
        server = context.Process(target=serve, args=(database, ports, ready), daemon=True)
        server.start()
        try:
            if not ready.wait(timeout=30):
                raise RuntimeError("the servers did not start")
            assert server.pid is not None
            asyncio.run(benchmark(ports, args.seconds, args.concurrency, client, server.pid))
        finally:
            server.terminate()
            server.join(timeout=10)


if __name__ == "__main__":
    main()
