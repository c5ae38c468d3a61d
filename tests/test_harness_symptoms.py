"""Symptom detectors on planted evidence: each fires on its invariant's violation, and only then."""

from __future__ import annotations

import pytest

from sessionlint.harness.checker import check
from sessionlint.harness.history import History
from sessionlint.harness.symptoms import DETECTORS, Evidence, detect, session_identity_overlaps


def history_of(outcomes):
    """outcomes: (f, status or None, error, value) per request, run one after another."""
    history = History()
    for i, (f, status, error, value) in enumerate(outcomes):
        request = history.invoke(f, key="items" if f == "read" else None, process=i)
        history.complete(request, status=status, error=error, value=value)
    return history


def evidence(outcomes=(), probes=None, **kw):
    return Evidence(check(history_of(outcomes), None), probes or {}, **kw)


def names(found):
    return [s.name for s in found]


def test_clean_run_shows_no_symptom():
    ev = evidence([("read", 200, None, []), ("health", 200, None, None)],
                  {"pool_checked_out_at_quiescence": 0, "pool_capacity": 5, "connects_during_run": 5,
                   "idle_in_transaction": 0})
    assert detect(DETECTORS, ev) == []


def test_server_errors_count_5xx_and_unanswered_but_not_4xx():
    ev = evidence([("read", 500, "PendingRollbackError: This Session's transaction has been rolled back", None),
                   ("read", 500, "PendingRollbackError: This Session's transaction has been rolled back", None),
                   ("read", None, "RequestTimeout: no response within 10 s", None),
                   ("reject", 409, "HTTPException: 409 rejected", None)])
    (symptom,) = detect(["server_errors"], ev)
    assert symptom.count == 3
    assert symptom.text.startswith("2 × PendingRollbackError") and "1 other kind" in symptom.text
    assert detect(["server_errors"], evidence([("reject", 409, "HTTPException: 409 rejected", None)])) == []


def test_pool_timeouts_match_queuepool_message_only():
    text = "TimeoutError: QueuePool limit of size 3 overflow 0 reached, connection timed out, timeout 1.00"
    (symptom,) = detect(["pool_timeouts"], evidence([("read", 500, text, None), ("read", 500, "ValueError: x", None)]))
    assert symptom.count == 1 and "QueuePool limit" in symptom.text
    assert detect(["pool_timeouts"], evidence([("read", 500, "ValueError: x", None)])) == []
    network = "OperationalError: connection to server at 127.0.0.1, port 5432 failed: connection timed out"
    assert detect(["pool_timeouts"], evidence([("read", 500, network, None)])) == []


@pytest.mark.parametrize(("probes", "fires"), [
    ({"pool_checked_out_at_quiescence": 2, "pool_capacity": 3}, True),
    ({"pool_checked_out_at_quiescence": 0, "pool_capacity": 3}, False),
    ({}, False),
])
def test_held_connections(probes, fires):
    found = detect(["held_connections"], evidence(probes=probes))
    assert names(found) == (["held_connections"] if fires else [])
    if fires:
        assert found[0].count == 2 and "2 of 3" in found[0].text


@pytest.mark.parametrize(("connects", "capacity", "excess"), [(40, 5, 35), (5, 5, 0), (3, 5, 0), (9, None, 0)])
def test_excess_connects(connects, capacity, excess):
    probes = {"connects_during_run": connects}
    if capacity is not None:
        probes["pool_capacity"] = capacity
    found = detect(["excess_connects"], evidence(probes=probes))
    assert sum(s.count for s in found) == excess


def test_slow_unrelated_route_uses_the_scenarios_limit():
    history = History()
    for latency in (0.01, 0.02, 0.9):
        request = history.invoke("health", process=0)
        history.complete(request, status=200, latency=latency)
    result = check(history, None)
    assert names(detect(["slow_unrelated"], Evidence(result, {}, unrelated_p99_limit=0.3))) == ["slow_unrelated"]
    assert detect(["slow_unrelated"], Evidence(result, {}, unrelated_p99_limit=1.0)) == []


def test_idle_in_transaction():
    found = detect(["idle_in_transaction"], evidence(probes={"idle_in_transaction": 2,
                                                             "idle_in_transaction_source": "pg_stat_activity"}))
    assert found[0].count == 2 and "pg_stat_activity" in found[0].text


def test_session_identity_overlaps_needs_overlap_in_time():
    history = History()
    a = history.invoke("whoami", process=0)
    b = history.invoke("whoami", process=1)  # in flight together with a
    history.complete(a, status=200, value=7)
    history.complete(b, status=200, value=7)
    c = history.invoke("whoami", process=0)  # after both: reusing identity 7 is fine (a pool)
    history.complete(c, status=200, value=7)
    d = history.invoke("whoami", process=2)
    e = history.invoke("whoami", process=3)
    history.complete(d, status=200, value=8)
    history.complete(e, status=200, value=9)  # overlapping, distinct sessions: fine
    overlaps = session_identity_overlaps(history)
    assert overlaps["count"] == 1 and overlaps["requests"] == 5 and overlaps["distinct"] == 3
    assert f"requests {a} and {b}" in overlaps["example"]
    found = detect(["shared_sessions"], Evidence(check(history, None), {"session_identity_overlaps": overlaps}))
    assert found[0].count == 1


def test_unknown_symptom_is_an_error():
    with pytest.raises(KeyError, match="unknown symptom"):
        detect(["no_such"], evidence())


def test_pool_capacity_only_for_bounded_pools():
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool, QueuePool

    from sessionlint.harness.runner import pool_probes

    bounded = create_engine("sqlite://", poolclass=QueuePool, pool_size=3, max_overflow=2)
    unbounded = create_engine("sqlite://", poolclass=QueuePool, pool_size=3, max_overflow=-1)
    unpooled = create_engine("sqlite://", poolclass=NullPool)
    try:
        assert pool_probes(bounded.pool)["pool_capacity"] == 5
        assert pool_probes(bounded.pool)["pool_checked_out_at_quiescence"] == 0
        assert "pool_capacity" not in pool_probes(unbounded.pool)  # unlimited overflow: no bound to exceed
        assert "pool_capacity" not in pool_probes(unpooled.pool)
    finally:
        for engine in (bounded, unbounded, unpooled):
            engine.dispose()


def test_a_failed_probe_is_reported_as_unchecked_not_as_clean():
    from sessionlint.harness.report import arm_verdict
    from sessionlint.harness.runner import ArmResult
    from sessionlint.harness.symptoms import unchecked

    probes = {"idle_in_transaction_error": "OperationalError: permission denied for pg_stat_activity"}
    assert unchecked(["idle_in_transaction", "held_connections"], probes) == {
        "idle_in_transaction": "OperationalError: permission denied for pg_stat_activity"}
    history = history_of([("read", 200, None, [])])
    result = ArmResult("leaked-session", "safe", "staged", status="completed", check=check(history, {"items": []}),
                       child={"final_state": {"items": []}, "probes": probes},
                       unchecked=unchecked(["idle_in_transaction"], probes))
    verdict = arm_verdict(result, "demo")
    assert verdict.passed and verdict.text.startswith("clean, but not checked: transactions left open")
