"""The booking demo: start the service on 127.0.0.1 and follow one booking through it.

Run `make demo` from the repository root (or `python examples/booking/demo.py`).
It uses a throw-away SQLite file and a random free port, and stops the server at the end.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from booking._generated.app import create_app
from booking._generated.auth import issue_token
from booking._generated.clients.rest import BookingClient
from booking._generated.errors import ApiError
from booking.service import Booking

SECRET = "demo-secret-that-is-long-enough-for-hs256"
DAY = date(2030, 5, 17)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service = Booking(f"sqlite:///{Path(tmp) / 'booking.db'}")
        port = free_port()
        config = uvicorn.Config(
            create_app(service, secret=SECRET), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        print(f"booking service on {url} (REST under /v1, contract at /openapi.json)")
        try:
            run(url)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def run(url: str) -> None:
    admin = BookingClient(url, token=issue_token("admin", ["admin", "appointments:read"], SECRET))
    provider = admin.create_provider(name="Dr. Grace Hopper", specialty="cardiology")
    start = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC)
    for hour in range(3):
        admin.create_slot(
            provider_id=provider.id, starts_at=start + timedelta(hours=hour), duration_minutes=30
        )
    patient = admin.create_patient(name="Ada Lovelace", email="ada@example.com")

    scopes = ["appointments:read", "appointments:write"]
    rest = BookingClient(url, token=issue_token(patient.id, scopes, SECRET))
    slots = rest.available_slots(provider_id=provider.id, date=DAY)
    print(f"REST  GET  /v1/available-slots          -> {len(slots)} open slots on {DAY}")
    booked = rest.book_appointment(slot_id=slots[0].id, patient_id=patient.id)
    print(
        f"REST  POST /v1/appointments             -> 201 {booked.confirmation_number}"
        f" ({booked.status.value})"
    )
    try:
        rest.book_appointment(slot_id=slots[0].id, patient_id=patient.id)
    except ApiError as error:
        print(f"REST  POST /v1/appointments (again)     -> {error.status} {error.code}")
    cancelled = rest.cancel_appointment(appointment_id=booked.id, reason="demo")
    print(f"REST  POST .../cancellation             -> 200 {cancelled.status.value}")


if __name__ == "__main__":
    main()
