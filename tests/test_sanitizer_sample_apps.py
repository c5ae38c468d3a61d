"""The session sanitizer on every sample pair, in load mode (no barriers):
each unsafe arm shows a finding with one of its expected codes, each safe arm none."""

from __future__ import annotations

import anyio
import pytest

from sanitizer_support import sanitize_arm

# pair -> codes the sanitizer must report (any one of them) on the unsafe arm. The
# sanitizer sees runtime facts, so a pair's code can differ from its lint rule: the
# missing-rollback arm shares one module-level session (SL001) that nobody rolls back.
EXPECTED = {
    "shared-session": {"SL001", "SL002"},
    "leaked-session": {"SL003", "SL004", "SL005"},
    "missing-rollback": {"SL001", "SL002", "SL006"},
    "async-gather": {"SL008"},
    "scoped-async": {"SL009"},
    "background-escape": {"SL010"},
    "engine-per-request": {"SL011"},
    "blocking-in-async": {"SL012"},
    "lost-update": set(),  # the honest control: correct sessions, an isolation bug the sanitizer must not claim
}


PAIRS = list(EXPECTED)


def test_every_scenario_has_an_expectation():
    from sessionlint.harness import scenarios

    assert set(EXPECTED) == set(scenarios.names())


def _run(name: str, arm: str, tmp_path):
    from sessionlint.harness import scenarios

    scenario = scenarios.load(name)
    return anyio.run(sanitize_arm, scenario, arm, f"sqlite:///{tmp_path / 'arm.db'}")


@pytest.mark.parametrize("name", PAIRS)
def test_unsafe_arm_is_flagged(name, tmp_path):
    report = _run(name, "unsafe", tmp_path)
    expected = EXPECTED[name]
    if not expected:
        assert not report.findings, report.sanitizer.render()
        return
    # The primary code of some finding, not just a secondary one: a finding filed under the
    # wrong code must fail here.
    assert report.sanitizer.codes & expected, report.sanitizer.render()
    for group in report.findings:
        assert group.site.filename.endswith(".py") and group.site.line > 0, group.describe()
        assert "sample_apps" in group.site.filename, f"site should be in the app, not the plumbing: {group.site}"


@pytest.mark.parametrize("name", PAIRS)
def test_safe_arm_is_clean(name, tmp_path):
    report = _run(name, "safe", tmp_path)
    assert report.sent > 0 and report.answered == report.sent
    assert not report.findings, report.sanitizer.render()
