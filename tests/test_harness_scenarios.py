"""Every stress scenario, staged, on SQLite and (in make test / CI) PostgreSQL and MariaDB:
the unsafe arm shows its failure on every run, the safe arm shows none and serves everything.

What each unsafe arm must show is the scenario's own ``STAGED_SHOWS``: anomaly classes
(checker.ANOMALY_KINDS) and symptoms (harness.symptoms) that the staged interleaving makes
certain. The two arms of one scenario run concurrently, each in its own process.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")

from helpers import SERVER_URL_VARIABLES, server_database_url  # noqa: E402

from sessionlint.harness import scenarios  # noqa: E402
from sessionlint.harness.checker import ANOMALY_KINDS  # noqa: E402
from sessionlint.harness.report import arm_verdict  # noqa: E402
from sessionlint.harness.runner import ArmOptions, ArmResult, run_arm  # noqa: E402
from sessionlint.harness.symptoms import DETECTORS  # noqa: E402

DATABASES = ["sqlite", *SERVER_URL_VARIABLES]


def describe(result: ArmResult) -> str:
    check = result.check.summary() if result.check is not None else result.check_error
    return (f"{result.scenario}/{result.arm}: {result.status} {result.problem}\n{check}\n"
            f"symptoms: {[s.text for s in result.symptoms]}\nnotes: {(result.child or {}).get('notes')}\n"
            f"{result.stderr_tail[-3000:]}")


def shown(result: ArmResult) -> set[str]:
    found = {name for name, r in result.check.anomalies.items() if r.count}
    return found | {s.name for s in result.symptoms}


def run_both(name: str, database_url: str | None):
    options = [ArmOptions(name, arm, mode="staged", database_url=database_url, rounds=3, duration=30, timeout=90)
               for arm in ("unsafe", "safe")]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(run_arm, options))


def test_every_scenario_declares_what_its_unsafe_arm_shows():
    for name in scenarios.names():
        module = scenarios.load(name)
        assert module.NAME == name
        shows = module.STAGED_SHOWS
        assert shows, name
        for item in shows:
            assert item in ANOMALY_KINDS or item in DETECTORS, f"{name}: unknown {item!r}"
            assert item in ANOMALY_KINDS or item in module.SYMPTOMS, f"{name}: {item!r} not in SYMPTOMS"


@pytest.mark.parametrize("database", DATABASES)
@pytest.mark.parametrize("name", scenarios.names())
def test_staged_unsafe_fails_and_safe_is_clean(name, database):
    url = None if database == "sqlite" else server_database_url(SERVER_URL_VARIABLES[database])
    module = scenarios.load(name)
    unsafe, safe = run_both(name, url)
    families = getattr(module, "ANOMALY_FAMILIES", None)

    assert unsafe.completed and unsafe.check is not None, describe(unsafe)
    missing = set(module.STAGED_SHOWS) - shown(unsafe)
    assert not missing, f"unsafe arm did not show {sorted(missing)}\n" + describe(unsafe)
    verdict = arm_verdict(unsafe, "demo", families)
    assert verdict.passed and verdict.outcome == "fails", verdict.text + "\n" + describe(unsafe)

    assert safe.completed and safe.check is not None, describe(safe)
    assert safe.symptoms == [], describe(safe)
    assert safe.check.anomaly_count(families) == 0, describe(safe)
    assert safe.check.availability == 1.0, describe(safe)
    assert arm_verdict(safe, "demo", families).text == "clean", describe(safe)
    assert (safe.child.get("staging") or {}).get("barrier_timeouts") == [], describe(safe)
