"""The generated gRPC adapter and client, end to end: a real grpc.aio server on 127.0.0.1 (its
own event loop in a thread), an in-memory implementation of the generated interface, and the
generated sync gRPC client."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status

from .render_helpers import (
    ROOT,
    free_port,
    grpc_serving,
    importable,
    render_spec,
    rendered_booking,
    write,
)

try:  # where helper code of the REST test may move to
    from .render_helpers import memory_service  # type: ignore[attr-defined]
except ImportError:
    from .test_render_rest import memory_service

SPEC = ROOT / "specs" / "booking.yaml"
SECRET = "test-secret-" + "x" * 32
ADMIN = ("admin", "appointments:read", "appointments:write")
PATIENT = ("appointments:read", "appointments:write")
DAY = date(2030, 1, 7)
SERVICE = "booking.v1.BookingService"
STUBS = "src/booking/_generated/proto/"


@pytest.fixture(scope="module")
def booking(project: Path) -> Iterator[SimpleNamespace]:
    with rendered_booking(
        project, "auth", "errors", "models", "service", "grpc_server", "clients.grpc"
    ) as modules:
        yield modules


@pytest.fixture(scope="module")
def server(booking: SimpleNamespace) -> Iterator[SimpleNamespace]:
    """The generated gRPC server of an in-memory service, on its own loop in a thread."""
    service = memory_service(booking)
    port = free_port()
    with grpc_serving(booking.grpc_server.start_grpc_server(service, port, secret=SECRET)):
        yield SimpleNamespace(target=f"127.0.0.1:{port}", service=service)


def client(
    booking: SimpleNamespace, target: str, scopes: tuple[str, ...] | None, subject: str = "u1"
) -> Any:
    token = booking.auth.issue_token(subject, scopes, SECRET) if scopes is not None else None
    return booking.client_grpc.BookingGrpcClient(target, token)


@pytest.fixture(scope="module")
def world(booking: SimpleNamespace, server: SimpleNamespace) -> Iterator[SimpleNamespace]:
    """A provider with three slots on DAY and one patient, made through the gRPC API."""
    admin = client(booking, server.target, ADMIN, "admin")
    provider = admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
    starts = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    slots = [
        admin.create_slot(
            provider_id=provider.id, starts_at=starts + timedelta(hours=i), duration_minutes=30
        )
        for i in range(3)
    ]
    patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")
    yield SimpleNamespace(admin=admin, provider=provider, slots=slots, patient=patient)
    admin.close()


def raw_call(target: str, method: str, request: Any, token: str | None = None) -> grpc.RpcError:
    """The error of a call made without the generated client."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            f"/{SERVICE}/{method}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=lambda data: data,
        )
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        with pytest.raises(grpc.RpcError) as failed:
            call(request, metadata=metadata, timeout=10)
        return failed.value


# -- the booking flow -------------------------------------------------------------------------


def test_booking_flow(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    m, errors = booking.models, booking.errors
    with client(booking, server.target, PATIENT) as api:
        open_slots = api.available_slots(provider_id=world.provider.id, date=DAY)
        assert [s.id for s in open_slots] == [s.id for s in world.slots]
        assert all(isinstance(s, m.Slot) for s in open_slots)
        assert open_slots[0].starts_at == datetime(2030, 1, 7, 9, tzinfo=UTC)
        assert open_slots[0].duration_minutes == 30 and open_slots[0].available

        first = api.book_appointment(
            slot_id=open_slots[0].id, patient_id=world.patient.id, reason="check-up"
        )
        assert isinstance(first, m.Appointment)
        assert first.status == m.AppointmentStatus.confirmed
        assert first.reason == "check-up"
        assert first.created_at == datetime(2030, 1, 1, tzinfo=UTC)
        assert api.get_appointment(id=first.id) == first
        second = api.book_appointment(slot_id=open_slots[1].id, patient_id=world.patient.id)
        assert second.reason is None  # optional presence survives the wire

        remaining = api.available_slots(provider_id=world.provider.id, date=DAY)
        assert [s.id for s in remaining] == [world.slots[2].id]

        page1 = api.list_appointments(patient_id=world.patient.id, limit=1)
        assert isinstance(page1, m.AppointmentPage)
        assert [a.id for a in page1.items] == [first.id]
        assert page1.next_cursor is not None
        page2 = api.list_appointments(
            patient_id=world.patient.id, limit=1, cursor=page1.next_cursor
        )
        assert [a.id for a in page2.items] == [second.id]
        assert page2.next_cursor is None
        confirmed = api.list_appointments(status=m.AppointmentStatus.confirmed)
        assert {a.id for a in confirmed.items} == {first.id, second.id}

        with pytest.raises(errors.SlotUnavailable) as taken:
            api.book_appointment(slot_id=open_slots[0].id, patient_id=world.patient.id)
        assert taken.value.code == "slot_unavailable" and taken.value.grpc_status == (
            "FAILED_PRECONDITION"
        )

        cancelled = api.cancel_appointment(appointment_id=second.id, reason="moved")
        assert cancelled.status == m.AppointmentStatus.cancelled
        with pytest.raises(errors.AppointmentNotCancellable):
            api.cancel_appointment(appointment_id=second.id)
        with pytest.raises(errors.NotFound):
            api.get_appointment(id="apt_missing")


def test_idempotency_key_replays_the_first_response(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    starts = datetime(2030, 3, 1, 9, tzinfo=UTC)
    slot = world.admin.create_slot(
        provider_id=world.provider.id, starts_at=starts, duration_minutes=30
    )
    with client(booking, server.target, PATIENT, "idem") as api:
        first = api.book_appointment(
            slot_id=slot.id, patient_id=world.patient.id, idempotency_key="g-1"
        )
        again = api.book_appointment(
            slot_id=slot.id, patient_id=world.patient.id, idempotency_key="g-1"
        )
        assert again == first
        with pytest.raises(booking.errors.ValidationFailed):
            api.book_appointment(
                slot_id=slot.id, patient_id=world.patient.id, reason="x", idempotency_key="g-1"
            )
        with pytest.raises(booking.errors.SlotUnavailable):
            api.book_appointment(slot_id=slot.id, patient_id=world.patient.id)


# -- errors -----------------------------------------------------------------------------------


def test_slot_unavailable_is_failed_precondition_with_its_code(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    pb = importlib.import_module("booking._generated.proto.booking_pb2")
    token = booking.auth.issue_token("u2", PATIENT, SECRET)
    with client(booking, server.target, PATIENT, "u2") as api:
        slot = world.admin.create_slot(
            provider_id=world.provider.id,
            starts_at=datetime(2030, 4, 1, 9, tzinfo=UTC),
            duration_minutes=30,
        )
        api.book_appointment(slot_id=slot.id, patient_id=world.patient.id)
    request = pb.BookAppointmentRequest(slot_id=slot.id, patient_id=world.patient.id)
    error = raw_call(server.target, "BookAppointment", request, token)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    status = rpc_status.from_call(error)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain, info.metadata["status"]) == (
        "slot_unavailable",
        "booking",
        "409",
    )


def test_bad_input_lists_each_field(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    admin = client(booking, server.target, ADMIN)
    with pytest.raises(booking.errors.ValidationFailed) as failed:
        admin.create_slot(
            provider_id="", starts_at=datetime(2030, 1, 1, tzinfo=UTC), duration_minutes=1
        )
    assert {e.path for e in failed.value.errors} == {"provider_id", "duration_minutes"}
    with pytest.raises(booking.errors.ValidationFailed) as limit:
        admin.list_appointments(limit=1000)
    assert [e.path for e in limit.value.errors] == ["page_size"]
    with pytest.raises(booking.errors.ValidationFailed) as email:
        admin.create_patient(name="Eve", email="not an email")
    assert [e.path for e in email.value.errors] == ["email"]

    pb = importlib.import_module("booking._generated.proto.booking_pb2")
    token = booking.auth.issue_token("admin", ADMIN, SECRET)
    # A required Timestamp left unset, and a date that is not one.
    error = raw_call(
        server.target,
        "CreateSlot",
        pb.CreateSlotRequest(provider_id="p", duration_minutes=30),
        token,
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad) for detail in status.details)
    assert [v.field for v in bad.field_violations] == ["starts_at"]
    error = raw_call(
        server.target,
        "AvailableSlots",
        pb.AvailableSlotsRequest(provider_id="p", date="tomorrow"),
        token,
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    admin.close()


def test_no_token_is_unauthenticated(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    with client(booking, server.target, None) as anonymous:
        with pytest.raises(booking.errors.Unauthenticated) as missing:
            anonymous.list_appointments()
        assert missing.value.grpc_status == "UNAUTHENTICATED"
    forged = booking.client_grpc.BookingGrpcClient(
        server.target, booking.auth.issue_token("u1", ADMIN, "another-secret-" + "y" * 32)
    )
    with forged, pytest.raises(booking.errors.Unauthenticated):
        forged.get_slot(id=world.slots[0].id)
    pb = importlib.import_module("booking._generated.proto.booking_pb2")
    error = raw_call(server.target, "ListAppointments", pb.ListAppointmentsRequest())
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_wrong_scope_is_permission_denied(
    booking: SimpleNamespace, server: SimpleNamespace, world: SimpleNamespace
) -> None:
    with client(booking, server.target, ("appointments:read",)) as reader:
        with pytest.raises(booking.errors.PermissionDenied) as denied:
            reader.book_appointment(slot_id=world.slots[0].id, patient_id=world.patient.id)
        assert denied.value.grpc_status == "PERMISSION_DENIED"
    with (
        client(booking, server.target, PATIENT) as patient,
        pytest.raises(booking.errors.PermissionDenied),
    ):
        patient.create_patient(name="Eve", email="eve@example.com")


def test_bare_status_falls_back_on_the_status_code(booking: SimpleNamespace) -> None:
    nowhere = booking.client_grpc.BookingGrpcClient(f"127.0.0.1:{free_port()}", timeout=2)
    with nowhere, pytest.raises(booking.errors.Internal) as unreachable:
        nowhere.list_patients()
    assert "UNAVAILABLE" in str(unreachable.value)


# -- health and reflection --------------------------------------------------------------------


def test_health_check_answers_serving(server: SimpleNamespace) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE):
            answer = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(server: SimpleNamespace) -> None:
    with grpc.insecure_channel(server.target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = database.get_services()
        assert SERVICE in services
        assert "grpc.health.v1.Health" in services
        described = database.FindFileContainingSymbol(SERVICE)
        assert described.name == "booking/v1/booking.proto"
        assert [s.name for s in described.service] == ["BookingService"]


# -- the generated code -----------------------------------------------------------------------


def test_stubs_are_deterministic_and_importable_inside_the_package(
    plan: dict[str, str], booking: SimpleNamespace
) -> None:
    stubs = {path: text for path, text in plan.items() if path.startswith(STUBS)}
    assert sorted(stubs) == [
        f"{STUBS}__init__.py",
        f"{STUBS}booking_pb2.py",
        f"{STUBS}booking_pb2.pyi",
        f"{STUBS}booking_pb2_grpc.py",
    ]
    assert render_spec(SPEC) == plan
    assert "from . import booking_pb2" in stubs[f"{STUBS}booking_pb2_grpc.py"]
    assert "apigen-protoc-" not in "".join(stubs.values())
    grpc_module = importlib.import_module("booking._generated.proto.booking_pb2_grpc")
    assert grpc_module.BookingServiceStub


def test_generated_grpc_code_passes_ruff(project: Path) -> None:
    ruff = subprocess.run(
        [
            str(Path(sys.executable).parent / "ruff"),
            "check",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--extend-exclude",
            "*_pb2*",
            "booking",
        ],
        cwd=project / "src",
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


# Booking is served and imported by this module's fixtures; the other specs are imported here.
OTHER_SPECS = sorted(p for p in (ROOT / "specs").glob("*.yaml") if p.stem != "booking")


@pytest.mark.parametrize("spec", OTHER_SPECS, ids=lambda p: p.stem)
def test_every_other_spec_renders_an_importable_grpc_adapter(spec: Path, tmp_path: Path) -> None:
    plan = render_spec(spec)
    package = next(p.split("/")[1] for p in plan if p.startswith("src/"))
    write(plan, tmp_path)
    with importable(tmp_path / "src", package):
        server = importlib.import_module(f"{package}._generated.grpc_server")
        importlib.import_module(f"{package}._generated.clients.grpc")
        assert server.SERVICE_NAME.endswith("Service")
