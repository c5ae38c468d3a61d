"""`make bench`: every performance figure of issue 6 in one run, as a markdown table.

    python bench/run.py [--runs 3] [--quick] [--path DIR ...] [--markdown docs/performance.md]

1. sets up the comparison tools (bench/tools.py: ruff and semgrep in
   bench/.venv-tools, Fixit in bench/.venv-fixit; a tool that cannot be installed
   is reported as missing);
2. builds the corpus (bench/corpus.py) and measures sessionlint, ruff, semgrep and
   Fixit on it (bench/lint_compare.py): median wall time of --runs runs and peak
   memory of the process tree (bench/measure.py);
3. measures the harness: the default `sessionlint stress` suite on SQLite (wall),
   the checker on a 1M-event history (bench/checker_throughput.py) and the driver's
   overhead against a bare httpx loop (bench/driver_overhead.py);
4. prints the table and, with --markdown, writes it there.

--quick: one run of each, Fixit on a subset (extrapolated, and marked so), a
single stress scenario, a shorter driver measurement: a fast check, not numbers to
publish. Every subprocess has a timeout; nothing here can hang.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import corpus as corpus_mod  # noqa: E402
import lint_compare  # noqa: E402
import measure  # noqa: E402
import rule_agreement  # noqa: E402
import tools as tools_mod  # noqa: E402

STRESS_TIMEOUT = 900
CHECKER_TIMEOUT = 600
DRIVER_TIMEOUT = 900
QUICK_STRESS = ["shared-session"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- machine ---------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    os_name = platform.platform()
    try:
        os_name = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text()).group(1) + \
            f" (Linux {platform.release()})"
    except (OSError, AttributeError):
        pass
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {"cpu": cpu, "cores": str(os.cpu_count()), "ram": ram, "os": os_name,
            "python": platform.python_version(), "load": load}


def sessionlint_version() -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "sessionlint"), "--version"],
                          capture_output=True, text=True, timeout=60)
    return (done.stdout or done.stderr).strip() or "unknown"


# -- harness figures ---------------------------------------------------------------


def _json_tail(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def stress(quick: bool) -> dict:
    command = [str(Path(sys.executable).parent / "sessionlint"), "stress", "--no-color",
               *(QUICK_STRESS if quick else [])]
    log(f"bench: {' '.join(command[1:])} (the {'quick subset' if quick else 'default suite'} on SQLite) ...")
    run = measure.run_once(command, timeout=STRESS_TIMEOUT, cwd=ROOT)
    verdict = "timed out" if run.timed_out else {0: "expectation held (exit 0)"}.get(
        run.returncode, f"exit {run.returncode}: the demo expectation did not hold or an arm was inconclusive")
    return {"wall": run.wall, "peak_mib": run.peak_kib / 1024, "verdict": verdict,
            "scenarios": "the shared-session scenario" if quick else "all scenarios", "tail": run.output_tail}


def checker(quick: bool) -> dict:
    command = [sys.executable, str(BENCH / "checker_throughput.py"), "--json", "--repeat", "1" if quick else "3"]
    log("bench: checker on a 1M-event history ...")
    run = measure.run_once(command, timeout=CHECKER_TIMEOUT)
    data = _json_tail(run.output_tail) if run.returncode == 0 else None
    if data is None:
        return {"problem": "timed out" if run.timed_out else f"failed: {run.output_tail[-500:]}"}
    return data


def driver(quick: bool) -> dict:
    command = [sys.executable, str(BENCH / "driver_overhead.py"), "--json",
               *(["--requests", "500", "--repeat", "1"] if quick else ["--requests", "2000", "--repeat", "3"])]
    log("bench: driver overhead against a bare httpx loop ...")
    run = measure.run_once(command, timeout=DRIVER_TIMEOUT)
    data = _json_tail(run.output_tail) if run.returncode == 0 else None
    if data is None:
        return {"problem": "timed out" if run.timed_out else f"failed: {run.output_tail[-500:]}"}
    return data


# -- report ----------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a is not None and b else "—"


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def render(args, info: dict, found: dict, corpus: corpus_mod.Corpus, rows, details, agreement, harness) -> str:
    by = {row.key: row for row in rows}
    cold, ruff_all = by["cold"].wall, by.get("ruff_all") and by["ruff_all"].wall
    out = [
        "# Performance",
        "",
        f"Generated by `make bench` (`python bench/run.py{' --quick' if args.quick else ''}`) on "
        f"{dt.date.today().isoformat()}. Targets: issue 6."
        + (" **Quick run: one run each, Fixit extrapolated from a subset; not numbers to publish.**"
           if args.quick else ""),
        "sessionlint, ruff, semgrep and Fixit run on the same files in the same run; the README links here.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores; RAM {info['ram']}; {info['os']}",
        f"- Python {info['python']}; {sessionlint_version()}; "
        + "; ".join(t.version if t.path else f"{name} MISSING ({t.problem})" for name, t in found.items()),
        f"- Load average when the run started: {info['load']} (a shared machine: timings are noisy)",
        "",
        "## Lint",
        "",
        f"Corpus: {', '.join(corpus.sources)} — {corpus.files:,} files, {corpus.lines:,} lines "
        f"(copied to a temporary directory). Wall time: median of {args.runs} run(s) "
        "(Fixit: one run); peak memory: of the whole process tree (see below).",
        "",
        "| command | wall time | peak memory | ÷ ruff --select ALL | ÷ sessionlint cold |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        if row.wall is None:
            out.append(f"| {row.label} | {row.note or 'no result'} | — | — | — |")
            continue
        wall = f"{row.wall:.2f} s" + (" (extrapolated)" if row.scale != 1.0 else "")
        peak = f"{row.result.peak_mib:.0f} MiB" + (" (subset)" if row.scale != 1.0 else "")
        if row.key == "million":  # another corpus: no ratio against this one's runs
            out.append(f"| {row.label} | {wall} | {peak} | — | — |")
            continue
        out.append(f"| {row.label} | {wall} | {peak} | {_ratio(row.wall, ruff_all)} | {_ratio(row.wall, cold)} |")
    notes = [r for r in rows if r.note and r.wall is not None]
    out += [""] + [f"- {r.label}: {r.note}" for r in notes]
    floor = details.get("floor")
    out += [
        f"- \"One changed file\": `{details['changed_file']}` gets a new comment line before each run, "
        "with the rest of the cache warm; the pre-commit row lints that file alone, interpreter start included.",
        *([f"- Floor of both one-file rows on this machine: interpreter start {floor['interpreter']:.2f} s "
           f"+ `import libcst` {floor['libcst']:.2f} s (the rules test LibCST node classes, which are "
           "dataclasses built at import)."] if floor else []),
        "",
        "Ratios (issue 6 targets):",
        "",
        "| ratio | measured | target | |",
        "|---|---|---|---|",
    ]
    semgrep = by.get("semgrep") and by["semgrep"].wall
    fixit = by.get("fixit") and by["fixit"].wall
    out.append(f"| sessionlint cold ÷ ruff --select ALL | {_ratio(cold, ruff_all)} | ≤ 1.0× | "
               f"{_met(None if not (cold and ruff_all) else cold / ruff_all <= 1.0)} |")
    out.append(f"| semgrep ÷ sessionlint cold | {_ratio(semgrep, cold)} | ≥ 2.5× | "
               f"{_met(None if not (cold and semgrep) else semgrep / cold >= 2.5)} |")
    fixit_mark = " (extrapolated)" if by.get("fixit") and by["fixit"].scale != 1.0 else ""
    out.append(f"| Fixit ÷ sessionlint cold | {_ratio(fixit, cold)}{fixit_mark} | ≥ 50× | "
               f"{_met(None if not (cold and fixit) else fixit / cold >= 50)} |")
    for key, target in (("warm", 0.3), ("changed", 0.3), ("one_file", 0.25)):
        wall = by[key].wall
        out.append(f"| {by[key].label} | {wall:.2f} s | ≤ {target} s | {_met(None if wall is None else wall <= target)} |"
                   if wall is not None else f"| {by[key].label} | — | ≤ {target} s | — |")
    million = by.get("million")
    if million is not None and million.result is not None and million.result.ok:
        out.append(f"| {million.label}: peak memory | {million.result.peak_mib:.0f} MiB | "
                   f"≤ 400 MiB on 1 M lines | {_met(million.result.peak_mib <= 400)} |")
    else:
        peak = by["cold"].result.peak_mib if by["cold"].result and by["cold"].result.ok else None
        if peak is not None:
            out.append(f"| sessionlint cold, peak memory ({corpus.lines / 1e6:.2f} M lines) | {peak:.0f} MiB | "
                       f"≤ 400 MiB on 1 M lines | {_met(peak <= 400)} (on this corpus only) |")
    if details.get("funnel"):
        _funnel_rows(out, details["funnel"], by["cold"].wall, ruff_all, info["cores"])
    out += ["", "Agreement of the comparison rules with sessionlint on its rule fixtures "
            "(`python bench/rule_agreement.py`: marked lines the rule also flags / lines it flags unmarked):", ""]
    out += [f"- {line}" for line in agreement] or ["- not measured (tool missing)"]

    out += ["", "## Harness", ""]
    if harness is None:
        out.append("Not measured in this run (`--lint-only`).")
    else:
        _harness_rows(out, harness)
    out += [
        "",
        "## How it is measured",
        "",
        "- `make bench` (or `make bench BENCH_QUICK=1` for a fast subset; `BENCH_RUNS=5`; "
        "`BENCH_PATHS='dir1 dir2'` adds directories to the corpus). The first run creates "
        "`bench/.venv-tools` (ruff, semgrep: `bench/requirements-tools.txt`), `bench/.venv-fixit` "
        "(Fixit pins click<8.2, semgrep click~=8.4, so they cannot share one) and downloads the corpus "
        "wheels into `bench/.corpus` (`bench/requirements-corpus.txt`); a tool that cannot be installed "
        "is reported as missing.",
        "- sessionlint: `sessionlint check --exit-zero --no-respect-gitignore --cache-dir DIR CORPUS` "
        "(cold: the cache directory removed before each run; sessionlint's modules are byte-compiled "
        "first, as a regular `pip install` does). ruff: `ruff check --no-cache --exit-zero` "
        "with and without `--select ALL`. semgrep: `semgrep scan --config bench/semgrep-rules.yml "
        "--metrics=off --disable-version-check` with `SEMGREP_ENABLE_VERSION_CHECK=0` (without them it "
        "waits on the network). Fixit: `fixit --rules sessionlint_bench.close_not_in_finally lint CORPUS` "
        "(the rule is `bench/fixit_rules/`), one run.",
        "- Peak memory is the larger of the biggest single process's high-water mark (`wait4` "
        "`ru_maxrss`, what `/usr/bin/time -f %M` prints) and the sum of PSS over the command's process "
        "group sampled every 50 ms (workers running side by side; shared pages counted once).",
        "- Every command runs with a timeout in its own process group; a timeout is reported, not waited out.",
        "- The harness figures: `sessionlint stress` (all scenarios, both arms, SQLite); "
        "`bench/checker_throughput.py` (a generated 1M-event load-mode history, generation not timed); "
        "`bench/driver_overhead.py` (shared-session safe arm, load mode, in-process ASGITransport, fresh "
        "SQLite per measurement, bare and driver runs alternating).",
    ]
    if corpus.warnings:
        out += ["", "Warnings from this run:", ""] + [f"- {w}" for w in corpus.warnings]
    return "\n".join(out) + "\n"


def start_up_floor(runs: int) -> dict[str, float]:
    """What any run that analyses a file pays before it reads one, on this
    machine: interpreter start, and loading LibCST (its node classes are
    dataclasses, created at import).  Medians of `runs` (at least 5)."""
    def median_wall(code: str) -> float:
        walls = []
        for _ in range(max(runs, 5)):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            walls.append(time.perf_counter() - start)
        return statistics.median(walls)

    interpreter = median_wall("pass")
    return {"interpreter": interpreter, "libcst": median_wall("import libcst") - interpreter}


def run_funnel(dirs: list[Path]) -> dict | None:
    """`bench/screen_funnel.py` in its own process: parsing in this one would grow
    it, and every command forked after would inherit that as its peak memory."""
    done = subprocess.run([sys.executable, str(BENCH / "screen_funnel.py"), *map(str, dirs)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        log(f"bench: WARNING: screen funnel failed: {done.stderr.strip()[-500:]}")
        return None
    return json.loads(done.stdout)


def _funnel_rows(out: list[str], funnel: dict, cold: float | None, ruff_all: float | None, cores: str) -> None:
    """Where the cold time goes (`bench/screen_funnel.py`, one process)."""
    workers = max(int(cores), 1) if str(cores).isdigit() else 1
    out += [
        "",
        "Where sessionlint's cold time goes (`bench/screen_funnel.py`, one process, first screen round):",
        "",
        "| stage | files | lines | CPU time |",
        "|---|---|---|---|",
        f"| corpus | {funnel['files']:,} | {funnel['lines']:,} | |",
        f"| pass the text screen (a token anywhere in the bytes) | {funnel['text_files']:,} | "
        f"{funnel['text_lines']:,} | |",
        f"| pass the identifier screen (CPython `ast`: a token in code, not prose) | {funnel['identifier_files']:,} | "
        f"{funnel['identifier_lines']:,} | {funnel['identifier_seconds']:.2f} s |",
        f"| build LibCST-shaped trees from their `ast` (`ast_tree.py`) | | | {funnel['build_seconds']:.2f} s |",
        f"| whole analysis of those files (screen, tree, model, every rule) | | | {funnel['analyse_seconds']:.2f} s |",
        f"| for comparison: LibCST's own parse of the same files, no rule run | | | {funnel['libcst_seconds']:.2f} s |",
        "",
        f"The whole analysis, split perfectly over {workers} core(s), is {funnel['analyse_seconds'] / workers:.2f} s"
        + (f" against ruff's {ruff_all:.2f} s for its whole run" if ruff_all else "")
        + (f" (sessionlint cold: {cold:.2f} s)" if cold else "")
        + ". LibCST parses only the files with something to report, for positions and fixes.",
    ]


def _harness_rows(out: list[str], harness: dict) -> None:
    out += ["| figure | measured | target | |", "|---|---|---|---|"]
    s = harness["stress"]
    out.append(f"| `sessionlint stress` ({s['scenarios']}, both arms, SQLite), wall | {s['wall']:.1f} s "
               f"({s['verdict']}) | ≤ 30 s | {_met(s['wall'] <= 30 if s['scenarios'] == 'all scenarios' else None)} |")
    c = harness["checker"]
    if "problem" in c:
        out.append(f"| checker, 1M-event history | {c['problem']} | ≤ 5 s | — |")
    else:
        out.append(f"| checker, {c['events']:,}-event history (best of {len(c['runs'])}) | {c['best_wall']:.2f} s "
                   f"wall, {c['events'] / c['best_wall']:,.0f} events/s | ≤ 5 s | {_met(c['best_wall'] <= 5)} |")
    d = harness["driver"]
    if "problem" in d:
        out.append(f"| driver overhead | {d['problem']} | ≤ 10 % | — |")
    else:
        out.append(f"| driver overhead: bare httpx loop {d['bare_rps']:,.0f} req/s vs harness driver "
                   f"{d['driver_rps']:,.0f} req/s ({d['concurrency']} workers, {d['requests']} requests, median of "
                   f"{d['repeat']}) | {d['overhead']:+.1%} | ≤ 10 % | {_met(d['overhead'] <= 0.10)} |")


def compile_project() -> None:
    """Byte-compile sessionlint's own modules, as `pip install` does for a regular install.

    The checkout is installed editable (no .pyc written at install), and with
    PYTHONDONTWRITEBYTECODE set -- as on this machine -- every run would recompile every
    module it imports (~0.1 s), a cost no installed copy of sessionlint (nor ruff, nor the
    tools' own packages, which pip compiled) pays."""
    dirs = [str(ROOT / name) for name in ("sessionlint", "lint_rules", "harness")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=False, timeout=300,
                   stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per lint command (median reported)")
    parser.add_argument("--quick", action="store_true", help="a fast subset (see the module docstring)")
    parser.add_argument("--path", action="append", default=[],
                        help="a directory to add to the corpus (repeatable; may hold several, space- or "
                             f"'{os.pathsep}'-separated)")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    parser.add_argument("--lint-only", action="store_true", help="skip the harness figures")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    extra = [Path(p) for value in args.path for p in re.split(rf"[\s{re.escape(os.pathsep)}]+", value) if p]

    info = machine()
    compile_project()
    found = tools_mod.setup()
    env = dict(tools_mod.tool_env(), PYTHONPATH=str(BENCH / "fixit_rules"))
    agreement = []
    for name, check in (("semgrep", rule_agreement.semgrep), ("fixit", rule_agreement.fixit)):
        if found[name].path is not None:
            try:
                agreement += [f"{name} {a.describe()}" for a in check(found[name].path, env)]
            except Exception as exc:  # reported in the table, the timings still count
                agreement.append(f"{name}: could not be measured ({type(exc).__name__}: {str(exc)[:200]})")
    with tempfile.TemporaryDirectory(prefix="sessionlint-bench-") as tmp:
        corpus = corpus_mod.materialize(Path(tmp) / "corpus", extra)
        if not corpus.dirs:
            log("bench: the corpus is empty (nothing downloadable or installed); nothing to measure")
            return 1
        log(f"bench: corpus: {corpus.files:,} files, {corpus.lines:,} lines ({', '.join(corpus.sources)})")
        log("bench: screen funnel (what each screen lets through, what analysing the rest costs) ...")
        funnel = run_funnel(corpus.dirs)  # before "one changed file" appends to a file
        rows, details = lint_compare.compare(corpus, found, args.runs, args.quick, Path(tmp), log=log)
        details["funnel"] = funnel
        details["floor"] = start_up_floor(args.runs)
    if args.lint_only:
        harness = None
    else:
        harness = {"stress": stress(args.quick), "checker": checker(args.quick), "driver": driver(args.quick)}
    text = render(args, info, found, corpus, rows, details, agreement, harness)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
        log(f"bench: wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
