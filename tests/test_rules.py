"""Every rule against its fixture files: `# expect: CODE` marks each line where a
finding must start; every other line must stay quiet (near-misses)."""

import re
from pathlib import Path

import pytest

from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.registry import all_rules

RULE_FIXTURES = Path(__file__).parent / "fixtures" / "rules"
EXPECT = re.compile(r"#.*?expect:\s*(?P<codes>SL\d{3}(?:\s*,\s*SL\d{3})*)")
FILES = sorted(RULE_FIXTURES.glob("SL*.py"))


def expected(path: Path) -> set[tuple[int, str]]:
    out = set()
    for row, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            out |= {(row, code.strip()) for code in match.group("codes").split(",")}
    return out


def lint_file(path: Path, **kwargs):
    request = LintRequest(
        paths=[path],
        root=path.parent,
        selected=frozenset(all_rules()),
        discovery=DiscoveryOptions(root=path.parent),
        **kwargs,
    )
    return lint(request)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixture(path: Path):
    report = lint_file(path)
    assert not report.errors, report.errors
    got = {(f.span.row, f.code) for f in report.findings}
    want = expected(path)
    lines = path.read_text().splitlines()
    missing = sorted(want - got)
    extra = sorted(got - want)
    detail = [f"missing {c} at {r}: {lines[r-1].strip()}" for r, c in missing]
    detail += [f"unexpected {c} at {r}: {lines[r-1].strip()}" for r, c in extra]
    assert not detail, "\n".join(detail)


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_every_rule_has_enough_fixture_cases(code: str):
    """>= 6 positives and >= 6 near-misses per rule (near-misses are counted by
    their `# near-miss` / `# ok` comments)."""
    files = [p for p in FILES if p.stem.split("_")[0] == code]
    assert files, f"no fixture file for {code}"
    positives = sum(1 for p in files for _, c in expected(p) if c == code)
    near = sum(len(re.findall(r"#\s*(?:near-miss|ok)\b", p.read_text(), re.IGNORECASE)) for p in files)
    assert positives >= 6, f"{code}: only {positives} positive cases"
    assert near >= 6, f"{code}: only {near} near-miss cases marked `# near-miss`"
