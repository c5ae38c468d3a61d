"""The linter half of the sample apps' symmetry: every unsafe arm is flagged with
the codes its anti-pattern stands for, every safe arm is clean."""

from pathlib import Path

import pytest

from sessionlint.lint_rules.discovery import DiscoveryOptions
from sessionlint.lint_rules.engine import LintRequest, lint
from sessionlint.lint_rules.registry import all_rules

SAMPLES = Path(__file__).resolve().parent.parent / "sample_apps"

# scenario -> codes the unsafe arm must be flagged with
EXPECTED = {
    "shared_session": {"SL001"},
    "leaked_session": {"SL003", "SL004", "SL005"},
    "missing_rollback": {"SL006"},
    "async_gather": {"SL008"},
    "scoped_async": {"SL009"},
    "background_escape": {"SL010"},
    "engine_per_request": {"SL011"},
    "blocking_in_async": {"SL012"},
    "lost_update": {"SL015"},
}


def lint_dir(path: Path):
    return lint(
        LintRequest(
            paths=[path],
            root=SAMPLES,
            selected=frozenset(all_rules()),
            discovery=DiscoveryOptions(root=SAMPLES),
        )
    )


def test_every_sample_pair_is_in_the_table():
    pairs = {p.parent.name for p in SAMPLES.glob("*/unsafe")}
    assert pairs == set(EXPECTED), "add new sample pairs to EXPECTED"
    for name in pairs:
        assert (SAMPLES / name / "safe").is_dir()


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_unsafe_arm_is_flagged(scenario):
    report = lint_dir(SAMPLES / scenario / "unsafe")
    assert not report.errors
    codes = {f.code for f in report.findings}
    assert EXPECTED[scenario] <= codes, f"{scenario}/unsafe: got {sorted(codes)}"


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_safe_arm_is_clean(scenario):
    report = lint_dir(SAMPLES / scenario / "safe")
    assert not report.errors
    assert report.findings == [], [f"{f.filename}:{f.span.row} {f.code}" for f in report.findings]
