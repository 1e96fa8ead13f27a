"""The `apigen` command line: a stable interface for people and for CI scripts.

Exit codes: 0 ok, 1 drift (or a breaking change), 2 bad input. Problems go to stderr, one
located line each; `--format json` prints one JSON document on stdout instead.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click

from .diagnostics import SpecError

if TYPE_CHECKING:  # imported when needed: the CLI starts without them
    from .cache import TreeState
    from .pipeline import Generation

EXIT_DRIFT = 1
EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])

spec_argument = click.argument(
    "spec", type=click.Path(path_type=Path, dir_okay=False), default="apigen.yaml", required=False
)
out_option = click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder (default: the spec's folder).",
)
format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def _fail_on_spec_errors(error: SpecError, fmt: str) -> None:
    """Report every problem of a spec and exit 2."""
    if fmt == "json":
        _emit_json({"ok": False, "problems": [d.as_json() for d in error.diagnostics]})
    else:
        for diagnostic in error.diagnostics:
            click.secho(str(diagnostic), err=True, fg="red")
        count = len(error.diagnostics)
        click.echo(f"{count} problem{'s' * (count != 1)}; nothing was written.", err=True)
    sys.exit(EXIT_BAD_INPUT)


class LazyGroup(click.Group):
    """A group whose commands in other modules are imported only when they run, so the
    everyday commands (`check` above all) start fast."""

    lazy: ClassVar[dict[str, str]] = {
        "diff": ".diff_command:diff",
        "new": ".scaffold:new",
        "upgrade": ".scaffold:upgrade",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            command: click.Command = getattr(
                importlib.import_module(module, __package__), attribute
            )
            return command
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="apigen")
def main() -> None:
    """apigen: one domain spec in; contracts, a service and clients out."""


@main.command()
@spec_argument
@out_option
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
def generate(spec: Path, out: Path | None, force: bool) -> None:
    """Generate the contracts and code of SPEC into the output folder.

    Generated files are rewritten; user-owned files (`src/<name>/service.py`) are created once
    and never touched again; a generated file edited by hand stops the run (see --force).
    """
    from .cache import fingerprint, known_in_sync, remember
    from .lock import lock_path
    from .writer import HandEditedError, apply_plan, read_manifest, write_plan

    root = out or spec.parent
    state = known_in_sync(root, fingerprint(spec, lock_path(spec)))
    if state is not None:  # nothing that makes the files changed: skip the pipeline
        click.echo(f"{root}: up to date ({len(read_manifest(root))} files)")
        _remind_missing_methods(root / state.service_module, state.methods)
        return

    from .pipeline import generate as run_pipeline

    try:
        generation = run_pipeline(spec)
    except SpecError as error:
        _fail_on_spec_errors(error, "text")
        return
    state = _tree_state(generation)
    try:
        outcome = apply_plan(generation.plan, generation.user_files, root, force=force)
    except HandEditedError as error:
        for path in error.paths:
            click.secho(f"{root / path}: edited by hand; generating would overwrite it", err=True)
        click.echo(
            "Nothing was written. Move your change into the spec or into "
            f"{state.service_module}, or rerun with --force to overwrite.",
            err=True,
        )
        sys.exit(EXIT_DRIFT)
    lock_dir = generation.lock_path.parent
    lock_changed = write_plan({generation.lock_path.name: generation.lock_text}, lock_dir)
    remember(root, fingerprint(spec, generation.lock_path), state)
    for verb, paths in (
        ("wrote", outcome.written),
        ("created", outcome.created),
        ("removed", outcome.removed),
    ):
        for path in paths:
            click.echo(f"{verb} {root / path}")
    for path in outcome.kept:
        click.echo(f"kept {root / path}: no longer generated, but edited by hand", err=True)
    for path in lock_changed:
        click.echo(f"wrote {lock_dir / path}")
    if not (outcome.written or outcome.created or outcome.removed or lock_changed):
        click.echo(f"{root}: up to date ({len(generation.plan)} files)")
    _remind_missing_methods(root / state.service_module, state.methods)


def _tree_state(generation: Generation) -> TreeState:
    """What the sync cache keeps of a generated tree beside its manifest."""
    from .cache import TreeState
    from .render.user_files import service_methods, service_module

    api = generation.api
    return TreeState(
        tuple(sorted(generation.user_files)), service_module(api), service_methods(api)
    )


def _remind_missing_methods(user_module: Path, methods: dict[str, str]) -> None:
    """Name each method the user's service module does not implement yet."""
    from .render.user_files import missing_methods

    if user_module.is_file():
        for signature in missing_methods(methods, user_module.read_text("utf-8")):
            click.secho(f"{user_module}: add `{signature}`", err=True, fg="yellow")


@main.command()
@spec_argument
@out_option
@format_option
def check(spec: Path, out: Path | None, fmt: str) -> None:
    """Fail (exit 1) when the generated files or the lock differ from what SPEC produces."""
    from .cache import fingerprint, known_in_sync, remember
    from .lock import lock_path

    root = out or spec.parent
    inputs = fingerprint(spec, lock_path(spec))
    if known_in_sync(root, inputs):  # nothing that makes the files changed: skip the pipeline
        _report_sync(root, spec, fmt)
        return

    from .pipeline import generate as run_pipeline
    from .writer import compare_plan

    try:
        generation = run_pipeline(spec)
    except SpecError as error:
        _fail_on_spec_errors(error, fmt)
        return
    drifts = compare_plan(generation.plan, root)
    drifts += compare_plan(
        {generation.lock_path.name: generation.lock_text},
        generation.lock_path.parent,
        manifest=False,
    )
    if not drifts:
        remember(root, inputs, _tree_state(generation))
        _report_sync(root, spec, fmt)
        return
    if fmt == "json":
        found = [{"path": d.path, "reason": d.reason, "diff": d.diff} for d in drifts]
        _emit_json({"ok": False, "drift": found})
    else:
        for drift in drifts:
            click.echo(f"{drift.path}: {drift.reason}")
            click.echo(drift.diff, nl=False)
        click.echo(
            f"{len(drifts)} file(s) out of date: run `apigen generate {spec}"
            + (f" --out {out}`" if out else "`"),
            err=True,
        )
    sys.exit(EXIT_DRIFT)


def _report_sync(root: Path, spec: Path, fmt: str) -> None:
    if fmt == "json":
        _emit_json({"ok": True, "drift": []})
    else:
        click.echo(f"{root}: in sync with {spec}")


@main.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@format_option
def lint(spec: Path, fmt: str) -> None:
    """Check SPEC and report every problem with its place and fix."""
    from .spec.loader import load_spec

    try:
        load_spec(spec)
    except SpecError as error:
        _fail_on_spec_errors(error, fmt)
        return
    if fmt == "json":
        _emit_json({"ok": True, "problems": []})
    else:
        click.echo(f"{spec}: no problems")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors."""
    from .spec.model import Spec

    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://apigen.dev/schema/spec-1.json",
        **Spec.model_json_schema(),
    }
    click.echo(json.dumps(document, indent=2))
