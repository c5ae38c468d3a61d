"""Lint wall time and peak memory: sessionlint (cold, warm, one changed file, one-file
invocation) beside ruff, semgrep and Fixit, on the same files, in the same run.

    python bench/lint_compare.py [DIR ...] [--runs 3] [--quick] [--markdown FILE]

This is the lint half of ``bench/run.py`` (``make bench``), which also measures the
stress harness; the corpus, the tools and the table are the same. Without DIRs the
corpus is the pinned packages of bench/requirements-corpus.txt; DIRs are added to it.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import corpus as corpus_mod  # noqa: E402
import measure  # noqa: E402
import tools as tools_mod  # noqa: E402

SEMGREP_RULES = BENCH / "semgrep-rules.yml"
FIXIT_RULE = "sessionlint_bench.close_not_in_finally"
LINT_TIMEOUT = 600  # seconds for one run of one tool
FIXIT_TIMEOUT = 1200  # Fixit needs ~190 s per million lines on 2 cores
# Quick mode runs Fixit on these packages only and extrapolates by line count.
FIXIT_QUICK_SUBSET = ("fastapi", "starlette", "sqlmodel")


@dataclass
class Row:
    key: str  # stable id used for ratios
    label: str
    result: measure.Measurement | None = None
    note: str = ""  # "missing: ...", "extrapolated ...", errors
    scale: float = 1.0  # wall time multiplier for an extrapolated (subset) run

    @property
    def wall(self) -> float | None:
        if self.result is None or not self.result.ok:
            return None
        return self.result.wall * self.scale


def _pick_changed_file(corpus: corpus_mod.Corpus) -> Path:
    """A mid-sized file that uses sessions, so the changed file really is linted
    (not skipped by sessionlint's screen): the worst case for an incremental run."""
    files = corpus.python_files()
    for path in files:
        text = path.read_text(errors="replace")
        if "Session(" in text and 200 <= text.count("\n") <= 1500:
            return path
    return max(files, key=lambda p: p.stat().st_size)


def compare(corpus: corpus_mod.Corpus, found: dict[str, tools_mod.Tool], runs: int, quick: bool,
            workdir: Path, log=print) -> tuple[list[Row], dict]:
    """Measure every lint command on `corpus`. Returns the rows and run details."""
    sessionlint = str(Path(sys.executable).parent / "sessionlint")
    dirs = [str(d) for d in corpus.dirs]
    cache = workdir / "sessionlint-cache"
    env = tools_mod.tool_env()
    common = ["--exit-zero", "--no-respect-gitignore", "--exclude", "__sessionlint_bench_none__"]
    cold_cmd = [sessionlint, "check", *common, "--cache-dir", str(cache), *dirs]
    changed = _pick_changed_file(corpus)
    edits = iter(range(1, 10_000))

    def drop_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def touch_changed() -> None:
        with changed.open("a") as handle:
            handle.write(f"# bench edit {next(edits)}\n")

    rows: list[Row] = []

    def run(key: str, label: str, command: list[str], *, n: int = runs, before=None, codes=(0,),
            timeout: float = LINT_TIMEOUT, run_env=None, scale: float = 1.0, note: str = "") -> Row:
        log(f"bench: {label} ...")
        row = Row(key, label, note=note, scale=scale)
        try:
            row.result = measure.measure(command, n, timeout=timeout, before=before, env=run_env or env,
                                         expect_codes=codes)
            if row.result.problem:
                row.note = (row.note + "; " if row.note else "") + row.result.problem
        except measure.CommandFailed as exc:
            row.note = f"failed: exit status {exc.run.returncode}"
            log(f"bench: WARNING: {exc}")
        rows.append(row)
        return row

    run("cold", "sessionlint, cold (no cache)", cold_cmd, before=drop_cache)
    measure.run_once(cold_cmd, timeout=LINT_TIMEOUT)  # prime the cache
    run("warm", "sessionlint, warm (nothing changed)", cold_cmd)
    run("changed", "sessionlint, one changed file", cold_cmd, before=touch_changed)
    run("one_file", "sessionlint FILE (pre-commit style, no cache)",
        [sessionlint, "check", "--no-cache", "--exit-zero", str(changed)])

    if not quick:
        # The memory target is per million lines: copies of the corpus until it has them.
        copies = max(1, -(-1_000_000 // max(corpus.lines, 1)))
        million = workdir / "million"
        for index in range(copies):
            for directory in corpus.dirs:
                shutil.copytree(directory, million / f"copy{index}" / directory.name)
        run("million", f"sessionlint, cold, corpus ×{copies} ({corpus.lines * copies / 1e6:.1f} M lines), one run",
            [sessionlint, "check", *common, "--no-cache", str(million)], n=1)
        shutil.rmtree(million, ignore_errors=True)

    ruff = found.get("ruff")
    for key, label, extra in (("ruff_all", "ruff check --select ALL --no-cache", ["--select", "ALL"]),
                              ("ruff", "ruff check (default rules) --no-cache", [])):
        if ruff is None or ruff.path is None:
            rows.append(Row(key, label, note=f"missing: {ruff.problem if ruff else 'not set up'}"))
        else:
            run(key, label, [ruff.path, "check", "--no-cache", "--exit-zero", "--quiet", *extra, *dirs])

    semgrep = found.get("semgrep")
    label = "semgrep, 5 equivalent rules (bench/semgrep-rules.yml)"
    if semgrep is None or semgrep.path is None:
        rows.append(Row("semgrep", label, note=f"missing: {semgrep.problem if semgrep else 'not set up'}"))
    else:
        run("semgrep", label, [semgrep.path, "scan", "--config", str(SEMGREP_RULES), "--metrics=off",
                               "--disable-version-check", "--quiet", "--json", "--output",
                               str(workdir / "semgrep.json"), *dirs], codes=(0, 1))

    fixit = found.get("fixit")
    label = "Fixit, 1 equivalent rule (SL004), one run"
    if fixit is None or fixit.path is None:
        rows.append(Row("fixit", label, note=f"missing: {fixit.problem if fixit else 'not set up'}"))
    else:
        fixit_env = dict(env, PYTHONPATH=str(BENCH / "fixit_rules"))
        targets, scale, note = dirs, 1.0, ""
        if quick:
            subset = [d for d in corpus.dirs if d.name in FIXIT_QUICK_SUBSET]
            if subset:
                lines = sum(p.read_bytes().count(b"\n") for d in subset for p in d.rglob("*.py"))
                targets, scale = [str(d) for d in subset], corpus.lines / max(lines, 1)
                note = (f"extrapolated: ran on {', '.join(d.name for d in subset)} ({lines:,} lines), "
                        f"wall × {scale:.1f} for the whole corpus")
        run("fixit", label, [fixit.path, "--rules", FIXIT_RULE, "lint", *targets], n=1, codes=(0, 1),
            timeout=FIXIT_TIMEOUT, run_env=fixit_env, scale=scale, note=note)

    details = {"changed_file": str(changed.relative_to(changed.parents[len(changed.parents) - 1]))}
    for parent in corpus.dirs:
        if changed.is_relative_to(parent):
            details["changed_file"] = f"{parent.name}/{changed.relative_to(parent)}"
    return rows, details


def main(argv: list[str] | None = None) -> int:
    import run

    args = list(sys.argv[1:] if argv is None else argv)
    paths = [a for a in args if not a.startswith("-") and Path(a).is_dir()]
    rest = [a for a in args if a not in paths]
    return run.main(["--lint-only", *(f"--path={p}" for p in paths), *rest])


if __name__ == "__main__":
    sys.exit(main())
