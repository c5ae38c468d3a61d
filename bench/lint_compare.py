"""Lint wall time and peak memory: sessionlint (cold cache, warm cache, one file)
beside ruff, on the same files, in the same run.

    python bench/lint_compare.py [DIR ...] [--runs 3] [--markdown docs/performance.md]

Without DIRs it copies the installed sources of sqlalchemy, fastapi, starlette and
pydantic into a temporary corpus (copies, so neither tool sees a `.venv` path or
a `.gitignore` that would exclude them).  Each command runs `--runs` times; the
median wall time and the largest peak RSS (from `/usr/bin/time -f %M`, or
`resource` when that is missing) are reported, with ratios to ruff.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = ("sqlalchemy", "fastapi", "starlette", "pydantic")


def build_corpus(target: Path) -> list[Path]:
    dirs = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            print(f"skipping {name}: not installed", file=sys.stderr)
            continue
        source = Path(list(spec.submodule_search_locations)[0])
        shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
        dirs.append(target / name)
    return dirs


def measure(command: list[str], runs: int, before=None) -> tuple[float, int]:
    times, peaks = [], []
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    for _ in range(runs):
        if before is not None:
            before()
        with tempfile.NamedTemporaryFile("r") as stats:
            wrapped = [time_bin, "-f", "%M", "-o", stats.name, *command] if time_bin else command
            start = time.perf_counter()
            subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - start)
            text = stats.read().strip().splitlines()
            peaks.append(int(text[-1]) if text and text[-1].isdigit() else 0)
    return statistics.median(times), max(peaks)


def count_lines(dirs: list[Path]) -> tuple[int, int]:
    files = [p for d in dirs for p in d.rglob("*.py")]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args()

    bindir = Path(sys.executable).parent
    sessionlint = str(bindir / "sessionlint")
    ruff = shutil.which("ruff", path=str(bindir)) or shutil.which("ruff")
    with tempfile.TemporaryDirectory(prefix="sessionlint-bench-") as tmp:
        tmp = Path(tmp)
        dirs = [d.resolve() for d in args.dirs] or build_corpus(tmp / "corpus")
        files, lines = count_lines(dirs)
        cache = tmp / "cache"
        common = ["--exit-zero", "--no-respect-gitignore", "--exclude", "__sessionlint_bench_none__"]
        one_file = str(next(p for d in dirs for p in sorted(d.rglob("*.py")) if p.stat().st_size > 2000))
        rows = []
        cold = [sessionlint, "check", *common, "--cache-dir", str(cache), *map(str, dirs)]
        rows.append(("sessionlint, cold (no cache)", measure(cold, args.runs, before=lambda: shutil.rmtree(cache, ignore_errors=True))))
        subprocess.run(cold, stdout=subprocess.DEVNULL, check=False)
        rows.append(("sessionlint, warm (nothing changed)", measure(cold, args.runs)))
        rows.append(("sessionlint, one file, no cache", measure([sessionlint, "check", "--no-cache", "--exit-zero", one_file], args.runs)))
        if ruff:
            rows.append(("ruff check (default rules), no cache", measure([ruff, "check", "--no-cache", "--exit-zero", "--quiet", *map(str, dirs)], args.runs)))
            rows.append(("ruff check --select ALL, no cache", measure([ruff, "check", "--no-cache", "--exit-zero", "--quiet", "--select", "ALL", *map(str, dirs)], args.runs)))
        baseline = dict(rows).get("ruff check --select ALL, no cache")

    version = subprocess.run([sessionlint, "--version"], capture_output=True, text=True).stdout.strip()
    ruff_version = subprocess.run([ruff, "--version"], capture_output=True, text=True).stdout.strip() if ruff else "ruff not found"
    out = [
        f"Measured {dt.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {version}, {ruff_version}.",
        f"Corpus: {', '.join(d.name for d in dirs)} — {files} files, {lines:,} lines; median of {args.runs} runs.",
        "",
        "| command | wall time | peak memory | vs ruff --select ALL |",
        "|---|---|---|---|",
    ]
    for name, (wall, peak) in rows:
        ratio = f"{wall / baseline[0]:.1f}×" if baseline else "—"
        out.append(f"| {name} | {wall:.2f} s | {peak / 1024:.0f} MiB | {ratio} |")
    text = "\n".join(out) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
