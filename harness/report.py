"""Judge and report a stress run: a verdict per arm, an exit code, a terminal table, JSON.

Verdicts (`arm_verdict`):

* **FAILS** -- the checker found anomalies (of the families the scenario is about),
  or one of the scenario's symptoms showed (`symptoms`: 5xx cascades, pool
  exhaustion, connections held at rest, a stalled event loop, ...).
* **clean** -- no anomalies, no symptoms, *and* at least 90 % of requests served as
  intended.
* **inconclusive** -- the arm crashed, timed out, errored, could not be checked, or
  served fewer than 90 % of its requests: "0 anomalies because 99 % failed" is
  never called clean, and an arm that died proves nothing either way.

Expectations: with ``expect="demo"`` an unsafe arm must FAIL and a safe arm be
clean; with ``expect="clean"`` every arm must be clean. `exit_code` is 0 when every
arm met its expectation, else 1 (inconclusive arms never meet one).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

EXIT_OK, EXIT_EXPECTATION_FAILED = 0, 1
AVAILABILITY_THRESHOLD = 0.9
# Rows shown for every scenario; counter anomalies only when a run used counters.
LIST_ANOMALIES = ("aborted_read", "intermediate_read", "lost_write", "aborted_write_persisted",
                  "torn_write", "garbage_read", "duplicate_element")
COUNTER_ANOMALIES = ("lost_update", "counter_overcount")


@dataclass
class ArmVerdict:
    expected: str  # "fails" | "clean"
    outcome: str  # "fails" | "clean" | "inconclusive"
    passed: bool
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"expected": self.expected, "outcome": self.outcome, "passed": self.passed, "text": self.text}


@dataclass
class ScenarioReport:
    name: str
    title: str
    codes: tuple[str, ...]
    expected_failure: str
    arms: list[Any] = field(default_factory=list)  # runner.ArmResult
    verdicts: dict[str, ArmVerdict] = field(default_factory=dict)
    families: tuple[str, ...] | None = None  # anomaly families that count (None: all)


@dataclass
class StressResult:
    expect: str
    mode: str
    seed: int
    scenarios: list[ScenarioReport]

    @property
    def passed(self) -> bool:
        return all(v.passed for s in self.scenarios for v in s.verdicts.values())

    def to_json(self) -> dict[str, Any]:
        from sessionlint import __version__

        return {
            "tool": "sessionlint stress",
            "version": __version__,
            "expect": self.expect,
            "mode": self.mode,
            "seed": self.seed,
            "schedule_reproducible": False,
            "passed": self.passed,
            "exit_code": exit_code(self),
            "scenarios": [
                {
                    "name": s.name,
                    "title": s.title,
                    "codes": list(s.codes),
                    "expected_failure": s.expected_failure,
                    "arms": [dict(arm.to_json(), verdict=s.verdicts[arm.arm].to_json()) for arm in s.arms],
                }
                for s in self.scenarios
            ],
        }


def _families(scenario_module) -> tuple[str, ...] | None:
    return getattr(scenario_module, "ANOMALY_FAMILIES", None)


def found_text(check, families=None) -> str:
    wanted = None if families is None else set(families)
    return ", ".join(
        f"{r.title} ×{r.count:,}" for r in check.anomalies.values()
        if r.count and (wanted is None or r.family in wanted)
    )


def symptoms_text(symptoms) -> str:
    return ", ".join(f"{s.title} ×{s.count:,}" for s in symptoms)


def arm_verdict(arm, expect: str = "demo", families=None) -> ArmVerdict:
    """The verdict for one `runner.ArmResult` under `expect` ("demo" or "clean")."""
    expected = "fails" if expect == "demo" and arm.arm == "unsafe" else "clean"

    def inconclusive(reason: str) -> ArmVerdict:
        return ArmVerdict(expected, "inconclusive", False, f"inconclusive: {reason}")

    if not arm.completed:
        return inconclusive(arm.problem or arm.status)
    check = arm.check
    if check is None:
        return inconclusive(f"the history could not be checked ({arm.check_error or 'no history'})")
    status = check.status_for(families)
    symptoms = list(getattr(arm, "symptoms", None) or ())
    if status == "anomalous" or symptoms:
        found = "; ".join(part for part in (found_text(check, families), symptoms_text(symptoms)) if part)
        if expected == "fails":
            return ArmVerdict(expected, "fails", True, f"FAILS as expected ({found})")
        return ArmVerdict(expected, "fails", False, f"FAILS: {found}")
    final_error = (arm.child or {}).get("final_state_error")
    if final_error:
        return inconclusive(f"the final state could not be read ({final_error})")
    if status == "unknown":
        if not check.ops:
            return inconclusive("no requests were made")
        return inconclusive(
            f"only {_pct(check.availability)} of {check.ops:,} requests served "
            f"(below {_pct(AVAILABILITY_THRESHOLD)}), so 0 anomalies proves nothing"
        )
    if expected == "clean":
        unchecked = getattr(arm, "unchecked", None) or {}
        if unchecked:
            from .symptoms import title_of

            missing = "; ".join(f"{title_of(name)} ({error})" for name, error in unchecked.items())
            return ArmVerdict(expected, "clean", True, f"clean, but not checked: {missing}")
        return ArmVerdict(expected, "clean", True, "clean")
    return ArmVerdict(expected, "clean", False, f"clean, but this arm should show {_expected_failure_of(arm)}")


def _expected_failure_of(arm) -> str:
    try:
        from . import scenarios

        return scenarios.load(arm.scenario).EXPECTED_FAILURE
    except Exception:  # pragma: no cover - the name was valid when the arm ran
        return "its failure"


def build_result(arms: list, *, expect: str = "demo", mode: str = "staged", seed: int = 0) -> StressResult:
    """Group `runner.ArmResult`s by scenario and judge each arm."""
    from . import scenarios

    by_name: dict[str, ScenarioReport] = {}
    for arm in arms:
        report = by_name.get(arm.scenario)
        if report is None:
            module = scenarios.load(arm.scenario)
            report = by_name[arm.scenario] = ScenarioReport(
                arm.scenario, module.TITLE, tuple(module.CODES), module.EXPECTED_FAILURE,
                families=_families(module))
        report.arms.append(arm)
        report.verdicts[arm.arm] = arm_verdict(arm, expect, report.families)
    return StressResult(expect, mode, seed, list(by_name.values()))


def exit_code(result: StressResult) -> int:
    return EXIT_OK if result.passed else EXIT_EXPECTATION_FAILED


def write_json(result: StressResult, path: str) -> None:
    text = json.dumps(result.to_json(), indent=2, default=str) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


# -- terminal ---------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    if x is None:
        return "n/a"
    text = f"{100 * x:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + " %"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _short_error(group) -> str:
    message = group.message
    if len(message) > 60:
        message = message[:59] + "…"
    return f"{group.type} ×{group.count:,}" + (f" ({message})" if message else "")


def scenario_rows(report: ScenarioReport) -> list[tuple[str, list[str]]]:
    """(label, one cell per arm) rows of the side-by-side table."""
    arms = report.arms
    counters = any(a.check is not None and a.check.counters for a in arms)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, cell) -> None:
        rows.append((label, [cell(a) for a in arms]))

    def checked(fn, default="—"):
        return lambda a: fn(a.check) if a.check is not None else default

    row("status", lambda a: a.status if a.completed else (a.problem or a.status))
    row("requests", checked(lambda c: f"{c.ops:,}"))
    row("availability (served)", checked(lambda c: _pct(c.availability)))
    kinds = LIST_ANOMALIES + (COUNTER_ANOMALIES if counters else ())
    for name in kinds:
        title = _title_of(arms, name)
        row(title, checked(lambda c, n=name: _count(c, n)))
    if any(getattr(a, "symptoms", None) for a in arms) or _declares_symptoms(report):
        row("symptoms", lambda a: "\n".join(f"{s.title} ×{s.count:,}" for s in a.symptoms) or "none")
    row("errors (top 3)", checked(lambda c: "\n".join(_short_error(g) for g in c.errors[:3]) or "none"))
    row("latency p50 / p99", lambda a: f"{_ms(a.latency['p50'])} / {_ms(a.latency['p99'])}" if a.latency else "—")
    row("pool checked out at rest", lambda a: str(_probe(a, "pool_checked_out_at_quiescence")))
    row("connects during run", lambda a: str(_probe(a, "connects_during_run")))
    if any((a.child or {}).get("staging") for a in arms):
        row("rounds / barrier timeouts", lambda a: _staging_cell(a))
    row("wall time", lambda a: f"{a.wall_time:.2f} s")
    row("verdict", lambda a: report.verdicts[a.arm].text)
    return rows


def _declares_symptoms(report: ScenarioReport) -> bool:
    try:
        from . import scenarios

        return bool(getattr(scenarios.load(report.name), "SYMPTOMS", ()))
    except Exception:  # pragma: no cover - the name was valid when the arm ran
        return False


def _title_of(arms, name: str) -> str:
    for a in arms:
        if a.check is not None and name in a.check.anomalies:
            return a.check.anomalies[name].title
    return name.replace("_", " ")


def _count(check, name: str) -> str:
    result = check.anomalies.get(name)
    if result is None:
        return "—"
    if not result.checked:
        return "not checked"
    return f"{result.count:,}"


def _probe(arm, name: str):
    value = ((arm.child or {}).get("probes") or {}).get(name)
    return "—" if value is None else value


def _staging_cell(arm) -> str:
    child = arm.child or {}
    staging = child.get("staging")
    driver = child.get("driver") or {}
    if not staging:
        return "—"
    return f"{driver.get('rounds_completed', 0)} / {len(staging.get('barrier_timeouts', []))}"


def witnesses(report: ScenarioReport, per_class: int = 1) -> list[str]:
    """Plain-English witnesses: the first `per_class` per anomaly class per arm."""
    lines = []
    for arm in report.arms:
        if arm.check is None:
            continue
        for result in arm.check.anomalies.values():
            for witness in result.witnesses[:per_class]:
                more = f" (+{result.count - 1:,} more)" if result.count > 1 else ""
                lines.append(f"{arm.arm} · {result.title}{more}: {witness.text}")
        for symptom in getattr(arm, "symptoms", None) or ():
            lines.append(f"{arm.arm} · {symptom.title}: {symptom.text}")
    return lines


def header_lines(result: StressResult, report: ScenarioReport) -> list[str]:
    child = next((a.child for a in report.arms if a.child), {}) or {}
    database = child.get("database") or {}
    versions = child.get("versions") or {}
    config = child.get("config") or {}
    if result.mode == "staged":
        mode = f"staged, {config.get('rounds', '?')} rounds"
    else:
        mode = (f"load, {config.get('requests', '?')} requests, concurrency {config.get('concurrency', '?')}, "
                f"≤{config.get('duration', '?')} s")
    lines = [f"{report.name}: {report.title} ({', '.join(report.codes)}) — {mode}, seed {result.seed}"
             + (" (workload only; thread schedule not reproducible)" if result.mode == "load" else "")]
    if database:
        lines.append(f"database: {database.get('backend')} {database.get('server_version') or ''} "
                     f"via {versions.get('driver', database.get('driver'))} — {database.get('label')}")
    if versions:
        lines.append("versions: " + ", ".join(f"{k} {versions[k]}" for k in
                                              ("fastapi", "starlette", "sqlalchemy", "httpx", "anyio", "python")
                                              if k in versions))
    return lines


def footer_lines(report: ScenarioReport) -> list[str]:
    lines = witnesses(report)
    for arm in report.arms:
        for note in (arm.child or {}).get("notes", [])[:3]:
            lines.append(f"{arm.arm} · note: {note}")
        staging = (arm.child or {}).get("staging") or {}
        for timeout in staging.get("barrier_timeouts", [])[:3]:
            lines.append(f"{arm.arm} · barrier timeout: {timeout}")
        if not arm.completed and arm.stderr_tail:
            tail = [line for line in arm.stderr_tail.strip().splitlines() if line.strip()][-4:]
            lines.append(f"{arm.arm} · last output of the arm's process:")
            lines.extend(f"    {line}" for line in tail)
        if arm.check_error:
            lines.append(f"{arm.arm} · checker error: {arm.check_error}")
    return lines


def summary_line(result: StressResult) -> str:
    total = sum(len(s.verdicts) for s in result.scenarios)
    met = sum(v.passed for s in result.scenarios for v in s.verdicts.values())
    goal = ("every unsafe arm fails and every safe arm is clean" if result.expect == "demo"
            else "every arm is clean")
    state = "OK" if result.passed else "NOT MET"
    return f"expectation ({goal}): {state} — {met}/{total} arms as expected"


def render_terminal(result: StressResult, file=None, color: bool = True) -> None:
    file = sys.stdout if file is None else file
    try:
        from rich.console import Console  # noqa: F401
    except ImportError:
        render_plain(result, file)
        return
    render_rich(result, file, color)


def render_rich(result: StressResult, file, color: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, no_color=not color, highlight=False, soft_wrap=False,
                      width=None if getattr(file, "isatty", lambda: False)() else 120)
    for report in result.scenarios:
        lines = header_lines(result, report)
        table = Table(title=lines[0], title_justify="left", show_lines=False)
        table.add_column("")
        for arm in report.arms:
            table.add_column(f"{arm.arm} arm", overflow="fold")
        for label, cells in scenario_rows(report):
            if label == "verdict":
                styled = []
                for arm, cell in zip(report.arms, cells, strict=True):
                    verdict = report.verdicts[arm.arm]
                    style = "bold green" if verdict.passed else ("bold yellow" if verdict.outcome == "inconclusive" else "bold red")
                    styled.append(f"[{style}]{_escape(cell)}[/]")
                table.add_row(f"[bold]{label}[/]", *styled)
            else:
                table.add_row(label, *[_escape(c) for c in cells])
        console.print(table)
        for line in lines[1:]:
            console.print(_escape(line), style="dim")
        for line in footer_lines(report):
            console.print(_escape(line))
        console.print()
    style = "bold green" if result.passed else "bold red"
    console.print(f"[{style}]{_escape(summary_line(result))}[/]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def render_plain(result: StressResult, file) -> None:
    out = []
    for report in result.scenarios:
        lines = header_lines(result, report)
        out.append(lines[0])
        rows = scenario_rows(report)
        headers = [""] + [f"{arm.arm} arm" for arm in report.arms]
        table = [headers] + [[label] + [c.replace("\n", "; ") for c in cells] for label, cells in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
        for r in table:
            out.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        out.extend(lines[1:])
        out.extend(footer_lines(report))
        out.append("")
    out.append(summary_line(result))
    file.write("\n".join(out) + "\n")
