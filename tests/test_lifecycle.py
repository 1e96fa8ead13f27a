"""Living with generation: user-owned files, hand-edited files, stale files, missing methods."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from apigen.cli import main

from .conftest import ROOT

USER_SERVICE = "src/blog/service.py"
GENERATED = "src/blog/_generated/rest.py"


def run(*args: str, catch_exceptions: bool = True) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=catch_exceptions)


def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "specs" / "blog.yaml", tmp_path / "apigen.yaml")
    assert run("generate", str(tmp_path / "apigen.yaml")).exit_code == 0
    return tmp_path


def test_first_generation_creates_the_service_skeleton_and_a_manifest(tmp_path: Path) -> None:
    root = project(tmp_path)
    skeleton = (root / USER_SERVICE).read_text()
    assert "class Blog:" in skeleton and 'raise NotImplementedError("publish_post")' in skeleton
    assert "def create_service() -> BlogService:" in skeleton
    manifest = json.loads((root / ".apigen/manifest.json").read_text())
    assert GENERATED in manifest["files"] and USER_SERVICE not in manifest["files"]
    assert run("check", str(root / "apigen.yaml")).exit_code == 0


def test_user_code_is_never_overwritten(tmp_path: Path) -> None:
    root = project(tmp_path)
    mine = (root / USER_SERVICE).read_text().replace("raise NotImplementedError", "raise KeyError")
    (root / USER_SERVICE).write_text(mine)
    spec = root / "apigen.yaml"
    spec.write_text(
        spec.read_text().replace(
            "      body: string\n", "      body: string\n      subtitle: string?\n"
        )
    )
    result = run("generate", str(spec))
    assert result.exit_code == 0, result.output
    assert (root / USER_SERVICE).read_text() == mine
    assert "subtitle" in (root / "src/blog/_generated/models.py").read_text()


def test_a_hand_edited_generated_file_stops_generate_and_fails_check(tmp_path: Path) -> None:
    root = project(tmp_path)
    spec = str(root / "apigen.yaml")
    target = root / GENERATED
    original = target.read_text()
    target.write_text(original + "# a quick fix\n")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    refused = run("generate", spec)
    assert refused.exit_code == 1
    assert f"{GENERATED}: edited by hand" in refused.output and "--force" in refused.output
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before

    check = run("check", spec, "--format", "json")
    assert check.exit_code == 1
    assert json.loads(check.output)["drift"][0]["reason"] == "edited by hand"

    target.write_text(original)
    assert run("check", spec).exit_code == 0
    target.write_text(original + "# a quick fix\n")
    assert run("generate", spec, "--force").exit_code == 0
    assert target.read_text() == original


def test_files_no_longer_generated_are_removed_unless_edited(tmp_path: Path) -> None:
    root = project(tmp_path)
    spec = root / "apigen.yaml"
    (root / "src/blog/_generated/auth.py").write_text("# mine now\n")
    spec.write_text(spec.read_text().replace("name: blog", "name: journal"))
    result = run("generate", str(spec))
    assert result.exit_code == 0, result.output
    assert not (root / GENERATED).exists() and (root / "src/journal/_generated/rest.py").exists()
    assert (root / "src/blog/_generated/auth.py").read_text() == "# mine now\n"
    assert "no longer generated, but edited by hand" in result.output
    assert (root / USER_SERVICE).exists()  # user-owned: never removed


def test_new_operations_name_the_methods_to_implement(tmp_path: Path) -> None:
    root = project(tmp_path)
    spec = root / "apigen.yaml"
    spec.write_text(
        spec.read_text().replace(
            "operations:\n  publish_post:",
            "operations:\n  archive_post:\n    kind: command\n    input: {post_id: id}\n"
            "    output: Post\n  publish_post:",
        )
    )
    result = run("generate", str(spec))
    assert result.exit_code == 0, result.output
    assert (
        "add `async def archive_post(self, *, principal: Principal, body: ArchivePostBody)"
        " -> Post`" in result.output
    )


def test_check_fails_when_the_lock_is_out_of_date(tmp_path: Path) -> None:
    root = project(tmp_path)
    lock = root / "apigen.lock"
    lock.write_text(lock.read_text().replace('"title": 3', '"title": 30'))
    result = run("check", str(root / "apigen.yaml"))
    assert result.exit_code == 1 and "apigen.lock" in result.output


def test_check_trusts_its_cache_only_while_nothing_changed(tmp_path: Path) -> None:
    root = project(tmp_path)
    spec = str(root / "apigen.yaml")
    assert run("check", spec).exit_code == 0  # the cache now vouches for the tree
    target = root / GENERATED
    target.write_text(target.read_text() + "# edited\n")
    assert run("check", spec).exit_code == 1  # an edited file is seen despite the cache
    assert run("generate", spec, "--force").exit_code == 0
    assert run("check", spec).exit_code == 0
    (root / "apigen.yaml").write_text(
        (root / "apigen.yaml").read_text().replace("max: 50", "max: 49")
    )
    assert run("check", spec).exit_code == 1  # a spec edit is a new fingerprint


def test_generate_on_an_unchanged_tree_skips_the_pipeline_but_not_its_reminders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path)
    spec = str(root / "apigen.yaml")
    service = root / USER_SERVICE
    source = service.read_text()
    # The skeleton implements every method; leave one out, as a user mid-way would.
    service.write_text(source.replace("async def publish_post(", "async def later_publish_post("))

    def no_pipeline(spec: Path) -> None:
        raise AssertionError("the pipeline ran")

    monkeypatch.setattr("apigen.pipeline.generate", no_pipeline)
    again = run("generate", spec)
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output and "add `async def publish_post(" in again.output

    service.unlink()  # a user-owned file gone: the pipeline runs and creates it again
    with pytest.raises(AssertionError, match="the pipeline ran"):
        run("generate", spec, catch_exceptions=False)
    monkeypatch.undo()
    assert run("generate", spec).exit_code == 0 and service.read_text() == source
