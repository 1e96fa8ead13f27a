"""Helpers for tests of generated code: render a spec into a folder, import it, serve it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import socket
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from apigen.pipeline import generate
from apigen.writer import Plan, write_plan

ROOT = Path(__file__).resolve().parent.parent


def render_spec(spec: Path) -> Plan:
    """A project as `apigen generate` leaves it: contracts, the generated package and the
    user-owned service skeleton."""
    generation = generate(spec)
    return {**generation.plan, **generation.user_files}


@contextlib.contextmanager
def importable(src: Path, package: str) -> Iterator[None]:
    """`src` on sys.path while the block runs; the package is forgotten afterwards."""
    sys.path.insert(0, str(src))
    try:
        yield
    finally:
        sys.path.remove(str(src))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


@contextlib.contextmanager
def imported(src: Path, **modules: str) -> Iterator[SimpleNamespace]:
    """Modules of one package imported from `src` while the block runs, by attribute name
    (`auth="booking._generated.auth"`); the package is forgotten afterwards."""
    (package,) = {name.split(".")[0] for name in modules.values()}
    with importable(src, package):
        yield SimpleNamespace(**{k: importlib.import_module(v) for k, v in modules.items()})


def rendered_booking(
    project: Path, *names: str
) -> contextlib.AbstractContextManager[SimpleNamespace]:
    """`imported` for a rendered `booking` project: each module by its name under
    `booking._generated`, a client (`clients.rest`) as `client_rest`."""
    modules = {n.replace("clients.", "client_"): f"booking._generated.{n}" for n in names}
    return imported(project / "src", **modules)


@contextlib.contextmanager
def grpc_serving(start: Coroutine[Any, Any, Any]) -> Iterator[Any]:
    """Run `start` (which starts a grpc.aio server) on its own loop in a thread; yield the
    server, stopped with the loop at the end."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start, loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def seed_booking(admin: Any, first_slot: datetime, slots: int) -> SimpleNamespace:
    """Through a booking client with the admin scope: a provider with `slots` half-hour slots,
    an hour apart from `first_slot`, and a patient."""
    provider = admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
    created = [
        admin.create_slot(
            provider_id=provider.id,
            starts_at=first_slot + timedelta(hours=h),
            duration_minutes=30,
        )
        for h in range(slots)
    ]
    patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")
    return SimpleNamespace(provider=provider, slots=created, patient=patient)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: Any, port: int | None = None, *, lifespan: bool = False) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 in a thread (on `port`, else a free one, and
    with its lifespan only when asked); yield its base URL."""
    import uvicorn

    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on" if lifespan else "off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def write(plan: Plan, root: Path) -> Path:
    write_plan(plan, root)
    return root
