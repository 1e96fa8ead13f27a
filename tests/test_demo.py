"""`make demo`'s last step: one booking followed through every style, as a user sees it."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_the_demo_follows_one_booking_through_every_style() -> None:
    demo = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "booking" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    delivered = [line.split()[0] for line in lines if line.endswith("confirmed -> cancelled")]
    assert delivered == ["WS", "SSE", "GraphQL", "gRPC", "Webhooks"]
    assert any(line.startswith("REST") and "201 BK-" in line for line in lines)
    assert any("SLOT_UNAVAILABLE" in line for line in lines)
    assert "Traceback" not in demo.stderr
