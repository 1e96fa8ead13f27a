"""`apigen diff OLD [NEW]`: classify every change between two specs; exit 1 on a breaking one.

OLD is a spec file or a git ref (`apigen diff main`: NEW as committed at `main`, with its lock
at that ref). NEW defaults to `apigen.yaml`. `--allow` acknowledges a breaking change by rule id
(`FIELD_NO_DELETE`), by spec path (`entities.Slot.fields.notes`, or a path above it) or both
(`FIELD_NO_DELETE:entities.Slot.fields.notes`). Exit codes: 0 ok, 1 an unacknowledged
breaking change, 2 bad input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from .diagnostics import Diagnostic, SpecError
from .diff import RULES, Finding, SpecText, diff_specs
from .lock import Lock, lock_path
from .pipeline import read_lock
from .spec.loader import read_spec_text

EXIT_BREAKING = 1
EXIT_BAD_INPUT = 2
_COLOURS = {"breaking": "red", "dangerous": "yellow", "safe": "green"}


@click.command("diff")
@click.argument("old")
@click.argument(
    "new", type=click.Path(path_type=Path, dir_okay=False), default="apigen.yaml", required=False
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--allow",
    "allowed",
    multiple=True,
    metavar="RULE_OR_PATH",
    help="Acknowledge breaking changes by rule id, spec path, or RULE:path. Repeatable.",
)
def diff(old: str, new: Path, fmt: str, allowed: tuple[str, ...]) -> None:
    """Classify every change from OLD (a spec file or a git ref) to NEW as breaking, dangerous
    or safe, per API style; exit 1 on a breaking change that is not allowed."""
    try:
        new_side = _read_file(new)
        old_side = _read_file(Path(old)) if Path(old).is_file() else _read_git(old, new)
        findings = diff_specs(old_side, new_side)
    except SpecError as error:
        _report_bad_input(error, fmt)
        return
    blocking = [f for f in findings if f.severity == "breaking" and not _allows(allowed, f)]
    if fmt == "json":
        document = {
            "ok": not blocking,
            "old": old_side.file,
            "new": new_side.file,
            "findings": [
                {**f.as_json(), "allowed": f.severity == "breaking" and f not in blocking}
                for f in findings
            ],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        _print_table(findings, blocking)
    sys.exit(EXIT_BREAKING if blocking else 0)


def _allows(allowed: tuple[str, ...], finding: Finding) -> bool:
    for entry in allowed:
        rule, _, path = entry.partition(":")
        if rule not in RULES or not path:
            rule, path = "", entry
        if rule and rule != finding.rule:
            continue
        if path in (finding.rule, finding.path) or finding.path.startswith(path + "."):
            return True
    return False


def _read_file(path: Path) -> SpecText:
    text = read_spec_text(path, fix="pass a spec file, or a git ref as OLD")
    lock = lock_path(path)
    return SpecText(text, str(path), read_lock(lock) if lock.is_file() else None)


def _read_git(ref: str, spec: Path) -> SpecText:
    """NEW's spec (and lock) as committed at `ref`."""
    text = _git_show(ref, spec)
    if text is None:
        raise SpecError(
            [
                Diagnostic(
                    "unreadable",
                    (),
                    f"'{ref}' is neither a spec file nor a git ref that has {spec}",
                    "pass the old spec's file, or a ref such as `main` or `HEAD~1`"
                    + (
                        "; this clone is shallow (as CI checkouts often are): fetch the"
                        " history first (`git fetch --unshallow`, or `fetch-depth: 0` in CI)"
                        if _is_shallow(spec)
                        else ""
                    ),
                    ref,
                )
            ]
        )
    lock_file = lock_path(spec)
    lock_text = _git_show(ref, lock_file)
    if lock_text is None:
        return SpecText(text, f"{ref}:{spec}")
    try:
        return SpecText(text, f"{ref}:{spec}", Lock.parse(lock_text))
    except ValueError as error:
        raise SpecError(
            [
                Diagnostic(
                    "bad-lock",
                    (),
                    f"the lock file is not valid ({error})",
                    "fix the lock at that ref, or compare against another ref",
                    f"{ref}:{lock_file}",
                    1,
                    1,
                )
            ]
        ) from None


def _is_shallow(path: Path) -> bool:
    """Whether the git clone around `path` lacks history (as CI checkouts often do)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent.resolve()), "rev-parse", "--is-shallow-repository"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return False
    return result.stdout.strip() == "true"


def _git_show(ref: str, path: Path) -> str | None:
    """A file's text at a ref (the path relative to the current folder), or None."""
    folder = path.parent.resolve()
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), "show", f"{ref}:./{path.name}"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return result.stdout if result.returncode == 0 else None


def _report_bad_input(error: SpecError, fmt: str) -> None:
    if fmt == "json":
        problems = [d.as_json() for d in error.diagnostics]
        click.echo(json.dumps({"ok": False, "problems": problems}, indent=2))
    else:
        for diagnostic in error.diagnostics:
            click.secho(str(diagnostic), err=True, fg="red")
    sys.exit(EXIT_BAD_INPUT)


def _print_table(findings: list[Finding], blocking: list[Finding]) -> None:
    if not findings:
        click.echo("no changes that clients can see")
        return
    rows = [
        (
            f.severity + ("" if f.severity != "breaking" or f in blocking else " (allowed)"),
            f.rule,
            "all" if len(f.styles) == 4 else ",".join(f.styles),
            f"{f.location} {f.path}",
            f.reason,
        )
        for f in findings
    ]
    header = ("SEVERITY", "RULE", "STYLES", "LOCATION", "REASON")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    for finding, row in [(None, header), *zip(findings, rows, strict=True)]:
        cells = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
        click.secho(f"{cells}  {row[4]}", fg=_COLOURS[finding.severity] if finding else None)
    counts = {s: sum(f.severity == s for f in findings) for s in _COLOURS}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if blocking:
        rules = sorted({f.rule for f in blocking})
        click.echo(
            f"{summary}: {len(blocking)} breaking change(s) not allowed"
            f" ({', '.join(rules)}); acknowledge with --allow RULE_OR_PATH",
            err=True,
        )
    else:
        click.echo(summary)
