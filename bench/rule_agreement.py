"""How closely the comparison rules (semgrep's YAML, Fixit's LibCST rule) agree
with sessionlint, measured on sessionlint's own rule fixtures.

    python bench/rule_agreement.py

Each fixture ``tests/fixtures/rules/SL0NN.py`` marks the lines sessionlint must
flag with ``# expect: SL0NN``. For each rule we count the marked lines the other
tool also flags (found), and the lines it flags that are not marked (extra). The
speed comparison is only fair if these rules do comparable work; the numbers
show how comparable they are, they are not a correctness test of either tool.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rules"
SEMGREP_RULES = {"SL001": "SL001-global-session", "SL003": "SL003-session-not-closed",
                 "SL004": "SL004-close-not-in-finally", "SL008": "SL008-async-session-shared-across-tasks",
                 "SL011": "SL011-engine-per-request"}
FIXIT_RULES = {"SL004": "CloseNotInFinally"}
TIMEOUT = 300


@dataclass
class Agreement:
    rule: str
    expected: int
    found: int
    extra: int

    def describe(self) -> str:
        return f"{self.rule}: {self.found}/{self.expected} found, {self.extra} extra"


def expected_lines(rule: str) -> set[int]:
    marker = re.compile(rf"#.*\bexpect:.*\b{rule}\b")
    text = (FIXTURES / f"{rule}.py").read_text().splitlines()
    return {number for number, line in enumerate(text, 1) if marker.search(line)}


def _compare(rule: str, flagged: set[int]) -> Agreement:
    expected = expected_lines(rule)
    return Agreement(rule, len(expected), len(expected & flagged), len(flagged - expected))


def semgrep(executable: str, env: dict[str, str]) -> list[Agreement]:
    files = [str(FIXTURES / f"{rule}.py") for rule in SEMGREP_RULES]
    done = subprocess.run([executable, "scan", "--config", str(BENCH / "semgrep-rules.yml"), "--metrics=off",
                           "--disable-version-check", "--json", "--quiet", *files],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    report = json.loads(done.stdout)
    if report.get("errors"):
        raise RuntimeError(f"semgrep reported errors: {report['errors'][:2]}")
    out = []
    for rule, check_id in SEMGREP_RULES.items():
        # A finding counts on the line it starts on (semgrep reports ranges).
        flagged = {r["start"]["line"] for r in report["results"]
                   if r["check_id"].endswith(check_id) and Path(r["path"]).name == f"{rule}.py"}
        out.append(_compare(rule, flagged))
    return out


def fixit(executable: str, env: dict[str, str]) -> list[Agreement]:
    out = []
    for rule, name in FIXIT_RULES.items():
        done = subprocess.run([executable, "--rules", f"sessionlint_bench.close_not_in_finally:{name}",
                               "lint", str(FIXTURES / f"{rule}.py")],
                              capture_output=True, text=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL,
                              cwd=FIXTURES)
        flagged = {int(m.group(1)) for m in re.finditer(rf"{rule}\.py@(\d+):\d+ {name}", done.stdout)}
        if done.returncode not in (0, 1) or "Traceback" in done.stderr:
            raise RuntimeError(f"fixit failed (status {done.returncode}): {done.stderr.strip()[-800:]}")
        out.append(_compare(rule, flagged))
    return out


def main() -> int:
    sys.path.insert(0, str(BENCH))
    import tools

    found = tools.setup(install=False)
    env = tools.tool_env()
    env["PYTHONPATH"] = str(BENCH / "fixit_rules")
    for name, check in (("semgrep", semgrep), ("fixit", fixit)):
        if found[name].path is None:
            print(f"{name}: missing ({found[name].problem})")
            continue
        for agreement in check(found[name].path, env):
            print(f"{name} {agreement.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
