"""`apigen diff`: the corpus of spec pairs under `tests/diff/`, the rules and the command.

Each `tests/diff/NN-name/` holds `old.yaml`, `new.yaml` (maybe `old.lock`, `new.lock`) and
`expected.json`, the findings as (severity, rule, path), asserted exactly: none missing, none extra.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from apigen.diff import RULES, Side, SpecText, compare, diff_specs, parse_with_source
from apigen.diff_command import diff
from apigen.lock import Lock
from apigen.resolve import resolve

from .conftest import ROOT

CORPUS = sorted(p for p in (ROOT / "tests" / "diff").iterdir() if p.is_dir())


def case_dir(name: str) -> Path:
    """A corpus case by name, whatever its number."""
    return next(p for p in CORPUS if p.name.split("-", 1)[1] == name)


def spec_text(path: Path) -> SpecText:
    lock = path.with_suffix(".lock")
    return SpecText(
        path.read_text(), str(path), Lock.parse(lock.read_text()) if lock.is_file() else None
    )


def expected(case: Path) -> list[tuple[str, str, str]]:
    rows = json.loads((case / "expected.json").read_text())
    return sorted((row["severity"], row["rule"], row["path"]) for row in rows)


@pytest.mark.parametrize("case", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus(case: Path) -> None:
    findings = diff_specs(spec_text(case / "old.yaml"), spec_text(case / "new.yaml"))
    assert sorted((f.severity, f.rule, f.path) for f in findings) == expected(case)
    for finding in findings:
        assert finding.line > 0 and finding.column > 0, finding
        removal = finding.rule.endswith("_NO_DELETE")
        assert Path(finding.file).name == ("old.yaml" if removal else "new.yaml")


def test_corpus_is_large_and_covers_every_rule() -> None:
    assert len(CORPUS) >= 25
    covered = {rule for case in CORPUS for _, rule, _ in expected(case)}
    # RPC and GraphQL names follow the operation's name, so only a changed IR (below) moves them
    assert set(RULES) - covered == {"RPC_SAME_NAME"}


def test_findings_are_located_where_the_change_is_written() -> None:
    case = case_dir("max-length-lowered")
    findings = diff_specs(spec_text(case / "old.yaml"), spec_text(case / "new.yaml"))
    new_lines = (case / "new.yaml").read_text().splitlines()
    for finding in findings:
        assert new_lines[finding.line - 1][finding.column - 1 :].startswith("max_length: 50")
    removed = diff_specs(
        spec_text(case_dir("remove-enum-value") / "old.yaml"),
        spec_text(case_dir("remove-enum-value") / "new.yaml"),
    )
    old_lines = (case_dir("remove-enum-value") / "old.yaml").read_text().splitlines()
    assert old_lines[removed[0].line - 1][removed[0].column - 1 :].startswith("closed]")


def test_binding_renames_are_breaking_for_their_style_only() -> None:
    spec, source = parse_with_source(spec_text(case_dir("unchanged") / "old.yaml"))
    api = resolve(spec)
    op = next(o for o in api.operations if o.name.snake == "close_visit")
    moved = replace(
        op,
        rpc=replace(op.rpc, name="FinishVisit"),
        graphql=replace(op.graphql, field="finishVisit"),
    )
    renamed = replace(api, operations=tuple(moved if o is op else o for o in api.operations))
    findings = compare(Side(api, source), Side(renamed, source))
    assert [(f.rule, f.styles, f.path, f.reason) for f in findings] == [
        (
            "GRAPHQL_SAME_FIELD",
            ("graphql",),
            "operations.close_visit",
            "Mutation.closeVisit -> Mutation.finishVisit",
        ),
        ("RPC_SAME_NAME", ("grpc",), "operations.close_visit", "RPC CloseVisit -> FinishVisit"),
    ]


def test_every_rule_says_what_it_protects() -> None:
    for rule_id, rule in RULES.items():
        assert rule_id == rule.id and rule_id.isupper()
        assert rule.severity in ("breaking", "dangerous", "safe")
        assert rule.purpose.endswith(".") and "\n" not in rule.purpose


# -- the command ----------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(diff, list(args))
    return result.exit_code, result.output


def pair(name: str) -> list[str]:
    return [str(case_dir(name) / "old.yaml"), str(case_dir(name) / "new.yaml")]


def test_exit_codes() -> None:
    assert run(*pair("reorder-fields"))[0] == 0
    assert run(*pair("add-enum-value"))[0] == 0  # dangerous is reported, not failed
    code, output = run(*pair("add-required-entity-field"))
    assert code == 1
    assert (
        "INPUT_FIELD_NO_REQUIRED_ADD" in output and "entities.Patient.fields.birth_date" in output
    )
    assert "acknowledge with --allow" in output


def test_text_table_names_severity_rule_styles_location_and_reason() -> None:
    code, output = run(*pair("rename-field"))
    assert code == 1
    header, first, *_ = output.splitlines()
    assert header.split() == ["SEVERITY", "RULE", "STYLES", "LOCATION", "REASON"]
    assert first.split()[:4] == [
        "breaking",
        "FIELD_NO_DELETE",
        "rest,graphql,grpc",
        f"{case_dir('rename-field')}/old.yaml:22:7",
    ]
    assert "1 breaking, 0 dangerous, 2 safe" in output
    assert run(*pair("unchanged"))[1] == "no changes that clients can see\n"


@pytest.mark.parametrize(
    "allowed",
    [
        ["FIELD_NO_DELETE"],
        ["entities.Visit.fields.reason"],
        ["entities.Visit"],
        ["FIELD_NO_DELETE:entities.Visit.fields.reason"],
    ],
)
def test_allow_acknowledges_a_listed_change(allowed: list[str]) -> None:
    args = [arg for value in allowed for arg in ("--allow", value)]
    code, output = run(*pair("rename-field"), *args)
    assert code == 0, output
    assert "breaking (allowed)" in output


def test_allow_must_match() -> None:
    for value in ("ENUM_VALUE_NO_DELETE", "entities.Vis", "ENUM_VALUE_NO_DELETE:entities.Visit"):
        assert run(*pair("rename-field"), "--allow", value)[0] == 1
    # two breaking changes, one allowed
    assert run(*pair("query-to-command"), "--allow", "HTTP_SAME_ROUTE")[0] == 1


def test_json_output_for_ci() -> None:
    code, output = run(*pair("optional-to-required"), "--format", "json")
    document = json.loads(output)
    assert code == 1 and document["ok"] is False
    assert [(f["rule"], f["severity"], f["allowed"]) for f in document["findings"]] == [
        ("INPUT_FIELD_STAYS_OPTIONAL", "breaking", False),
        ("OUTPUT_FIELD_NOW_REQUIRED", "safe", False),
    ]
    first = document["findings"][0]
    assert first["styles"] == ["rest", "graphql", "grpc"]
    assert first["path"] == "entities.Patient.fields.email"
    assert (first["file"], first["line"]) == (document["new"], 13)
    code, output = run(
        *pair("optional-to-required"),
        "--format",
        "json",
        "--allow",
        "INPUT_FIELD_STAYS_OPTIONAL",
    )
    assert code == 0 and json.loads(output)["findings"][0]["allowed"] is True


def test_a_bad_spec_is_exit_2_with_located_errors(tmp_path: Path) -> None:
    bad = tmp_path / "new.yaml"
    bad.write_text(
        (case_dir("unchanged") / "new.yaml")
        .read_text()
        .replace("patient: Patient", "patient: Patiant")
    )
    code, output = run(str(case_dir("unchanged") / "old.yaml"), str(bad))
    assert code == 2
    assert f"{bad}:20:" in output and "did you mean 'Patient'?" in output
    code, output = run(str(case_dir("unchanged") / "old.yaml"), str(bad), "--format", "json")
    assert (
        code == 2 and json.loads(output)["problems"][0]["path"] == "entities.Visit.fields.patient"
    )
    assert run(str(tmp_path / "missing.yaml"), str(case_dir("unchanged") / "new.yaml"))[0] == 2


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_ref_compares_the_committed_spec_with_the_working_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git("init", "-q", "-b", "main", cwd=tmp_path)
    git("config", "user.email", "ci@example.com", cwd=tmp_path)
    git("config", "user.name", "CI", cwd=tmp_path)
    case = case_dir("proto-number-reuse")
    shutil.copy(case / "old.yaml", tmp_path / "apigen.yaml")
    shutil.copy(case / "old.lock", tmp_path / "apigen.lock")
    git("add", ".", cwd=tmp_path)
    git("commit", "-q", "-m", "v1", cwd=tmp_path)
    shutil.copy(case / "new.yaml", tmp_path / "apigen.yaml")
    shutil.copy(case / "new.lock", tmp_path / "apigen.lock")
    monkeypatch.chdir(tmp_path)

    code, output = run("main", "--format", "json")
    document = json.loads(output)
    assert code == 1 and document["old"] == "main:apigen.yaml"
    rules = sorted((f["rule"], f["path"]) for f in document["findings"])
    assert rules == sorted((r, p) for _, r, p in expected(case))
    assert run("HEAD", "apigen.yaml")[0] == 1
    assert run("main", "--allow", "FIELD_NO_DELETE", "--allow", "PROTO_NUMBER_NO_REUSE")[0] == 0

    code, output = run("no-such-ref")
    assert code == 2 and "neither a spec file nor a git ref" in output
    assert "shallow" not in output


def test_a_ref_missing_from_a_shallow_clone_says_to_fetch_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    origin.mkdir()
    git("init", "-q", "-b", "main", cwd=origin)
    git("config", "user.email", "ci@example.com", cwd=origin)
    git("config", "user.name", "CI", cwd=origin)
    shutil.copy(case_dir("unchanged") / "old.yaml", origin / "apigen.yaml")
    for version in ("v1", "v2"):
        (origin / "notes.txt").write_text(version)
        git("add", ".", cwd=origin)
        git("commit", "-q", "-m", version, cwd=origin)
    git("clone", "-q", "--depth", "1", origin.as_uri(), str(clone), cwd=tmp_path)
    monkeypatch.chdir(clone)

    code, output = run("HEAD~1")
    assert code == 2 and "this clone is shallow" in output and "--unshallow" in output
    code, output = run("HEAD")  # what the clone has is found as before
    assert code == 0
