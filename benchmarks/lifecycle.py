"""Lifecycle commands' speed: `apigen diff` on two 500-entity specs, `apigen check` on booking.

Each command runs as a user runs it, in a fresh interpreter (start-up and imports included);
the figure is the best of 3 wall times. Targets: `check` on the unchanged booking example
under 0.3 s. Usage: python benchmarks/lifecycle.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import synthetic_spec

ROOT = Path(__file__).resolve().parent.parent
# `apigen diff` as a command object until the CLI registers it
DIFF = "import sys; from apigen.diff_command import diff; diff(sys.argv[1:])"

# A few edits, one of each kind: a removed field, a tightened constraint, a new enum value,
# a new required input field and a new operation.
EDITS = (
    (
        "      note: string?\n    operations: [list, get, create, update, delete]\n    filters"
        ": {level: eq, at: range}\n    scopes: {read: [read], write: [write]}\n  Thing1:",
        "    operations: [list, get, create, update, delete]\n    filters"
        ": {level: eq, at: range}\n    scopes: {read: [read], write: [write]}\n  Thing1:",
    ),
    (
        "  Thing250:\n    fields:\n      id: id\n      parent: Thing249\n"
        "      name: {type: string, min_length: 1, max_length: 100}",
        "  Thing250:\n    fields:\n      id: id\n      parent: Thing249\n"
        "      name: {type: string, min_length: 1, max_length: 50}",
    ),
    ("  Level: [low, medium, high]", "  Level: [low, medium, high, critical]"),
    ("input: {thing490_id: id, reason: string?}", "input: {thing490_id: id, reason: string}"),
    (
        "operations:\n",
        "operations:\n  ping:\n    kind: query\n    output: Thing0\n    scopes: [read]\n",
    ),
)


def edited(spec: str) -> str:
    for old, new in EDITS:
        assert spec.count(old) == 1, old
        spec = spec.replace(old, new)
    return spec


def best_of_3(args: list[str]) -> tuple[float, int]:
    """The best wall time of a command, and its exit code."""
    times, code = [], 0
    for _ in range(3):
        start = time.perf_counter()
        code = subprocess.run(args, cwd=ROOT, capture_output=True).returncode
        times.append(time.perf_counter() - start)
    return min(times), code


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old.yaml", Path(tmp) / "new.yaml"
        old.write_text(synthetic_spec(500))
        new.write_text(edited(synthetic_spec(500)))
        seconds, code = best_of_3([sys.executable, "-c", DIFF, str(old), str(new)])
        print(f"apigen diff (500 entities, 5 edits)        {seconds * 1000:7.1f} ms   exit {code}")
    seconds, code = best_of_3(
        [sys.executable, "-m", "apigen", "check", "specs/booking.yaml", "--out", "examples/booking"]
    )
    print(
        f"apigen check specs/booking.yaml (unchanged) {seconds * 1000:7.1f} ms   exit {code}"
        "   (target < 300 ms)"
    )


if __name__ == "__main__":
    main()
