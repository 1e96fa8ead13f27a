"""The booking business logic: the one implementation every API style serves.

User-owned: `apigen generate` created the interface in `_generated/service.py`; this file is
ours and is never overwritten. The store is SQLite (`BOOKING_DATABASE_URL`, default
`sqlite:///booking.db`; `sqlite:///:memory:` for tests).

Events: a cancellation publishes `appointment.status_changed` (confirmed -> cancelled) once,
after it is committed, on the bus given (default: the process-wide `default_bus()`, which
`create_app` also uses). Booking publishes nothing: a new appointment has no previous status,
and it is the response to the booking itself.
"""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ._generated.errors import (
    AppointmentNotCancellable,
    FieldError,
    NotFound,
    SlotUnavailable,
    ValidationFailed,
)
from ._generated.events import BookingEvents, EventBus
from ._generated.models import (
    Appointment,
    AppointmentPage,
    AppointmentStatus,
    AppointmentStatusChanged,
    BookAppointmentBody,
    CancelAppointmentBody,
    CreatePatientBody,
    CreateProviderBody,
    CreateSlotBody,
    Patient,
    PatientPage,
    Provider,
    ProviderPage,
    Slot,
    SlotPage,
)
from ._generated.service import Principal

SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, phone TEXT
);
CREATE TABLE IF NOT EXISTS providers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, specialty TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slots (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers(id),
    starts_at TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    available INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS appointments (
    id TEXT PRIMARY KEY,
    slot_id TEXT NOT NULL REFERENCES slots(id),
    patient_id TEXT NOT NULL REFERENCES patients(id),
    provider_id TEXT NOT NULL REFERENCES providers(id),
    status TEXT NOT NULL,
    reason TEXT,
    confirmation_number TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
-- At most one live appointment per slot, whatever the callers do.
CREATE UNIQUE INDEX IF NOT EXISTS one_confirmed_per_slot
    ON appointments(slot_id) WHERE status = 'confirmed';
"""

CONFIRMATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def sqlite_path(url: str) -> str:
    """`sqlite:///booking.db` -> `booking.db`; only SQLite URLs are understood."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH")
    return url[len(prefix) :]


def _cursor(rowid: int) -> str:
    return base64.urlsafe_b64encode(str(rowid).encode()).decode()


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError:
        raise ValidationFailed(detail="cursor is not one this service issued") from None


class BookingStore:
    """One SQLite connection, used by one caller at a time."""

    def __init__(self, url: str) -> None:
        self._db = sqlite3.connect(sqlite_path(url), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def one(self, table: str, id: str) -> sqlite3.Row:
        with self.transaction() as db:
            row = db.execute(f"SELECT * FROM {table} WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise NotFound(detail=f"no {table[:-1]} with id {id!r}")
        return row  # type: ignore[no-any-return]

    def page(
        self, table: str, limit: int, cursor: str | None, where: Sequence[tuple[str, Any]] = ()
    ) -> tuple[list[sqlite3.Row], str | None]:
        """Rows in insertion order after the cursor, and the cursor of the next page."""
        clauses = ["rowid > ?", *(clause for clause, value in where if value is not None)]
        values = [_after(cursor), *(value for _, value in where if value is not None)]
        sql = (
            f"SELECT rowid AS _row, * FROM {table} WHERE {' AND '.join(clauses)} "
            "ORDER BY rowid LIMIT ?"
        )
        with self.transaction() as db:
            rows = db.execute(sql, [*values, limit + 1]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, _cursor(rows[-1]["_row"]) if more else None


def _slot(row: sqlite3.Row) -> Slot:
    return Slot.model_validate({**_fields(row), "available": bool(row["available"])})


def _fields(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys() if key != "_row"}  # noqa: SIM118


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Booking:
    """Patients book providers' open slots; a slot is booked at most once."""

    def __init__(self, database_url: str | None = None, *, bus: EventBus | None = None) -> None:
        url = database_url or os.environ.get("BOOKING_DATABASE_URL", "sqlite:///booking.db")
        self.store = BookingStore(url)
        self.events = BookingEvents(bus)

    # -- patients and providers ------------------------------------------------------------

    async def list_patients(
        self, *, principal: Principal, limit: int = 20, cursor: str | None = None
    ) -> PatientPage:
        rows, next_cursor = self.store.page("patients", limit, cursor)
        return PatientPage(items=[Patient(**_fields(r)) for r in rows], next_cursor=next_cursor)

    async def get_patient(self, *, principal: Principal, id: str) -> Patient:
        return Patient(**_fields(self.store.one("patients", id)))

    async def create_patient(self, *, principal: Principal, body: CreatePatientBody) -> Patient:
        patient = Patient(id=uuid.uuid4().hex, **body.model_dump())
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO patients VALUES (?, ?, ?, ?)",
                (patient.id, patient.name, patient.email, patient.phone),
            )
        return patient

    async def list_providers(
        self, *, principal: Principal, limit: int = 20, cursor: str | None = None
    ) -> ProviderPage:
        rows, next_cursor = self.store.page("providers", limit, cursor)
        return ProviderPage(items=[Provider(**_fields(r)) for r in rows], next_cursor=next_cursor)

    async def get_provider(self, *, principal: Principal, id: str) -> Provider:
        return Provider(**_fields(self.store.one("providers", id)))

    async def create_provider(self, *, principal: Principal, body: CreateProviderBody) -> Provider:
        provider = Provider(id=uuid.uuid4().hex, **body.model_dump())
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO providers VALUES (?, ?, ?)",
                (provider.id, provider.name, provider.specialty),
            )
        return provider

    # -- slots ------------------------------------------------------------------------------

    async def list_slots(
        self,
        *,
        principal: Principal,
        limit: int = 20,
        cursor: str | None = None,
        provider_id: str | None = None,
        starts_at_from: datetime | None = None,
        starts_at_to: datetime | None = None,
    ) -> SlotPage:
        where = [
            ("provider_id = ?", provider_id),
            ("starts_at >= ?", starts_at_from and _iso(starts_at_from)),
            ("starts_at <= ?", starts_at_to and _iso(starts_at_to)),
        ]
        rows, next_cursor = self.store.page("slots", limit, cursor, where)
        return SlotPage(items=[_slot(r) for r in rows], next_cursor=next_cursor)

    async def get_slot(self, *, principal: Principal, id: str) -> Slot:
        return _slot(self.store.one("slots", id))

    async def create_slot(self, *, principal: Principal, body: CreateSlotBody) -> Slot:
        try:
            self.store.one("providers", body.provider_id)
        except NotFound:  # a bad reference in the body is invalid input, not a missing resource
            raise ValidationFailed(
                detail=f"no provider with id {body.provider_id!r}",
                errors=[FieldError("body.provider_id", "no provider with this id")],
            ) from None
        slot_id = uuid.uuid4().hex
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO slots VALUES (?, ?, ?, ?, 1)",
                (slot_id, body.provider_id, _iso(body.starts_at), body.duration_minutes),
            )
        return await self.get_slot(principal=principal, id=slot_id)

    async def available_slots(
        self, *, principal: Principal, provider_id: str, date: date
    ) -> list[Slot]:
        start = datetime.combine(date, time.min, tzinfo=UTC)
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT * FROM slots WHERE provider_id = ? AND available = 1"
                " AND starts_at >= ? AND starts_at < ? ORDER BY starts_at, id",
                (provider_id, _iso(start), _iso(start + timedelta(days=1))),
            ).fetchall()
        return [_slot(r) for r in rows]

    # -- appointments -----------------------------------------------------------------------

    async def list_appointments(
        self,
        *,
        principal: Principal,
        limit: int = 20,
        cursor: str | None = None,
        patient_id: str | None = None,
        provider_id: str | None = None,
        status: AppointmentStatus | None = None,
    ) -> AppointmentPage:
        where = [
            ("patient_id = ?", patient_id),
            ("provider_id = ?", provider_id),
            ("status = ?", status and status.value),
        ]
        rows, next_cursor = self.store.page("appointments", limit, cursor, where)
        return AppointmentPage(
            items=[Appointment.model_validate(_fields(r)) for r in rows], next_cursor=next_cursor
        )

    async def get_appointment(self, *, principal: Principal, id: str) -> Appointment:
        return Appointment.model_validate(_fields(self.store.one("appointments", id)))

    async def book_appointment(
        self, *, principal: Principal, body: BookAppointmentBody
    ) -> Appointment:
        self.store.one("patients", body.patient_id)
        appointment_id = uuid.uuid4().hex
        with self.store.transaction() as db:
            slot = db.execute("SELECT * FROM slots WHERE id = ?", (body.slot_id,)).fetchone()
            if slot is None:
                raise NotFound(detail=f"no slot with id {body.slot_id!r}")
            # Taking the slot and recording the booking is one transaction: of many
            # concurrent bookings of one slot, exactly one sees `available = 1`.
            taken = db.execute(
                "UPDATE slots SET available = 0 WHERE id = ? AND available = 1", (body.slot_id,)
            )
            if taken.rowcount != 1:
                raise SlotUnavailable(detail=f"slot {body.slot_id!r} is already booked")
            db.execute(
                "INSERT INTO appointments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    appointment_id,
                    body.slot_id,
                    body.patient_id,
                    slot["provider_id"],
                    AppointmentStatus.confirmed.value,
                    body.reason,
                    "BK-" + "".join(secrets.choice(CONFIRMATION_ALPHABET) for _ in range(6)),
                    _iso(datetime.now(UTC)),
                ),
            )
        return await self.get_appointment(principal=principal, id=appointment_id)

    async def cancel_appointment(
        self, *, principal: Principal, appointment_id: str, body: CancelAppointmentBody
    ) -> Appointment:
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT * FROM appointments WHERE id = ?", (appointment_id,)
            ).fetchone()
            if row is None:
                raise NotFound(detail=f"no appointment with id {appointment_id!r}")
            if row["status"] != AppointmentStatus.confirmed.value:
                raise AppointmentNotCancellable(detail=f"the appointment is {row['status']}")
            db.execute(
                "UPDATE appointments SET status = ?, reason = coalesce(?, reason) WHERE id = ?",
                (AppointmentStatus.cancelled.value, body.reason, appointment_id),
            )
            db.execute("UPDATE slots SET available = 1 WHERE id = ?", (row["slot_id"],))
        await self.events.appointment_status_changed(
            AppointmentStatusChanged(
                appointment_id=appointment_id,
                patient_id=row["patient_id"],
                old_status=AppointmentStatus.confirmed,
                new_status=AppointmentStatus.cancelled,
                changed_at=datetime.now(UTC),
            )
        )
        return await self.get_appointment(principal=principal, id=appointment_id)


def create_service() -> Booking:
    """The service `python -m booking` serves (database from `BOOKING_DATABASE_URL`)."""
    return Booking()
