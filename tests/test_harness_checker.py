"""The harness's anomaly checker: one small history per anomaly class (both ways), the error
taxonomy, availability, latency and verdicts, and property tests that plant anomalies in random
valid concurrent histories and require the checker to find exactly those."""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sessionlint.harness import checker
from sessionlint.harness.checker import (
    ANOMALY_KINDS,
    check,
    index_history,
    normalize_error,
)
from sessionlint.harness.history import Event, History


class Run:
    """Terse sequential histories: each helper records one complete operation."""

    def __init__(self) -> None:
        self.now = 0.0
        self.history = History(clock=lambda: self.now)
        self.process = 0

    def op(self, f: str, key: Any = None, value: Any = None, *, status: int | None = 200, read: Any = None,
           error: str | None = None, type: str | None = None, latency: float | None = None,
           complete: bool = True) -> int:
        self.process += 1
        request = self.history.invoke(f, key, value, process=self.process)
        self.now += 0.001
        if complete:
            self.history.complete(request, type, status=status, value=read, error=error, latency=latency)
        return request

    def append(self, key: Any, value: Any, status: int | None = 201, **kw: Any) -> int:
        return self.op("append", key, value, status=status, **kw)

    def reject(self, key: Any, value: Any, status: int | None = 409, **kw: Any) -> int:
        return self.op("reject", key, value, status=status, **kw)

    def read(self, key: Any, values: list[int], status: int | None = 200, **kw: Any) -> int:
        return self.op("read", key, status=status, read=values, **kw)

    def incr(self, key: Any = "c", amount: int | None = None, status: int | None = 200, **kw: Any) -> int:
        return self.op("increment" if amount is None else "deposit", key, amount, status=status, **kw)

    def check(self, final: Any = None, **kw: Any) -> checker.CheckResult:
        kw.setdefault("max_witnesses", None)
        return check(self.history, final, **kw)


def only(result: checker.CheckResult, name: str) -> list[checker.Witness]:
    """The witnesses of ``name``, asserting that no other class found anything."""
    others = {k: v for k, v in result.counts.items() if v and k != name}
    assert not others, others
    return result.anomalies[name].witnesses


# -- G1a: aborted read -------------------------------------------------------------------------


def test_aborted_read_of_a_rejected_write() -> None:
    run = Run()
    run.append("k", 1)
    writer = run.reject("k", 175)
    reader = run.read("k", [1, 175])
    [w] = only(run.check({"k": [1]}), "aborted_read")
    assert (w.request, w.writer, w.key, w.values) == (reader, writer, "k", [175])
    assert w.text == (f"request {reader} read key 'k' and saw 175, written by request {writer}, "
                      "which was rolled back (answered 409)")


def test_aborted_read_of_a_failed_append_and_of_a_reject_that_answered_500() -> None:
    run = Run()
    failed = run.append("k", 5, status=422, error="ValidationError: nope")
    odd = run.reject("k", 6, status=500, error="IllegalStateChangeError: Method 'rollback()' can't be called here")
    reader = run.read("k", [5, 6])
    witnesses = only(run.check(), "aborted_read")
    assert [(w.request, w.writer) for w in witnesses] == [(reader, failed), (reader, odd)]
    assert "which failed (answered 422 (ValidationError))" in witnesses[0].text
    assert "rolls back by design (it answered 500 (IllegalStateChangeError))" in witnesses[1].text


def test_no_aborted_read_for_ok_or_indeterminate_writers_or_failed_reads() -> None:
    run = Run()
    run.append("k", 1)
    run.append("k", 2, status=500, error="InternalError: boom")      # info: may have committed
    run.append("k", 3, status=None, error="ReadTimeout: timed out")  # info
    run.append("k", 4, complete=False)                               # never completed
    run.read("k", [1, 2, 3, 4])
    run.reject("k", 9)
    run.op("read", "k", status=500, read=[9], type="info")           # not an ok read: ignored
    result = run.check()
    assert result.anomaly_count() == 0
    assert result.anomalies["aborted_read"].checked


def test_aborted_value_on_another_key_is_garbage_not_g1a() -> None:
    run = Run()
    writer = run.reject("a", 7)
    reader = run.read("b", [7])
    [w] = only(run.check(), "garbage_read")
    assert (w.request, w.key, w.values) == (reader, "b", [7])
    assert f"(7 was written to key 'a' by request {writer})" in w.text


def test_one_finding_per_reader_and_writer() -> None:
    run = Run()
    writer = run.reject("k", [1, 2])
    first = run.read("k", [1, 2])
    second = run.read("k", [2])
    result = run.check()
    assert [(w.request, w.writer, w.values) for w in only(result, "aborted_read")] == [
        (first, writer, [1, 2]), (second, writer, [2])]
    assert checker.aborted_reads(run.history).count == 2


# -- G1b: intermediate read --------------------------------------------------------------------


@pytest.mark.parametrize(("observed", "missing"), [
    ([1, 3], [4]),        # Elle's G1b: the read ends in the writer's non-final append
    ([1, 3, 9], [4]),     # the writer's appends interleaved with another request's
    ([1, 9, 4], [3]),     # the earlier append missing
])
def test_intermediate_read(observed, missing) -> None:
    run = Run()
    run.append("k", 1)
    writer = run.append("k", [3, 4])
    run.append("k", 9)
    reader = run.read("k", observed)
    [w] = only(run.check({"k": [1, 3, 4, 9]}), "intermediate_read")
    assert (w.request, w.writer, w.details["missing"]) == (reader, writer, missing)
    assert "in one transaction (acknowledged): it saw that transaction half-done" in w.text


def test_no_intermediate_read_when_the_transaction_is_seen_whole_or_not_at_all() -> None:
    run = Run()
    run.append("k", [3, 4])
    run.append("k", [5, 6, 7])
    run.read("k", [])
    run.read("k", [3, 4])
    run.read("k", [3, 4, 5, 6, 7])
    assert run.check({"k": [3, 4, 5, 6, 7]}).anomaly_count() == 0


def test_partial_read_of_an_aborted_transaction_is_g1a_and_of_an_indeterminate_one_g1b() -> None:
    run = Run()
    rejected = run.reject("k", [1, 2])
    unknown = run.append("k", [3, 4], status=500, error="PendingRollbackError: x")
    reader = run.read("k", [1, 3])
    result = run.check()
    assert [(w.request, w.writer) for w in result.anomalies["aborted_read"].witnesses] == [(reader, rejected)]
    [w] = result.anomalies["intermediate_read"].witnesses
    assert (w.request, w.writer) == (reader, unknown)
    assert "outcome unknown: it answered 500 (PendingRollbackError)" in w.text
    assert result.anomaly_count() == 2


# -- lost acknowledged writes, aborted writes persisted, torn writes ---------------------------


def test_lost_acknowledged_write() -> None:
    run = Run()
    kept = run.append("k", 1)
    lost = run.append("k", 2)
    half = run.append("k", [3, 4])
    run.append("gone", 5)                 # a key missing from the final state counts as empty
    result = run.check({"k": [1, 3]})
    witnesses = result.anomalies["lost_write"].witnesses
    assert [(w.request, w.key, w.values) for w in witnesses] == [(lost, "k", [2]), (half, "k", [4]),
                                                                 (lost + 2, "gone", [5])]
    assert witnesses[0].text == (f"request {lost} appended 2 to key 'k' and got 201 (acknowledged), but the "
                                 "final state of key 'k' does not contain it")
    assert kept not in {w.request for w in witnesses}
    assert checker.lost_writes(run.history, {"k": [1, 2, 3, 4], "gone": [5]}).count == 0


def test_unacknowledged_writes_may_be_absent() -> None:
    run = Run()
    run.append("k", 1, status=422)
    run.reject("k", 2)
    run.append("k", 3, status=503)
    run.append("k", 4, complete=False)
    result = run.check({"k": []})
    assert result.anomaly_count() == 0
    assert (result.writes.aborted, result.writes.indeterminate, result.writes.indeterminate_absent) == (2, 2, 2)


def test_aborted_write_persisted() -> None:
    run = Run()
    rejected = run.reject("k", 1)
    failed = run.append("k", [2, 3], status=409)
    run.append("k", 4, status=500)                          # indeterminate: persisting is fine
    result = run.check({"k": [1, 3, 4]})
    witnesses = only(result, "aborted_write_persisted")
    assert [(w.request, w.values) for w in witnesses] == [(rejected, [1]), (failed, [3])]
    assert witnesses[0].text == (f"request {rejected} appended 1 to key 'k' and was rolled back (answered 409), "
                                 "yet the final state of key 'k' contains it: another request's commit made "
                                 "it durable")
    assert result.writes.indeterminate_persisted == 1


def test_torn_write() -> None:
    run = Run()
    torn = run.append("k", [1, 2], status=500)
    whole = run.append("k", [3, 4], status=None, error="ReadTimeout")
    absent = run.append("k", [5, 6], complete=False)
    also_torn = run.append("k", [7, 8], complete=False)
    [first, second] = only(run.check({"k": [2, 3, 4, 7]}), "torn_write")
    assert (first.request, first.values, first.details["missing"]) == (torn, [2], [1])
    assert "answered 500; the final state holds 2 but not 1: only part of the transaction persisted" in first.text
    assert (second.request, second.values) == (also_torn, [7])
    assert {whole, absent}.isdisjoint({first.request, second.request})


# -- counters ----------------------------------------------------------------------------------


def test_lost_update() -> None:
    run = Run()
    for _ in range(5):
        run.incr()
    [w] = only(run.check({"c": 2}), "lost_update")
    assert w.key == "c" and w.request is None
    assert (w.details["expected_min"], w.details["actual"], w.details["lost"]) == (5, 2, 3)
    assert w.text.startswith("counter 'c': 5 increments were acknowledged (+5 in total), so it must read 5; "
                             "the database holds 2: 3 acknowledged units were lost.")
    assert "Per-request sessions do not prevent this" in w.text
    assert ANOMALY_KINDS["lost_update"].family == "isolation"
    assert checker.lost_updates(run.history, {"c": 5}).count == 0


def test_counter_bounds_with_indeterminate_failed_and_deposit_ops() -> None:
    run = Run()
    for _ in range(3):
        run.incr()
    run.incr(status=500)                      # may or may not have counted
    run.incr(status=409)                      # must not count
    run.incr("acct", 10)
    run.incr("acct", -3, status=None)         # indeterminate withdrawal
    for final, expected in [
        ({"c": 3, "acct": 110}, {}),
        ({"c": 4, "acct": 107}, {}),
        ({"c": 2, "acct": 110}, {"lost_update": 1}),
        ({"c": 5, "acct": 106}, {"counter_overcount": 1, "lost_update": 1}),
        ({"c": 4, "acct": 111}, {"counter_overcount": 1}),
    ]:
        result = run.check(final, initial={"acct": 100})
        assert {k: v for k, v in result.counts.items() if v} == expected, final
    summary = run.check({"c": 5, "acct": 106}, initial={"acct": 100}).counters
    assert (summary["c"].expected_min, summary["c"].expected_max, summary["c"].excess) == (3, 4, 1)
    assert (summary["acct"].expected_min, summary["acct"].expected_max, summary["acct"].lost) == (107, 110, 1)
    assert (summary["c"].ok_ops, summary["c"].indeterminate_ops, summary["c"].failed_ops) == (3, 1, 1)


def test_counter_missing_from_final_is_its_initial_value_and_a_non_integer_is_not_checked() -> None:
    run = Run()
    run.incr()
    assert run.check({}).counts["lost_update"] == 1
    result = run.check({"c": [1]})
    assert result.counts["lost_update"] == 0
    assert not result.anomalies["lost_update"].checked
    assert any("not an integer" in w for w in result.warnings)


# -- garbage and duplicates --------------------------------------------------------------------


def test_garbage_and_duplicates_in_reads_and_in_the_final_state() -> None:
    run = Run()
    run.append("k", 1)
    garbage = run.read("k", [1, 99])
    dup = run.read("k", [1, 1])
    result = run.check({"k": [1, 77, 1]})
    assert [(w.request, w.values) for w in result.anomalies["garbage_read"].witnesses] == [
        (garbage, [99]), (None, [77])]
    assert [(w.request, w.values) for w in result.anomalies["duplicate_element"].witnesses] == [
        (dup, [1]), (None, [1])]
    assert result.anomalies["garbage_read"].witnesses[1].text == (
        "the final state of key 'k' holds 77, which no request ever wrote to key 'k'")
    assert result.anomaly_count() == 4


# -- availability, errors, latency, verdicts ---------------------------------------------------


def test_rejects_answered_409_count_as_served_and_are_not_errors() -> None:
    run = Run()
    for i in range(8):
        run.append("k", i)
    run.reject("k", 100)
    run.append("k", 101, status=500, error="ResourceClosedError: This Connection is closed")
    result = run.check({"k": list(range(8))})
    assert result.availability == pytest.approx(0.9)
    assert result.status == "clean" and result.valid
    assert result.by_f["reject"].availability == 1.0
    assert result.by_f["append"].statuses == {"201": 8, "500": 1}
    assert [(g.type, g.count) for g in result.errors] == [("ResourceClosedError", 1)]
    assert result.verdict("clean").passed
    assert not result.verdict("anomalous")


def test_a_mostly_failing_run_is_unknown_not_clean() -> None:
    run = Run()
    run.append("k", 1)
    for i in range(9):
        run.append("k", 10 + i, status=500, error=f"PendingRollbackError: session {i} at 0x7f{i:02x}")
    result = run.check({"k": [1]})
    assert result.anomaly_count() == 0
    assert result.status == "unknown" and not result.valid
    assert result.availability == pytest.approx(0.1)
    assert result.indeterminate == 9
    clean = result.verdict("clean")
    assert not clean and "inconclusive: only 10.0% of 10 requests served (threshold 90.0%)" in clean.reason
    assert result.verdict("anomalous").passed
    assert "errors instead of anomalies" in result.verdict("anomalous").reason
    assert not result.verdict("anomalous", accept_unavailable=False)
    assert run.check({"k": [1]}, availability_threshold=0.05).status == "clean"
    [group] = result.errors
    assert (group.type, group.message, group.count) == ("PendingRollbackError", "session N at 0x…", 9)
    assert group.requests == [2, 3, 4, 5, 6]
    assert group.example == "PendingRollbackError: session 0 at 0x7f00"


def test_empty_history_is_unknown() -> None:
    result = check(History(), {})
    assert (result.status, result.valid, result.availability, result.ops) == ("unknown", False, None, 0)
    assert "no operations" in result.verdict("clean").reason
    assert not result.verdict("anomalous")
    with pytest.raises(ValueError):
        result.verdict("perfect")
    with pytest.raises(ValueError):
        check(History(), availability_threshold=1.5)


def test_anomalies_outrank_low_availability_and_families_filter_verdicts() -> None:
    run = Run()
    for _ in range(4):
        run.incr()
    result = run.check({"c": 1})
    assert result.status == "anomalous"
    assert not result.verdict("clean")
    session_only = result.verdict("clean", families=("session",))
    assert session_only.passed and session_only.status == "clean"
    assert result.anomaly_count(("session",)) == 0 and result.anomaly_count(("isolation",)) == 1


def test_error_taxonomy_groups_by_type_and_normalised_message() -> None:
    run = Run()
    for i in range(3):
        run.append("k", i, status=500, error=(
            f"InvalidRequestError: Object '<Item at 0x7f3a2b1c{i:04x}>' is already attached to session '{i}' "
            f"(this is '{i + 1}')"))
    run.append("k", 10, status=500, error=(
        "IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: elems.id\n"
        "[SQL: INSERT INTO elems (id, k, e) VALUES (?, ?, ?)]\n[parameters: (5, 1, 175)]\n"
        "(Background on this error at: https://sqlalche.me/e/20/gkpj)"))
    run.read("k", [], status=404)
    run.read("k", [], status=None, type="info")
    run.append("k", 11, complete=False)
    groups = checker.error_taxonomy(run.history)
    assert [(g.label, g.count) for g in groups] == [
        ("InvalidRequestError: Object '<Item at 0x…>' is already attached to session 'N' (this is 'N')", 3),
        ("HTTP 404", 1),
        ("Incomplete: no completion was recorded (in flight when the run ended)", 1),
        ("IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: elems.id (code gkpj)", 1),
        ("NoResponse", 1),
    ]
    assert groups[0].requests == [1, 2, 3] and groups[0].outcomes == {"info": 3} and groups[0].ops == {"append": 3}
    assert groups[1].outcomes == {"fail": 1}


@pytest.mark.parametrize(("raw", "expected"), [
    ("ReadTimeout", ("ReadTimeout", "")),
    ("ConnectError: [Errno 111] Connection refused", ("ConnectError", "[Errno N] Connection refused")),
    (("TimeoutError: QueuePool limit of size 2 overflow 0 reached, connection timed out, timeout 1.00 "
      "(Background on this error at: https://sqlalche.me/e/20/3o7r)"),
     ("TimeoutError", "QueuePool limit of size N overflow N reached, connection timed out, timeout N (code 3o7r)")),
    ("KeyError: 'request 3f2b1c4e-1d2a-4b5c-9d8e-0a1b2c3d4e5f'", ("KeyError", "'request <uuid>'")),
    ("weird text without a type", ("Error", "weird text without a type")),
    ("X: " + "a" * 500 + " (Background on this error at: https://sqlalche.me/e/20/7s2a)",
     ("X", "a" * 227 + "… (code 7s2a)")),
])
def test_normalize_error(raw, expected) -> None:
    assert normalize_error(raw) == expected
    assert len(normalize_error(raw)[1]) <= 240


def test_latency_percentiles_and_the_unrelated_route() -> None:
    run = Run()
    for ms in range(1, 101):
        run.op("health", latency=ms / 1000)
    run.append("k", 1)
    result = run.check({"k": [1]})
    health = result.latency["health"]
    assert (health.count, health.p50, health.p90, health.p99, health.max) == (100, 0.05, 0.09, 0.099, 0.1)
    assert health.mean == pytest.approx(0.0505)
    assert result.unrelated_latency is health
    assert result.latency["append"].p50 == pytest.approx(0.001)   # from the event times
    assert check(run.history, unrelated="nope").unrelated_latency is None


def test_witnesses_are_capped_but_counts_are_complete() -> None:
    run = Run()
    writer = run.reject("k", 1)
    readers = [run.read("k", [1]) for _ in range(7)]
    result = check(run.history, {"k": []}, max_witnesses=2)
    aborted = result.anomalies["aborted_read"]
    assert aborted.count == 7 and len(aborted.witnesses) == 2 and len(aborted.times) == 7
    assert [w.request for w in aborted.witnesses] == readers[:2]
    assert aborted.first_time == pytest.approx(0.002)
    data = result.to_dict()
    assert data["anomalies"]["aborted_read"]["witnesses_omitted"] == 5
    assert data["counts"]["aborted_read"] == 7 and data["anomaly_count"] == 7
    assert json.loads(json.dumps(data)) == data
    assert f"written by request {writer}" in result.summary() and "... and 5 more" in result.summary()


def test_without_a_final_state_the_final_checks_are_unchecked() -> None:
    run = Run()
    run.append("k", 1)
    run.incr()
    result = run.check()
    assert result.status == "clean" and not result.final_checked
    assert not result.anomalies["lost_write"].checked and not result.anomalies["lost_update"].checked
    assert any("no final state given" in w for w in result.warnings)
    assert result.writes.ok == 1


def test_structural_warnings_and_index_reuse() -> None:
    events = [
        Event("invoke", 0, 0.0, "append", key="k", value=1, request=1),
        Event("ok", 0, 0.1, "append", key="k", request=1, status=201),
        Event("invoke", 1, 0.2, "append", key="k", value=1, request=2),   # same value again
        Event("ok", 1, 0.3, "append", key="k", request=2, status=201),
        Event("ok", 1, 0.4, "append", key="k", request=2, status=201),    # completed twice
        Event("ok", 2, 0.5, "read", key="k", value=[1], request=3),       # never invoked
        Event("invoke", 3, 0.6, "append", key="k", request=4),            # no value
        Event("invoke", 4, 0.7, "read", key="k", request=5),
        Event("invoke", 5, 0.8, "read", key="k", request=5),              # invoked again in flight
        Event("done", 4, 0.9, "read", key="k", request=5),                # unknown type
    ]
    idx = index_history(events)
    result = check(idx, {"k": [1]})
    text = " | ".join(result.warnings)
    for fragment in ("1 value written by more than one request",
                     "2 completions without an open invoke (never invoked, or completed twice)",
                     "1 request id invoked again while in flight", "1 event with an unknown type",
                     "1 write with a missing or malformed value"):
        assert fragment in text
    assert check(idx, {"k": [1]}).to_dict() == result.to_dict()


def test_probes_keep_their_last_value() -> None:
    run = Run()
    run.op("probe", "pool_checked_out", read=3)
    run.op("probe", "pool_checked_out", read=0)
    assert run.check().probes == {"pool_checked_out": 0}


def test_command_line(tmp_path, capsys) -> None:
    run = Run()
    run.reject("k", 1)
    run.read("k", [1])
    run.history.to_jsonl(tmp_path / "h.jsonl")
    (tmp_path / "final.json").write_text('{"k": []}')
    assert checker.main([str(tmp_path / "h.jsonl"), "--final", str(tmp_path / "final.json")]) == 1
    assert "aborted read (G1a): 1" in capsys.readouterr().out
    assert checker.main([str(tmp_path / "h.jsonl"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["counts"]["aborted_read"] == 1
    assert checker.main([str(tmp_path / "missing.jsonl")]) == 2
    (tmp_path / "final.json").write_text("[1]")
    assert checker.main([str(tmp_path / "h.jsonl"), "--final", str(tmp_path / "final.json")]) == 2


# -- property tests: random valid concurrent histories with planted anomalies -------------------


@dataclass
class Spec:
    """One operation of a generated run, before it becomes two events."""

    request: int
    f: str
    key: Any
    value: Any
    type: str
    status: int | None
    invoke: float
    complete: float | None
    result: Any = None
    error: str | None = None


@dataclass
class Generated:
    events: list[Event]
    final: dict[str, Any]
    expected: dict[str, set] = field(default_factory=dict)
    served: int = 0


KINDS = ["append", "append", "append2", "read", "read", "read", "reject", "fail_append",
         "info_append", "info_read", "incr", "incr", "info_incr", "fail_incr", "health"]
READS_ERROR = "ReadTimeout: timed out"
WRITE_ERROR = "OperationalError: (sqlite3.OperationalError) database is locked"


def _events(specs: list[Spec]) -> list[Event]:
    """Invoke/completion events in time order, with single-threaded Jepsen processes (a process
    is retired after an ``info`` completion and never reused)."""
    timeline = []
    for spec in specs:
        timeline.append((spec.invoke, 0, spec.request, spec))
        if spec.complete is not None:
            timeline.append((spec.complete, 1, spec.request, spec))
    timeline.sort(key=lambda item: item[:3])
    free: list[int] = []
    fresh = itertools.count()
    owner: dict[int, int] = {}
    events = []
    for time_, phase, request, spec in timeline:
        if phase == 0:
            process = free.pop(0) if free else next(fresh)
            owner[request] = process
            events.append(Event("invoke", process, time_, spec.f, key=spec.key, value=spec.value, request=request))
        else:
            process = owner[request]
            events.append(Event(spec.type, process, time_, spec.f, key=spec.key, value=spec.result,
                                request=request, status=spec.status, latency=time_ - spec.invoke, error=spec.error))
            if spec.type != "info":
                free.append(process)
                free.sort()
    return events


@st.composite
def generated_runs(draw, plant: bool = True) -> Generated:
    """A serial execution over 1-3 list keys and a counter, interleaved into a concurrent history
    (each op is invoked before and completes after its serial point), then -- with ``plant`` --
    anomalies planted on purpose, recorded in ``expected`` by the ids the checker must report."""
    keys = [f"k{i}" for i in range(draw(st.integers(1, 3)))]
    steps = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 2), st.booleans(),
                                    st.integers(0, 3), st.integers(0, 3)), min_size=3 if plant else 0, max_size=40))
    values = itertools.count(1)
    requests = itertools.count(1)
    state: dict[str, list[int]] = {k: [] for k in keys}
    counter = counter_low = counter_high = 0
    specs: list[Spec] = []

    def add(f, key, value, type_, status, invoke, complete, result=None, error=None) -> Spec:
        spec = Spec(next(requests), f, key, value, type_, status, invoke, complete, result, error)
        specs.append(spec)
        return spec

    for i, (kind, key_index, effect, lead, lag) in enumerate(steps):
        key = keys[key_index % len(keys)]
        window = (2.0 * i - lead - 0.5, 2.0 * i + lag + 0.5)
        if kind in ("append", "append2", "info_append"):
            n = 2 if kind == "append2" or (kind == "info_append" and lead % 2) else 1
            written = [next(values) for _ in range(n)]
            value = written[0] if n == 1 else written
            if kind == "info_append":
                if effect:
                    state[key].extend(written)
                add("append", key, value, "info", None if lag % 2 else 500, *window, error=WRITE_ERROR)
            else:
                state[key].extend(written)
                add("append", key, value, "ok", 201, *window)
        elif kind == "reject":
            add("reject", key, next(values), "fail", 409, *window)
        elif kind == "fail_append":
            add("append", key, next(values), "fail", 422, *window, error="ValidationError: bad input")
        elif kind == "read":
            add("read", key, None, "ok", 200, *window, result=list(state[key]))
        elif kind == "info_read":
            add("read", key, None, "info", None, *window, error=READS_ERROR)
        elif kind == "incr":
            counter += 1
            counter_low += 1
            counter_high += 1
            add("increment", "c", None, "ok", 200, *window)
        elif kind == "info_incr":
            counter += effect
            counter_high += 1
            add("increment", "c", None, "info", 500, *window, error=WRITE_ERROR)
        elif kind == "fail_incr":
            add("increment", "c", None, "fail", 409, *window)
        else:
            add("health", None, None, "ok", 200, *window)

    final: dict[str, Any] = {k: list(v) for k, v in state.items()}
    final["c"] = counter
    expected: dict[str, set] = {name: set() for name in ANOMALY_KINDS}
    if plant:
        ok_reads = [s for s in specs if s.f == "read" and s.type == "ok"]
        ok_appends = [s for s in specs if s.f == "append" and s.type == "ok"]
        end = 2.0 * len(steps) + 10

        def some(items: list, most: int) -> list:
            return draw(st.lists(st.sampled_from(items), unique_by=id, max_size=most)) if items else []

        def insert(read: Spec, value: int) -> None:
            read.result.insert(draw(st.integers(0, len(read.result))), value)

        for read in some(ok_reads, 3):                      # aborted reads (G1a)
            value = next(values)
            f, status = draw(st.sampled_from([("reject", 409), ("append", 422)]))
            writer = add(f, read.key, value, "fail", status, read.invoke - 0.25, read.complete + 0.25)
            insert(read, value)
            expected["aborted_read"].add((read.request, writer.request))
        for read in some(ok_reads, 3):                      # intermediate reads (G1b)
            pair = [next(values), next(values)]
            type_, status = draw(st.sampled_from([("ok", 201), ("info", 500)]))
            writer = add("append", read.key, pair, type_, status, read.invoke - 0.25, read.complete + 0.25)
            final[read.key].extend(pair)
            insert(read, draw(st.sampled_from(pair)))
            expected["intermediate_read"].add((read.request, writer.request))
        for j, read in enumerate(some(ok_reads, 3)):        # garbage reads
            insert(read, -(j + 1))
            expected["garbage_read"].add((read.request, read.key))
        for read in some([r for r in ok_reads if r.result], 2):  # duplicate elements
            insert(read, draw(st.sampled_from(read.result)))
            expected["duplicate_element"].add(read.request)
        for writer in some(ok_appends, 3):                  # lost acknowledged writes
            lost = writer.value if isinstance(writer.value, list) else [writer.value]
            final[writer.key] = [v for v in final[writer.key] if v not in lost]
            expected["lost_write"].add(writer.request)
        for j in range(draw(st.integers(0, 2))):           # aborted writes persisted
            key = draw(st.sampled_from(keys))
            written = [next(values) for _ in range(draw(st.integers(1, 2)))]
            f, status = draw(st.sampled_from([("reject", 409), ("append", 409), ("append", 422)]))
            writer = add(f, key, written if len(written) > 1 else written[0], "fail", status, end + j, end + j + 1)
            final[key].insert(draw(st.integers(0, len(final[key]))), written[-1])
            expected["aborted_write_persisted"].add(writer.request)
        for j in range(draw(st.integers(0, 2))):           # torn writes
            key = draw(st.sampled_from(keys))
            pair = [next(values), next(values)]
            completes = draw(st.booleans())
            writer = add("append", key, pair, "info", 500, end + 3 + j, end + 4 + j if completes else None,
                         error=WRITE_ERROR if completes else None)
            final[key].append(draw(st.sampled_from(pair)))
            expected["torn_write"].add(writer.request)
        for j, key in enumerate(draw(st.lists(st.sampled_from(keys), unique=True, max_size=2))):
            final[key].append(-100 - j)                     # garbage in the final state
            expected["garbage_read"].add((None, key))
        if any(s.f == "increment" for s in specs):          # lost updates / phantom increments
            delta = draw(st.sampled_from([-3, -2, -1, 0, 1, 2, 3]))
            if delta < 0:
                final["c"] = counter_low + delta
                expected["lost_update"].add(("c", -delta))
            elif delta > 0:
                final["c"] = counter_high + delta
                expected["counter_overcount"].add(("c", delta))

    served = sum(1 for s in specs if s.type == "ok" or (s.f == "reject" and s.type == "fail"))
    return Generated(_events(specs), final, expected, served)


def identities(result: checker.CheckResult) -> dict[str, set]:
    found: dict[str, set] = {}
    for name, anomaly in result.anomalies.items():
        ids: set = set()
        for w in anomaly.witnesses:
            if name in ("aborted_read", "intermediate_read"):
                ids.add((w.request, w.writer))
            elif name == "garbage_read":
                ids.add((w.request, w.key))
            elif name == "lost_update":
                ids.add((w.key, w.details["lost"]))
            elif name == "counter_overcount":
                ids.add((w.key, w.details["excess"]))
            else:
                ids.add(w.request)
        assert len(ids) == anomaly.count == len(anomaly.witnesses), name
        found[name] = ids
    return found


PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(generated_runs(plant=False))
def test_valid_concurrent_histories_have_no_anomalies(run: Generated) -> None:
    history = History(run.events)
    assert history.validate() == []
    result = check(history, run.final, max_witnesses=None)
    assert result.counts == {name: 0 for name in ANOMALY_KINDS}, result.summary()
    total = sum(1 for e in run.events if e.type == "invoke")
    assert result.ops == total
    if total:
        assert result.availability == pytest.approx(run.served / total)
        assert result.status == ("clean" if run.served / total >= 0.9 else "unknown")
    else:
        assert result.status == "unknown"


@PROPERTY_SETTINGS
@given(generated_runs(plant=True))
def test_the_checker_finds_exactly_the_planted_anomalies(run: Generated) -> None:
    history = History(run.events)
    assert history.validate() == []
    result = check(history, run.final, max_witnesses=None)
    assert identities(result) == run.expected, result.summary()
    assert result.anomaly_count() == sum(len(v) for v in run.expected.values())
    assert result.status == "anomalous" if result.anomaly_count() else result.status in ("clean", "unknown")
    # The JSONL round trip changes nothing the checker sees.
    buffer = io.StringIO()
    history.to_jsonl(buffer)
    buffer.seek(0)
    assert check(History.from_jsonl(buffer), run.final, max_witnesses=None).to_dict() == result.to_dict()
