"""The command line, run as users and CI scripts run it: exit codes, messages, files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def apigen(*args: str, cwd: Path, seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(
        [sys.executable, "-m", "apigen", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def project(tmp_path: Path, spec: str = "booking.yaml") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "specs" / spec, tmp_path / "apigen.yaml")
    return tmp_path


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_generate_writes_contracts_and_lock_then_check_passes(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = apigen("generate", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "contracts/openapi.json").is_file()
    assert (root / "contracts/schema.graphql").is_file()
    assert (root / "contracts/proto/booking/v1/booking.proto").is_file()
    assert json.loads((root / "apigen.lock").read_text())["apigen"] == 1
    assert apigen("check", cwd=root).returncode == 0
    again = apigen("generate", cwd=root)
    assert "up to date" in again.stdout


def test_output_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    for spec in ("booking.yaml", "blog.yaml", "inventory.yaml"):
        first, second = project(tmp_path / spec / "a", spec), project(tmp_path / spec / "b", spec)
        assert apigen("generate", cwd=first, seed="1").returncode == 0
        assert apigen("generate", cwd=second, seed="4242").returncode == 0
        assert tree(first) == tree(second), spec


def test_check_fails_on_drift_and_on_a_spec_edit(tmp_path: Path) -> None:
    root = project(tmp_path)
    apigen("generate", cwd=root)
    graphql = root / "contracts/schema.graphql"
    graphql.write_text(graphql.read_text() + "# edited\n")
    result = apigen("check", cwd=root)
    assert result.returncode == 1
    assert "+# edited" not in result.stdout and "-# edited" in result.stdout
    assert "apigen generate" in result.stderr
    assert apigen("generate", cwd=root).returncode == 1  # a hand edit is not overwritten...
    assert apigen("generate", "--force", cwd=root).returncode == 0  # ...unless asked to
    assert apigen("check", cwd=root).returncode == 0
    spec = root / "apigen.yaml"
    spec.write_text(spec.read_text().replace("max: 480", "max: 481"))
    report = apigen("check", "--format", "json", cwd=root)
    assert report.returncode == 1
    drifted = {d["path"] for d in json.loads(report.stdout)["drift"]}
    assert "contracts/openapi.json" in drifted


def test_a_broken_spec_exits_2_with_located_errors_and_writes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path)
    spec = root / "apigen.yaml"
    spec.write_text(spec.read_text().replace("slot: Slot", "slot: Slt"))
    result = apigen("generate", cwd=root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "apigen.yaml:" in result.stderr
    assert "entities.Appointment.fields.slot: unknown type 'Slt'" in result.stderr
    assert "did you mean 'Slot'?" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["apigen.yaml"]
    lint = apigen("lint", "apigen.yaml", "--format", "json", cwd=root)
    assert lint.returncode == 2
    problem = json.loads(lint.stdout)["problems"][0]
    assert problem["path"] == "entities.Appointment.fields.slot" and problem["line"] > 1


def test_missing_spec_is_a_clear_error(tmp_path: Path) -> None:
    result = apigen("lint", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read the spec" in result.stderr and "Traceback" not in result.stderr


def test_schema_publishes_the_spec_format(tmp_path: Path) -> None:
    result = apigen("schema", cwd=tmp_path)
    schema = json.loads(result.stdout)
    assert schema["title"] == "apigen spec"
    assert {"apigen", "name", "version"} <= set(schema["required"])
    assert "entities" in schema["properties"]
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    Draft202012Validator.check_schema(schema)
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        data = YAML(typ="safe").load(spec.read_text())
        errors = list(Draft202012Validator(schema).iter_errors(data))
        assert not errors, (spec.name, errors[:1])
