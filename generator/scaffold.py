"""`apigen new` and `apigen upgrade`: a project from the copier template, kept up to date.

`templates/project/` is a copier template of a whole project: spec, working service, tests,
Makefile, README and CI. `new` renders it (asking questions only on a terminal), writes the
user's spec over the starter one when `--spec` is given, and generates the code.

Copier merges template changes into a project three ways, so it needs the template version
the project came from: apigen keeps every version of the template it has used on this machine
in a git repository under its cache folder (`$APIGEN_CACHE`, default `~/.cache/apigen`), one
tagged commit each (`<apigen version>`, then `.post1`, `.post2`... while it changes within a
version). The project records its tag in `.copier-answers.yml`; `upgrade` merges from there
to the current template, keeping the user's edits (spec, service and its test are the user's
and never touched).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

import click

from .cache import cache_dir
from .names import SNAKE_CASE, Name, reserved_in
from .render.environment import TEMPLATES

PROJECT_TEMPLATE = TEMPLATES / "project"
ANSWERS_FILE = ".copier-answers.yml"
EXIT_BAD_INPUT = 2
# Packages a service imports: a project of the same name would shadow them.
SHADOWED = frozenset(
    [
        "apigen",
        "ariadne",
        "fastapi",
        "google",
        "graphql",
        "grpc",
        "httpx",
        "jwt",
        "pydantic",
        "starlette",
        "tests",
        "uvicorn",
    ]
)
# For the template repository: commits and tags that need no user set-up.
GIT_CONFIG = (
    "user.name=apigen",
    "user.email=apigen@localhost",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
)


def _fail(message: str) -> NoReturn:
    click.secho(message, err=True, fg="red")
    sys.exit(EXIT_BAD_INPUT)


def name_problem(name: str) -> str | None:
    """Why NAME cannot name a project (and its Python package), or None when it can."""
    if not SNAKE_CASE.match(name):
        snake = Name(name).snake
        hint = f"; try '{snake}'" if SNAKE_CASE.match(snake) else ""
        return f"'{name}' is not snake_case (lower-case letters, digits, single underscores){hint}"
    if style := reserved_in(name):
        return f"'{name}' is a reserved word in {style}; choose another name"
    if name in sys.stdlib_module_names or name in SHADOWED:
        return f"'{name}' would hide the Python module of the same name; choose another name"
    return None


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *(f for c in GIT_CONFIG for f in ("-c", c)), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.rstrip()


def template_release() -> tuple[Path, str]:
    """The git repository of the template's versions, with the current one as its tagged tip."""
    repo = cache_dir() / "project-template"
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "--quiet")
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(
        PROJECT_TEMPLATE, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    _git(repo, "add", "--all")
    release = version("apigen")
    if _git(repo, "status", "--porcelain"):
        _git(repo, "commit", "--quiet", "-m", f"apigen {release}")
    elif tags := _git(repo, "tag", "--points-at", "HEAD").split():
        return repo, tags[0]
    taken = set(_git(repo, "tag", "--list").split())
    tag = next(t for n in range(len(taken) + 1) if (t := _tag(release, n)) not in taken)
    _git(repo, "tag", tag)
    return repo, tag


def _tag(release: str, n: int) -> str:
    return f"{release}.post{n}" if n else release


def _generate(project: Path) -> None:
    """`apigen generate` in the new project: contracts, generated package, lock."""
    from .pipeline import generate
    from .writer import apply_plan, write_plan

    generation = generate(project / "apigen.yaml")
    apply_plan(generation.plan, generation.user_files, project)
    write_plan({generation.lock_path.name: generation.lock_text}, generation.lock_path.parent)


@click.command()
@click.argument("name")
@click.option(
    "--spec",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Start from this spec (its `name` must be NAME) instead of the starter one.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the new project (default: ./NAME); it must be new or empty.",
)
@click.option("--title", help="Title of the API (default: from NAME).")
@click.option("--description", help="One sentence on what the service does.")
@click.option("--author", help="Your name, for pyproject.toml.")
@click.option("--defaults", is_flag=True, help="Ask nothing, even on a terminal.")
def new(
    name: str,
    spec: Path | None,
    directory: Path | None,
    title: str | None,
    description: str | None,
    author: str | None,
    defaults: bool,
) -> None:
    """Create the project NAME: spec, working service, tests, Makefile and CI; then generate.

    Without --spec it starts from a small starter spec (task lists and tasks) and a working
    in-memory service; with --spec, from that spec and a service whose every method raises
    NotImplementedError until you write it. Questions are asked only on a terminal.
    """
    from copier import run_copy
    from copier.errors import CopierError

    if problem := name_problem(name):
        raise click.BadParameter(problem, param_hint="NAME")
    target = directory or Path(name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise click.BadParameter(f"{target} already exists and is not empty", param_hint="--dir")
    if spec is not None:
        _check_spec(spec, name)
    answers = {"title": title, "description": description, "author": author}
    data: dict[str, Any] = {"name": name, "starter": spec is None}
    data.update({key: value for key, value in answers.items() if value is not None})
    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not defaults
    repo, tag = template_release()
    try:
        run_copy(str(repo), target, data, vcs_ref=tag, defaults=not interactive, quiet=True)
    except CopierError as error:
        _fail(f"apigen new: {error}")
    if spec is not None:
        shutil.copyfile(spec, target / "apigen.yaml")
        if (lock := spec.with_suffix(".lock")).is_file():
            shutil.copyfile(lock, target / "apigen.lock")
    _generate(target)
    click.echo(f"Created {target} (project template {tag}). Next:")
    click.echo(f"  cd {target}")
    if spec is not None:
        click.echo(f"  $EDITOR src/{name}/service.py   # every method raises NotImplementedError")
    click.echo("  make test    # generate, lint, and run the tests")
    click.echo("  make demo    # serve it: REST and GraphQL on :8000, gRPC on :50051")
    click.echo(
        '  git init && git add -A && git commit -m "apigen new"   # `apigen upgrade` needs it'
    )


def _check_spec(spec: Path, name: str) -> None:
    """Exit 2, naming every problem, unless `spec` is a valid spec named `name`."""
    from .cli import _fail_on_spec_errors
    from .diagnostics import SpecError
    from .spec.loader import load_spec

    try:
        loaded = load_spec(spec)
    except SpecError as error:
        _fail_on_spec_errors(error, "text")
        return
    if loaded.name != name:
        raise click.BadParameter(
            f"{spec} names its API '{loaded.name}', not '{name}': run `apigen new "
            f"{loaded.name} --spec {spec}` (with --dir for another folder) or rename it in the spec",
            param_hint="NAME",
        )


@click.command()
@click.argument(
    "directory", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
def upgrade(directory: Path) -> None:
    """Bring the current project template into the project in DIRECTORY, keeping your edits.

    Template changes (Makefile, CI, README...) are merged with yours through git: the project
    must be a clean git work tree. The spec, service.py and its test are yours and untouched.
    """
    from copier import run_update
    from copier.errors import CopierError
    from ruamel.yaml import YAML

    answers_path = directory / ANSWERS_FILE
    if not answers_path.is_file():
        _fail(f"{directory} was not made by `apigen new`: it has no {ANSWERS_FILE}")
    if subprocess.run(["git", "-C", str(directory), "rev-parse"], capture_output=True).returncode:
        _fail(
            f"{directory} is not in a git repository; `apigen upgrade` merges through git. "
            'Run `git init && git add -A && git commit -m "apigen new"` there first.'
        )
    recorded = YAML(typ="safe").load(answers_path.read_text(encoding="utf-8")) or {}
    repo, tag = template_release()
    if Path(str(recorded.get("_src_path"))) != repo or not _has_tag(repo, recorded.get("_commit")):
        _fail(
            f"{directory} comes from template {recorded.get('_commit')} of "
            f"{recorded.get('_src_path')}, which this machine does not have ({repo}): "
            "apigen cannot tell your edits from the template's without it"
        )
    try:
        run_update(str(directory), vcs_ref=tag, defaults=True, overwrite=True, quiet=True)
    except CopierError as error:
        _fail(f"apigen upgrade: {error}")
    if recorded.get("_commit") == tag:
        click.echo(f"{directory}: already on project template {tag}")
        return
    changed = _git(directory, "status", "--porcelain", "--", ".")
    click.echo(f"Upgraded {directory} from project template {recorded.get('_commit')} to {tag}:")
    click.echo(changed)
    click.echo("Review `git diff`, resolve any conflict (<<<<<<<), run `make test`, commit.")


def _has_tag(repo: Path, tag: object) -> bool:
    return isinstance(tag, str) and bool(_git(repo, "tag", "--list", tag))
