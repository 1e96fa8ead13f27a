"""`apigen new` and `apigen upgrade`: a scaffolded project installs nothing, and passes its tests.

Each project is scaffolded into a temp folder (never on a terminal, so nothing is asked), then
its own tests and ruff run there with the current interpreter. The template cache
(`APIGEN_CACHE`) lives in the temp folder too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from apigen import scaffold
from apigen.cli import main
from apigen.pipeline import generate

from .conftest import ROOT

COMMANDS = click.Group(commands=[scaffold.new, scaffold.upgrade, main.commands["check"]])
GIT = ("git", "-c", "user.name=Test", "-c", "user.email=test@example.com")


def apigen(*args: str) -> Result:
    return CliRunner().invoke(COMMANDS, list(args))


def scaffolded(root: Path, *args: str) -> Path:
    result = apigen("new", *args, "--dir", str(root))
    assert result.exit_code == 0, result.output
    return root


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def passes_its_own_checks(project: Path) -> None:
    """The project's tests pass with this interpreter, ruff is happy, nothing drifted."""
    tests = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    lint = run(sys.executable, "-m", "ruff", "check", "--no-cache", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout
    check = apigen("check", str(project / "apigen.yaml"))
    assert check.exit_code == 0, check.output


def commit(project: Path, message: str) -> None:
    for command in (("add", "-A"), ("commit", "-q", "-m", message)):
        assert run(*GIT, *command, cwd=project).returncode == 0


@pytest.fixture(autouse=True)
def template_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("APIGEN_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def test_the_starter_project_works_at_once(tmp_path: Path) -> None:
    project = scaffolded(tmp_path / "todo", "todo", "--title", "To Do", "--author", "Ada")
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert {
        "apigen.yaml",
        "apigen.lock",
        "Makefile",
        "README.md",
        "pyproject.toml",
        ".copier-answers.yml",
        ".github/workflows/ci.yml",
        "src/todo/service.py",
        "src/todo/__main__.py",
        "src/todo/_generated/app.py",
        "tests/test_service.py",
        "contracts/openapi.json",
    } <= files
    assert 'title: "To Do"' in (project / "apigen.yaml").read_text()
    assert 'authors = [{ name = "Ada" }]' in (project / "pyproject.toml").read_text()
    assert "class InMemoryTodo:" in (project / "src/todo/service.py").read_text()
    assert "apigen check" in (project / ".github/workflows/ci.yml").read_text()
    passes_its_own_checks(project)


def test_a_given_spec_replaces_the_starter_and_keeps_its_lock(tmp_path: Path) -> None:
    spec = Path(shutil.copy(ROOT / "specs/blog.yaml", tmp_path / "blog.yaml"))
    lock = spec.with_suffix(".lock")
    lock.write_text(generate(spec).lock_text)
    project = scaffolded(tmp_path / "blog", "blog", "--spec", str(spec))
    assert (project / "apigen.yaml").read_text() == spec.read_text()
    assert (project / "apigen.lock").read_text() == lock.read_text()
    assert (
        'raise NotImplementedError("publish_post")' in (project / "src/blog/service.py").read_text()
    )
    assert not (project / "tests/test_service.py").exists()
    assert "starter: false" in (project / ".copier-answers.yml").read_text()
    passes_its_own_checks(project)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "MyShop",
            "'MyShop' is not snake_case (lower-case letters, digits, single underscores); try 'my_shop'",
        ),
        ("my-shop", "try 'my_shop'"),
        ("2shop", "'2shop' is not snake_case"),
        ("class", "'class' is a reserved word in Python"),
        ("message", "'message' is a reserved word in proto"),
        ("json", "'json' would hide the Python module of the same name"),
    ],
)
def test_a_bad_name_exits_2_and_writes_nothing(
    name: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = apigen("new", name)
    assert result.exit_code == 2
    assert message in result.output
    assert not any(tmp_path.iterdir())


def test_bad_input_around_the_name_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    spec = ROOT / "specs/blog.yaml"
    other = apigen("new", "journal", "--spec", str(spec), "--dir", str(tmp_path / "journal"))
    assert other.exit_code == 2 and "names its API 'blog', not 'journal'" in other.output
    broken = ROOT / "tests/broken/10-unknown-field-type.yaml"
    result = apigen("new", "shop", "--spec", str(broken), "--dir", str(tmp_path / "shop"))
    assert result.exit_code == 2 and f"{broken}:" in result.output
    assert not any(tmp_path.iterdir())
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/notes.txt").write_text("mine\n")
    taken = apigen("new", "shop", "--dir", str(tmp_path / "taken"))
    assert taken.exit_code == 2 and "already exists and is not empty" in taken.output
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_upgrade_brings_template_changes_and_keeps_user_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = scaffolded(tmp_path / "acme", "acme")
    not_git = apigen("upgrade", str(project))
    assert not_git.exit_code == 2 and "is not in a git repository" in not_git.output
    assert run(*GIT, "init", "-q", cwd=project).returncode == 0
    commit(project, "apigen new")
    service = project / "src/acme/service.py"
    mine = service.read_text().replace("def new_id() -> str:", "def new_id() -> str:  # mine")
    service.write_text(mine)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("## Two commands", "My notes.\n\n## Two commands"))
    dirty = apigen("upgrade", str(project))
    assert dirty.exit_code == 2 and "dirty" in dirty.output
    commit(project, "my edits")

    template = shutil.copytree(scaffold.PROJECT_TEMPLATE, tmp_path / "template")
    makefile = template / "Makefile.jinja"
    makefile.write_text(makefile.read_text().replace("clean:\n", "distclean: clean\n\nclean:\n", 1))
    starter = template / "src/{{ name }}/{% if starter %}service.py{% endif %}.jinja"
    starter.write_text(starter.read_text() + "# a template change\n")
    monkeypatch.setattr(scaffold, "PROJECT_TEMPLATE", template)
    result = apigen("upgrade", str(project))

    assert result.exit_code == 0, result.output
    assert "Upgraded" in result.output and "M Makefile" in result.output
    assert "distclean: clean" in (project / "Makefile").read_text()
    assert "My notes." in readme.read_text()
    assert service.read_text() == mine
    passes_its_own_checks(project)
    commit(project, "apigen upgrade")
    assert "already on project template" in apigen("upgrade", str(project)).output


def test_upgrade_needs_a_project_made_by_new(tmp_path: Path) -> None:
    result = apigen("upgrade", str(tmp_path))
    assert result.exit_code == 2 and "has no .copier-answers.yml" in result.output


def test_a_day_in_the_life_of_a_project(tmp_path: Path) -> None:
    """Scaffold, evolve the spec, regenerate around the user's code, and let CI catch drift."""
    project = scaffolded(tmp_path / "todo", "todo")
    spec, service = project / "apigen.yaml", project / "src/todo/service.py"
    mine = service.read_text()

    spec.write_text(
        spec.read_text()
        .replace("      due_on: date?\n", "      due_on: date?\n      notes: string?\n")
        .replace(
            "operations:\n  complete_task:",
            "operations:\n  reopen_task:\n    kind: command\n    http: POST /tasks/{task_id}/reopening\n"
            "    input: {task_id: id}\n    output: Task\n    scopes: [tasks:write]\n"
            "  complete_task:",
        )
    )
    result = CliRunner().invoke(main, ["generate", str(spec)])
    assert result.exit_code == 0, result.output
    assert "add `async def reopen_task(self, *, principal: Principal, task_id: str) -> Task`" in (
        result.output
    )
    assert service.read_text() == mine
    assert "notes" in (project / "src/todo/_generated/models.py").read_text()
    tests = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 1  # the project's own tests name what is left to write
    assert "add these async methods to src/todo/service.py: ['reopen_task']" in tests.stdout

    service.write_text(
        mine.replace(
            "\n\ndef create_service()",
            "\n    async def reopen_task(self, *, principal: Principal, task_id: str) -> Task:\n"
            "        task = self.tasks.get(task_id)\n"
            "        return self.tasks.put(\n"
            '            task_id, task.model_copy(update={"status": TaskStatus.open})\n'
            "        )\n\n\ndef create_service()",
        )
    )
    passes_its_own_checks(project)

    generated = project / "src/todo/_generated/rest.py"
    original = generated.read_text()
    generated.write_text(original.replace("def ", "def  ", 1))
    refused = CliRunner().invoke(main, ["generate", str(spec)])
    assert refused.exit_code == 1 and "edited by hand" in refused.output
    assert apigen("check", str(spec)).exit_code == 1
    generated.write_text(original)
    assert apigen("check", str(spec)).exit_code == 0
