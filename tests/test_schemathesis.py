"""schemathesis against the served `/openapi.json` of the reference booking service.

The real service (SQLite, seeded through the generated client) runs on 127.0.0.1; the
schemathesis CLI fuzzes every operation with a token holding every scope, bounded to 25
cases per operation and phase, and must find no server error and no response off the contract.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from .conftest import ROOT
from .render_helpers import importable, serving
from .test_booking_example import SECRET, seed

EXAMPLE = ROOT / "examples" / "booking"
MODULES = {
    "service": "booking.service",
    "app": "booking._generated.app",
    "auth": "booking._generated.auth",
    "rest": "booking._generated.clients.rest",
}
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
)


def test_schemathesis_finds_no_server_error_and_nothing_off_the_contract(tmp_path: Path) -> None:
    with importable(EXAMPLE / "src", "booking"):
        booking = SimpleNamespace(**{k: importlib.import_module(v) for k, v in MODULES.items()})
        service = booking.service.Booking(f"sqlite:///{tmp_path / 'booking.db'}")
        with serving(booking.app.create_app(service, secret=SECRET)) as url:
            seed(booking, url)
            token = booking.auth.issue_token("admin", booking.auth.SCOPES, SECRET)
            output = run_schemathesis(url, token, tmp_path)
    contract = json.loads((EXAMPLE / "contracts" / "openapi.json").read_text(encoding="utf-8"))
    operations = sum(len(methods) for methods in contract["paths"].values())
    tested = re.search(r"Tested:\s+(\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert tested and cases, output
    assert int(tested[1]) == operations, output
    assert int(cases[1]) >= 200 and cases[1] == cases[2], output


def run_schemathesis(url: str, token: str, folder: Path) -> str:
    """The output of the schemathesis CLI run against `url`; fails unless it exits clean."""
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json"),
        *("--header", f"Authorization: Bearer {token}", "--checks", ",".join(CHECKS)),
        *("--max-examples", "25", "--seed", "1", "--generation-database", "none"),
        *("--request-timeout", "10", "--no-color"),
    ]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output
