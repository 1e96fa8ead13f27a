"""Generation speed and memory: synthetic specs of 10, 100 and 500 entities, and booking.

Each case runs in a fresh interpreter (so imports and peak memory are its own) and reports:
- `contracts`: load + check + resolve + emit the three contracts, in-process, best of 3,
  and the interpreter's peak resident memory by then;
- `full`: the whole pipeline (contracts + the rendered, formatted service package), best of 3;
- `cli`: the whole `apigen generate` command into a new folder, interpreter start included,
  best of 3;
- `unchanged`: the same command run again on an unchanged tree (the pipeline is skipped);
- `peak`: the interpreter's peak resident memory at the end.
Usage: python benchmarks/generate.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MEASURE = """
import json, resource, sys, time
from pathlib import Path
from apigen.pipeline import contract_files, generate, lock_path, read_lock
from apigen.resolve import resolve
from apigen.spec.loader import load_spec
spec = Path(sys.argv[1])

def contracts():
    return contract_files(resolve(load_spec(spec), read_lock(lock_path(spec))))

def best(step):
    times = []
    for _ in range(3):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return min(times), result

contracts_time, _ = best(contracts)
contracts_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
full_time, generation = best(lambda: generate(spec))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"contracts": contracts_time, "contracts_peak_mib": contracts_peak,
                  "pipeline": full_time, "peak_mib": peak,
                  "bytes": sum(len(t) for t in generation.plan.values())}))
"""


def synthetic_spec(entities: int) -> str:
    """A spec of `entities` entities, each with CRUD, a filter, a reference and an enum."""
    lines = [
        "apigen: 1",
        "name: synthetic",
        "version: 1.0.0",
        "auth: {bearer: {scopes: [read, write]}}",
        "enums:",
        "  Level: [low, medium, high]",
        "entities:",
    ]
    for i in range(entities):
        ref = f"      parent: Thing{i - 1}\n" if i else ""
        lines.append(
            f"  Thing{i}:\n"
            "    fields:\n"
            "      id: id\n"
            f"{ref}"
            "      name: {type: string, min_length: 1, max_length: 100}\n"
            "      count: {type: int, min: 0, max: 1000}\n"
            "      level: Level\n"
            "      at: datetime\n"
            "      tags: '[string]'\n"
            "      note: string?\n"
            "    operations: [list, get, create, update, delete]\n"
            "    filters: {level: eq, at: range}\n"
            "    scopes: {read: [read], write: [write]}"
        )
    lines.append("operations:")
    for i in range(0, entities, 10):
        lines.append(
            f"  touch_thing{i}:\n"
            "    kind: command\n"
            f"    input: {{thing{i}_id: id, reason: string?}}\n"
            f"    output: Thing{i}\n"
            "    errors: [not_found]\n"
            "    scopes: [write]"
        )
    lines.append("events:")
    for i in range(0, entities, 10):
        lines.append(
            f"  thing{i}.touched: {{key: thing_id, payload: {{thing_id: id, at: datetime}}}}"
        )
    return "\n".join(lines) + "\n"


def cli_times(spec: Path, out: Path) -> tuple[float, float]:
    """The best of 3 `apigen generate` commands into a new folder each, and the best of 3
    run again on the last one, which is then unchanged (the cache skips the pipeline)."""

    def timed(target: Path) -> float:
        start = time.perf_counter()
        command = [sys.executable, "-m", "apigen", "generate", str(spec), "--out", str(target)]
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - start

    fresh = min(timed(out / f"run{n}") for n in range(3))
    again = min(timed(out / "run2") for _ in range(3))
    return fresh, again


def measure(label: str, spec: Path, out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(spec)], check=True, capture_output=True, text=True
    )
    figures = json.loads(result.stdout)
    cli, again = cli_times(spec, out)
    print(
        f"{label:<13} contracts {figures['contracts'] * 1000:7.1f} ms"
        f" ({figures['contracts_peak_mib']:5.1f} MiB)"
        f"   full {figures['pipeline'] * 1000:7.1f} ms   cli {cli * 1000:7.1f} ms"
        f"   unchanged {again * 1000:6.1f} ms"
        f"   peak {figures['peak_mib']:6.1f} MiB   output {figures['bytes'] / 1024:7.1f} KiB"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in (10, 100, 500):
            spec = work / f"synthetic{size}.yaml"
            spec.write_text(synthetic_spec(size))
            measure(f"{size} entities", spec, work / f"out{size}")
        booking = work / "booking.yaml"
        booking.write_text((ROOT / "specs" / "booking.yaml").read_text())
        measure("booking", booking, work / "booking")


if __name__ == "__main__":
    main()
