"""The lock: proto field and enum value numbers, stable across spec edits.

The lock lives next to the spec (`booking.yaml` -> `booking.lock`) and is committed. Building
the IR reads the previous lock and returns the next one:

- a field keeps its number however the spec is reordered;
- a new field gets the next number never used in its message;
- a removed field's number (and name) becomes reserved, so it is never reused;
- a field that comes back under its old name gets its old number back;
- a removed message (or enum) stays in the lock with every number reserved, so one that comes
  back under its old name gets its old numbers back too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCK_FORMAT = 1


def lock_path(spec_path: Path) -> Path:
    """The lock next to a spec, named after it: `specs/booking.yaml` -> `specs/booking.lock`."""
    return spec_path.with_suffix(".lock")


@dataclass(frozen=True)
class LockedNumbers:
    """Numbers of one message's fields (or one enum's values), live and reserved."""

    live: dict[str, int] = field(default_factory=dict)
    reserved: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Lock:
    messages: dict[str, LockedNumbers] = field(default_factory=dict)
    enums: dict[str, LockedNumbers] = field(default_factory=dict)

    @staticmethod
    def parse(text: str) -> Lock:
        """Read a lock file's text; raise ValueError naming what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("apigen") != LOCK_FORMAT:
            raise ValueError(f"not an apigen lock of format {LOCK_FORMAT}")
        return Lock(_parse_group(data.get("messages", {})), _parse_group(data.get("enums", {})))

    def dumps(self) -> str:
        """The lock file's text: sorted, so the same numbers always give the same bytes."""
        data = {
            "apigen": LOCK_FORMAT,
            "messages": _dump_group(self.messages),
            "enums": _dump_group(self.enums),
        }
        return json.dumps(data, indent=2) + "\n"


def _parse_group(raw: Any) -> dict[str, LockedNumbers]:
    if not isinstance(raw, dict):
        raise ValueError("'messages' and 'enums' must be mappings")
    group = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"'{name}' must be a mapping of 'fields' and 'reserved'")
        live, reserved = entry.get("fields", {}), entry.get("reserved", {})
        if not isinstance(live, dict) or not isinstance(reserved, dict):
            raise ValueError(f"'{name}': 'fields' and 'reserved' must map names to numbers")
        numbers = [*live.values(), *reserved.values()]
        if not all(type(n) is int and n > 0 for n in numbers):
            raise ValueError(f"'{name}' has a number that is not a positive whole number")
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"'{name}' uses a number twice")
        group[name] = LockedNumbers(dict(live), dict(reserved))
    return group


def _dump_group(group: dict[str, LockedNumbers]) -> dict[str, Any]:
    return {
        name: {
            "fields": dict(sorted(entry.live.items(), key=lambda item: item[1])),
            "reserved": dict(sorted(entry.reserved.items(), key=lambda item: item[1])),
        }
        for name, entry in sorted(group.items())
    }


def assign_numbers(previous: LockedNumbers | None, names: list[str]) -> LockedNumbers:
    """Number `names` (in spec order) against the previous lock entry of the same message."""
    previous = previous or LockedNumbers()
    live: dict[str, int] = {}
    used = {*previous.live.values(), *previous.reserved.values()}
    for name in names:
        if name in previous.live:
            live[name] = previous.live[name]
        elif name in previous.reserved:
            live[name] = previous.reserved[name]
    next_number = max(used, default=0) + 1
    for name in names:
        if name not in live:
            live[name] = next_number
            next_number += 1
    reserved = {n: num for n, num in previous.reserved.items() if n not in live}
    reserved.update({n: num for n, num in previous.live.items() if n not in live})
    return LockedNumbers(live, reserved)


def with_retired(
    current: dict[str, LockedNumbers], previous: dict[str, LockedNumbers]
) -> dict[str, LockedNumbers]:
    """`current`, plus each entry of `previous` that is gone from it, its numbers all reserved."""
    retired = {n: assign_numbers(e, []) for n, e in previous.items() if n not in current}
    return {**current, **retired}
