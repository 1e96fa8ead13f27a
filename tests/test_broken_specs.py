"""The broken-spec corpus: each file is rejected with exactly the diagnostics it expects.

A file states its diagnostics in leading comments, one per line:
`# expect: LINE:COL SPEC.PATH TEXT`, where TEXT is part of the rendered `message; fix`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apigen.diagnostics import SpecError, render_path
from apigen.spec.loader import parse_spec

CORPUS = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<line>\d+):(?P<col>\d+) (?P<path>\S+) (?P<text>.+)$")


def _expected(text: str) -> dict[tuple[int, int, str], str]:
    found = {}
    for line in text.splitlines():
        if match := EXPECT.match(line):
            place = (int(match["line"]), int(match["col"]), match["path"])
            found[place] = match["text"]
    return found


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 32


@pytest.mark.parametrize("spec_file", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_spec_is_reported(spec_file: Path) -> None:
    text = spec_file.read_text(encoding="utf-8")
    expected = _expected(text)
    assert expected, f"{spec_file.name} states no `# expect:` line"

    with pytest.raises(SpecError) as caught:
        parse_spec(text, spec_file.name)
    diagnostics = caught.value.diagnostics

    found = {(d.line, d.column, render_path(d.path)): d for d in diagnostics}
    assert len(found) == len(diagnostics), "two diagnostics at one place"
    assert set(found) == set(expected), "\n".join(str(d) for d in diagnostics)
    for place, diagnostic in found.items():
        assert expected[place] in f"{diagnostic.message}; {diagnostic.fix}", str(diagnostic)
        assert diagnostic.fix
        assert diagnostic.file == spec_file.name

    rendered = str(caught.value)
    assert "Traceback" not in rendered and 'File "' not in rendered
    for line, diagnostic in zip(rendered.splitlines(), diagnostics, strict=True):
        assert line.startswith(f"{spec_file.name}:{diagnostic.line}:{diagnostic.column}: ")
