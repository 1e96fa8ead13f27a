"""The events render context: views of the IR's events for the event bus, WebSocket and SSE.

`events_context(api)` is merged into the service render context (key `events`). Who may
subscribe to an event is decided here once, for every event style: the scopes of reading the
entity its key names (`appointment_id` -> `get_appointment`'s scopes), public when that read
is public or the API has no auth, and any valid token when the key names no readable entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ir import Api, Event


@dataclass(frozen=True)
class EventView:
    """One event as the bus, the typed publisher and the realtime adapters see it."""

    event: Event
    scopes: tuple[str, ...]  # needed to subscribe
    public: bool  # subscribing needs no token

    @property
    def type(self) -> str:
        """The spec's name, on the wire everywhere: `appointment.status_changed`."""
        return self.event.type

    @property
    def method(self) -> str:
        """The typed publisher's method: `appointment_status_changed`."""
        return self.event.name.snake

    @property
    def model(self) -> str:
        """The payload model: `AppointmentStatusChanged`."""
        return self.event.message.name.pascal

    @property
    def key(self) -> str:
        """The payload field subscribers filter on."""
        return self.event.key.json_name

    @property
    def docstring(self) -> str:
        return self.event.description or f"Publish `{self.type}`."


def _readers(api: Api) -> dict[str, tuple[tuple[str, ...], bool]]:
    """(scopes, public) of the first read of each entity, by its key (`appointment_id`)."""
    entities = {e.name.raw: e for e in api.entities}
    readers: dict[str, tuple[tuple[str, ...], bool]] = {}
    for op in api.operations:
        if op.kind == "get" and op.entity:
            readers.setdefault(f"{entities[op.entity].name.snake}_id", (op.scopes, op.public))
    return readers


def events_context(api: Api) -> dict[str, Any]:
    """The events entries of the service render context."""
    readers = _readers(api)
    views = [
        EventView(e, *(readers.get(e.key.name.snake, ((), False)) if api.auth else ((), True)))
        for e in api.events
    ]
    return {
        "events": views,
        "event_models": sorted({v.model for v in views}),
        "events_class": f"{api.name.pascal}Events",
        "bus_env": f"{api.name.upper}_EVENT_BUS_URL",
    }
