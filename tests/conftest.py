"""Shared fixtures: the specs under `specs/`, their IR, and the booking example's modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from apigen.ir import Api
from apigen.resolve import resolve
from apigen.spec.loader import load_spec

from .render_helpers import imported, render_spec, write

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def api_of(spec: Path) -> Api:
    """The IR of a spec, numbered as a new spec would be (no previous lock)."""
    return resolve(load_spec(spec))


@pytest.fixture(autouse=True)
def private_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own apigen check cache (`$XDG_CACHE_HOME/apigen`) and its own working
    folder, where a service's default SQLite database (`booking.db`) lands."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="module")
def booking() -> Iterator[SimpleNamespace]:
    """The modules of the booking example (`examples/booking/src`), imported for one test
    module (a module testing a freshly rendered `booking` defines its own)."""
    generated = "booking._generated"
    with imported(
        ROOT / "examples" / "booking" / "src",
        service="booking.service",
        access=f"{generated}.access",
        app=f"{generated}.app",
        auth=f"{generated}.auth",
        errors=f"{generated}.errors",
        events=f"{generated}.events",
        graphql=f"{generated}.graphql",
        grpc_server=f"{generated}.grpc_server",
        models=f"{generated}.models",
        sse=f"{generated}.sse",
        webhooks=f"{generated}.webhooks",
        rest=f"{generated}.clients.rest",
        graphql_client=f"{generated}.clients.graphql",
        grpc_client=f"{generated}.clients.grpc",
        ws_client=f"{generated}.clients.ws",
        sse_client=f"{generated}.clients.sse",
        realtime=f"{generated}.clients.realtime",
        receiver=f"{generated}.clients.webhook_receiver",
    ) as modules:
        yield modules


@pytest.fixture(scope="session")
def plan() -> dict[str, str]:
    """The booking spec rendered as `apigen generate` renders it, once for every test module
    that checks the rendered package (read only)."""
    return render_spec(ROOT / "specs" / "booking.yaml")


@pytest.fixture(scope="session")
def project(plan: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`plan` written to a folder (read only); a module imports its `booking` from there."""
    return write(plan, tmp_path_factory.mktemp("rendered-booking"))
